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

describe('switchyard trades prefix affinity against in-flight tokens at τ', () => {
  const shared = tokens(6400, 7);
  const eps = [endpoint(0), endpoint(1), endpoint(2)];

  function pickAfterLoad(loadTokens: number): string | undefined {
    const scheduler = createScheduler(policyPresets.switchyard, fakeDeps());
    scheduler.pick(request({ promptTokens: shared }), [eps[0]!]);
    for (let sent = 0; sent < loadTokens; sent += 10_000) {
      scheduler.pick(request({ promptTokens: tokens(10_000, 1_000_000 + sent) }), [eps[0]!]);
    }
    const result = scheduler.pick(request({ promptTokens: shared }), eps);
    return result.kind === 'picked' ? result.endpoints[0]?.key : undefined;
  }

  it('stays on the endpoint holding the whole prompt up to about 286,720 extra in-flight tokens', () => {
    expect(pickAfterLoad(250_000)).toBe(eps[0]!.key);
    expect(pickAfterLoad(330_000)).not.toBe(eps[0]!.key);
  });
});
