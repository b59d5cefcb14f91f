/* eslint-disable @typescript-eslint/no-non-null-assertion -- fixtures index arrays whose length the test fixes */
// The baselines as llm-d and GIE ship them: each preset's documented configuration, and the behaviour of the
// plugins only they use (prefix-cache-affinity-filter, the precise index fed by KV-cache events).
import { describe, expect, it } from 'vitest';
import { createScheduler, kvBlockHashes, policyPresets } from '../../../scheduler/core/index.ts';
import type { Endpoint, PluginSpec, SchedulerConfig } from '../../../scheduler/core/index.ts';
import { endpoint, fakeDeps, request, tokens } from './helpers.ts';

const pluginOf = (config: SchedulerConfig, type: string): PluginSpec | undefined =>
  config.plugins.find((p) => p.type === type);
const weights = (config: SchedulerConfig): Record<string, number> =>
  Object.fromEntries(config.schedulingProfiles[0]!.plugins.map((r) => [r.pluginRef, r.weight]));

function primary(result: ReturnType<ReturnType<typeof createScheduler>['pick']>): string {
  if (result.kind !== 'picked') throw new Error('expected a pick');
  return result.endpoints[0]!.key;
}

describe('documented configurations', () => {
  it('llm-d v1.0: affinity filter at 0.80 with τ = 286,720, token-load scorer, in-flight producer', () => {
    const config = policyPresets['llm-d'];
    expect(pluginOf(config, 'prefix-cache-affinity-filter')?.parameters).toEqual({
      affinityThreshold: 0.8,
      maxTokensInFlightPenalty: 286_720,
    });
    expect(pluginOf(config, 'inflight-load-producer')).toBeDefined();
    expect(weights(config)).toEqual({
      'prefix-cache-affinity-filter': 1,
      'token-load-scorer': 1,
      'max-score-picker': 1,
    });
    // The approximate index as shipped: 64-token blocks and llm-d's default LRU of 31,250 entries.
    expect(pluginOf(config, 'approx-prefix-cache-producer')?.parameters).toMatchObject({
      blockSizeTokens: 64,
      lruCapacityPerServer: 31_250,
      autoTune: false,
    });
  });

  it('queue / KV / prefix weights: the earlier llm-d default and the precise arm 2/2/3, GIE v1 1/1/1', () => {
    for (const [name, queue, kv, prefix] of [
      ['llm-d-queue-kv-prefix', 2, 2, 3],
      ['llm-d-precise', 2, 2, 3],
      ['gie-v1-approximate', 1, 1, 1],
    ] as const) {
      expect(weights(policyPresets[name])).toMatchObject({
        'queue-scorer': queue,
        'kv-cache-utilization-scorer': kv,
        'prefix-cache-scorer': prefix,
      });
    }
    expect(pluginOf(policyPresets['llm-d-precise'], 'precise-prefix-cache-producer')?.parameters).toEqual({
      blockSizeTokens: 16,
      hashSeed: 0,
    });
  });

  it('GIE v1 approximate: 16-token blocks, at most 256 blocks, LRU 31,250', () => {
    expect(pluginOf(policyPresets['gie-v1-approximate'], 'approx-prefix-cache-producer')?.parameters).toEqual(
      {
        blockSizeTokens: 16,
        maxPrefixBlocksToMatch: 256,
        lruCapacityPerServer: 31_250,
        autoTune: false,
      },
    );
  });

  it('llm-d keeps 31,250 index entries per endpoint whatever the engine reports; autoTune sizes to it', () => {
    const eps = [endpoint(0, { kvCacheCapacityBlocks: 19_208, kvBlockSize: 16 })];
    const autoTuned: SchedulerConfig = {
      ...policyPresets['prefix-only'],
      plugins: policyPresets['prefix-only'].plugins.map((p) =>
        p.type === 'approx-prefix-cache-producer' ? { ...p, parameters: { blockSizeTokens: 64 } } : p,
      ),
    };
    for (const [config, capacity] of [
      [policyPresets['llm-d'], 31_250],
      [policyPresets['gie-v1-approximate'], 31_250],
      [policyPresets.switchyard, 31_250],
      [autoTuned, Math.floor((19_208 * 16) / 64)],
    ] as const) {
      const scheduler = createScheduler(config, fakeDeps());
      scheduler.pick(request(), eps);
      expect(scheduler.accounting()[0]?.indexCapacityBlocks).toBe(capacity);
    }
  });

  it('GIE v1 matches at most 256 blocks of 16 tokens: prompts that differ after 4,096 tokens look equal', () => {
    const scheduler = createScheduler(policyPresets['gie-v1-approximate'], fakeDeps());
    const eps = [endpoint(0), endpoint(1)];
    const head = tokens(4096);
    const first = Uint32Array.from([...head, ...tokens(2000, 50_000)]);
    const other = Uint32Array.from([...head, ...tokens(2000, 90_000)]);
    const chosen = primary(scheduler.pick(request({ promptTokens: first }), eps));
    const result = scheduler.pick(request({ promptTokens: other }), eps);
    if (result.kind !== 'picked') throw new Error('expected a pick');
    // A full prefix score (weight 1) on the endpoint that served the first prompt.
    expect(result.scores.get(chosen)! - result.scores.get(eps.find((e) => e.key !== chosen)!.key)!).toBe(1);
  });
});

describe('prefix-cache-affinity-filter', () => {
  const config = (parameters: Record<string, unknown>): SchedulerConfig => ({
    apiVersion: 'llm-d.ai/v1alpha1',
    kind: 'EndpointPickerConfig',
    plugins: [
      { type: 'prefix-cache-affinity-filter', name: 'affinity', parameters },
      { type: 'token-load-scorer', name: 'tokens', parameters: {} },
      { type: 'approx-prefix-cache-producer', name: 'index', parameters: { autoTune: false } },
    ],
    schedulingProfiles: [
      {
        name: 'default',
        plugins: [
          { pluginRef: 'affinity', weight: 1 },
          { pluginRef: 'tokens', weight: 1 },
        ],
      },
    ],
  });
  const eps: Endpoint[] = [endpoint(0), endpoint(1), endpoint(2)];
  const shared = tokens(6400, 7);

  /** Sends `load` unrelated prompts of `size` tokens to endpoint 0, after it served the shared prompt. */
  function warmed(parameters: Record<string, unknown>, load: number, size: number) {
    const scheduler = createScheduler(config(parameters), fakeDeps());
    const home = primary(scheduler.pick(request({ promptTokens: shared }), [eps[0]!]));
    for (let i = 0; i < load; i++)
      scheduler.pick(request({ promptTokens: tokens(size, 100_000 * (i + 1)) }), [eps[0]!]);
    return { scheduler, home };
  }

  it('keeps the endpoint holding ≥ 80% of the prompt even when it carries more in-flight tokens', () => {
    const { scheduler, home } = warmed(
      { affinityThreshold: 0.8, maxTokensInFlightPenalty: 286_720 },
      10,
      10_000,
    );
    expect(primary(scheduler.pick(request({ promptTokens: shared }), eps))).toBe(home);
  });

  it('lets go when the sticky endpoint carries more than τ tokens above the least loaded', () => {
    const { scheduler, home } = warmed(
      { affinityThreshold: 0.8, maxTokensInFlightPenalty: 50_000 },
      10,
      10_000,
    );
    expect(primary(scheduler.pick(request({ promptTokens: shared }), eps))).not.toBe(home);
  });

  it('does not hold on to a partial match below the threshold', () => {
    const { scheduler, home } = warmed({ affinityThreshold: 0.8 }, 2, 1000);
    const half = Uint32Array.from([...shared.slice(0, 3200), ...tokens(3200, 999_999)]);
    expect(primary(scheduler.pick(request({ promptTokens: half }), eps))).not.toBe(home);
  });

  it('keeps every candidate with probability explorationProbability', () => {
    const { scheduler, home } = warmed({ affinityThreshold: 0.8, explorationProbability: 1 }, 10, 10_000);
    expect(primary(scheduler.pick(request({ promptTokens: shared }), eps))).not.toBe(home);
  });
});

describe('precise prefix index from KV-cache events', () => {
  const prompt = tokens(1600, 3);
  const hashes = [...kvBlockHashes(prompt, 16)];

  it('matches what the events report, forgets removed blocks and cleared caches', () => {
    const scheduler = createScheduler(policyPresets['llm-d-precise'], fakeDeps());
    const eps = [endpoint(0), endpoint(1)];
    const prefixScore = (): number => {
      const result = scheduler.pick(request({ promptTokens: prompt }), eps);
      if (result.kind !== 'picked') throw new Error('expected a pick');
      return result.scores.get(eps[1]!.key)! - result.scores.get(eps[0]!.key)!;
    };
    // Routing history teaches the precise index nothing.
    expect(prefixScore()).toBe(0);
    scheduler.applyKvEvents(eps[1]!.key, [{ type: 'stored', blockHashes: hashes }]);
    expect(prefixScore()).toBe(3); // prefix weight 3 × a full match
    // Evicting the tail halves the match; the leading blocks still count.
    scheduler.applyKvEvents(eps[1]!.key, [{ type: 'removed', blockHashes: hashes.slice(50) }]);
    expect(prefixScore()).toBeCloseTo(1.5);
    scheduler.applyKvEvents(eps[1]!.key, [{ type: 'cleared' }]);
    expect(prefixScore()).toBe(0);
  });
});
