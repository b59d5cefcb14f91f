/* eslint-disable @typescript-eslint/no-non-null-assertion -- fixtures index arrays whose length the test fixes */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createScheduler, parseSchedulerConfig, policyPresets } from '../../../scheduler/core/index.ts';
import { endpoint, fakeDeps, request, tokens } from './helpers.ts';

const file = new URL('../../../scheduler/core/configs/switchyard.yaml', import.meta.url);

describe('the switchyard EndpointPickerConfig file', () => {
  it('loads through the router-config schema and equals the switchyard preset', () => {
    expect(parseSchedulerConfig(readFileSync(file, 'utf8'), 'switchyard.yaml')).toEqual(
      policyPresets.switchyard,
    );
  });
});

describe('switchyard trades prefix affinity against load', () => {
  const shared = tokens(6400, 7);
  const eps = [endpoint(0), endpoint(1), endpoint(2)];

  /**
   * Where a 6,400-token prompt fully cached on endpoint 0 goes once endpoint 0 carries `loadTokens` more
   * uncached in-flight tokens than the others. `decoding`: those requests have had their first token and their
   * prefill is long done (the prefill queue is empty); otherwise they were all just picked and wait for prefill.
   */
  function pickAfterLoad(loadTokens: number, decoding: boolean): string | undefined {
    const deps = fakeDeps();
    const scheduler = createScheduler(policyPresets.switchyard, deps);
    const load = [request({ promptTokens: shared })];
    for (let sent = 0; sent < loadTokens; sent += 10_000)
      load.push(request({ promptTokens: tokens(10_000, 1_000_000 + sent) }));
    for (const r of load) scheduler.pick(r, [eps[0]!]);
    if (decoding) {
      for (const r of load) scheduler.firstToken(r.id);
      deps.advance(60_000);
    }
    const result = scheduler.pick(request({ promptTokens: shared }), eps);
    return result.kind === 'picked' ? result.endpoints[0]?.key : undefined;
  }

  it('stays on the endpoint holding the whole prompt while its extra in-flight tokens are decoding, past τ = 286,720', () => {
    expect(pickAfterLoad(290_000, true)).toBe(eps[0]!.key);
    expect(pickAfterLoad(420_000, true)).toBe(eps[0]!.key);
    expect(pickAfterLoad(540_000, true)).not.toBe(eps[0]!.key);
  });

  it('moves the prompt when the wait for prefill queued there exceeds what the cache hit saves by far', () => {
    expect(pickAfterLoad(20_000, false)).toBe(eps[0]!.key);
    expect(pickAfterLoad(80_000, false)).not.toBe(eps[0]!.key);
  });
});
