/* eslint-disable @typescript-eslint/no-non-null-assertion -- fixtures index arrays whose length the test fixes */
// Switchyard's additions over llm-d: the index corrects itself from cached-token counts, and bursts between
// two metric refreshes spread instead of herding onto the endpoint that last looked idle.
import { describe, expect, it } from 'vitest';
import { createScheduler, policyPresets } from '../../../scheduler/core/index.ts';
import type { PolicyName, SchedulerConfig } from '../../../scheduler/core/index.ts';
import { endpoint, fakeDeps, request, tokens } from './helpers.ts';

const learning: SchedulerConfig = {
  apiVersion: 'llm-d.ai/v1alpha1',
  kind: 'EndpointPickerConfig',
  plugins: [
    { type: 'prefix-cache-scorer', name: 'prefix', parameters: {} },
    {
      type: 'approx-prefix-cache-producer',
      name: 'p',
      parameters: { blockSizeTokens: 64, learnFromCompletions: true },
    },
  ],
  schedulingProfiles: [{ name: 'd', plugins: [{ pluginRef: 'prefix', weight: 1 }] }],
};

// 100 engine blocks of 64 tokens → an index capacity of 100 blocks.
const engine = endpoint(0, { kvCacheCapacityBlocks: 400, kvBlockSize: 16 });

/** `learning` with a fixed index capacity of `blocks` per endpoint instead of the engine's. */
const learningWithCapacity = (blocks: number): SchedulerConfig => ({
  ...learning,
  plugins: learning.plugins.map((p) =>
    p.type === 'approx-prefix-cache-producer'
      ? { ...p, parameters: { ...p.parameters, autoTune: false, lruCapacityPerServer: blocks } }
      : p,
  ),
});

/** Sends `prompt` `times` times to `at`; the engine reports none of it cached each time. */
function evictedEveryTime(scheduler: ReturnType<typeof createScheduler>, prompt: Uint32Array, times: number) {
  for (let i = 0; i < times; i++) {
    const again = request({ promptTokens: prompt });
    scheduler.pick(again, [engine]); // the index predicts all 10 blocks cached
    scheduler.complete(again.id, { ok: true, cachedTokens: 0 }); // the engine had evicted them
  }
  scheduler.pick(request(), [engine]); // capacity is re-synchronised on the next pick
  return scheduler.accounting()[0]!.indexCapacityBlocks;
}

describe('learning from cached-token counts', () => {
  it('shrinks the index capacity when the engine reused less than the index predicted', () => {
    const scheduler = createScheduler(learningWithCapacity(400), fakeDeps());
    const prompt = tokens(640);
    const first = request({ promptTokens: prompt });
    scheduler.pick(first, [engine]);
    scheduler.complete(first.id, { ok: true, cachedTokens: 0 });
    expect(scheduler.accounting()[0]!.indexCapacityBlocks).toBe(400);
    expect(evictedEveryTime(scheduler, prompt, 10)).toBe(Math.floor(400 * 0.97 ** 10));
  });

  it('never shrinks it below what the engine can hold', () => {
    // Learning hears of every block the index believed in and the engine had lost, but not of a prefix the
    // index forgot while the engine kept it (its next request goes elsewhere): unbounded, it drifts down.
    const oversized = createScheduler(learningWithCapacity(400), fakeDeps());
    expect(evictedEveryTime(oversized, tokens(640), 200)).toBe(100);
    const tuned = createScheduler(learning, fakeDeps());
    expect(evictedEveryTime(tuned, tokens(640), 50)).toBe(100);
    // Without the engine's capacity in its metrics, the floor is 10% of the configured capacity.
    const blind = createScheduler(learningWithCapacity(400), fakeDeps());
    const unknown = endpoint(0);
    for (let i = 0; i < 200; i++) {
      const again = request({ promptTokens: tokens(640) });
      blind.pick(again, [unknown]);
      blind.complete(again.id, { ok: true, cachedTokens: 0 });
    }
    blind.pick(request(), [unknown]);
    expect(blind.accounting()[0]!.indexCapacityBlocks).toBe(40);
  });

  it('grows it back and records the blocks when the engine held more than predicted', () => {
    const scheduler = createScheduler(learning, fakeDeps());
    const r = request({ promptTokens: tokens(640, 50) });
    scheduler.pick(r, [engine]);
    scheduler.complete(r.id, { ok: true, cachedTokens: 320 });
    scheduler.pick(request(), [engine]);
    expect(scheduler.accounting()[0]!.indexCapacityBlocks).toBe(101);
  });

  it('holds a running request’s blocks until it completes, then keeps them as the most recently used', () => {
    const scheduler = createScheduler(learning, fakeDeps());
    const other = endpoint(1, { kvCacheCapacityBlocks: 400, kvBlockSize: 16 });
    const scoreOn = (salt: number): number | undefined => {
      const probe = request({ promptTokens: tokens(640, salt) });
      const r = scheduler.pick(probe, [engine, other]);
      scheduler.complete(probe.id, { ok: true });
      return r.kind === 'picked' ? r.scores.get(engine.key) : undefined;
    };
    const long = request({ promptTokens: tokens(640, 1) });
    scheduler.pick(long, [engine]);
    // Ten more 10-block prompts pass through while the first still runs: 110 blocks for a capacity of 100.
    for (let i = 2; i <= 11; i++) {
      const r = request({ promptTokens: tokens(640, i) });
      scheduler.pick(r, [engine]);
      scheduler.complete(r.id, { ok: true, cachedTokens: 0 });
    }
    expect(scheduler.accounting()[0]!.indexedBlocks).toBe(100);
    scheduler.complete(long.id, { ok: true, cachedTokens: 0 });
    // One more prompt evicts the least recently used blocks: those of prompt 3, not of the finished one.
    const r = request({ promptTokens: tokens(640, 12) });
    scheduler.pick(r, [engine]);
    scheduler.complete(r.id, { ok: true, cachedTokens: 0 });
    expect(scoreOn(1)).toBe(1);
    expect(scoreOn(3)).toBe(0);
  });

  it('moves blocks to the endpoint that really served, and forgets unconfirmed blocks of failures', () => {
    const scheduler = createScheduler(learning, fakeDeps());
    const eps = [endpoint(0), endpoint(1)];
    const r = request({ promptTokens: tokens(640, 9) });
    const picked = scheduler.pick(r, [eps[0]!]);
    expect(picked.kind).toBe('picked');
    scheduler.complete(r.id, { ok: true, servedBy: eps[1]!.key });
    const blocks = Object.fromEntries(scheduler.accounting().map((a) => [a.key, a.indexedBlocks]));
    expect(blocks).toEqual({ [eps[0]!.key]: 0, [eps[1]!.key]: 10 });

    const failed = request({ promptTokens: tokens(640, 77_777) });
    scheduler.pick(failed, [eps[0]!]);
    scheduler.complete(failed.id, { ok: false });
    expect(scheduler.accounting().find((a) => a.key === eps[0]!.key)!.indexedBlocks).toBe(0);
  });
});

describe('herding between metric refreshes', () => {
  function burst(policy: PolicyName): number {
    const deps = fakeDeps(42);
    const scheduler = createScheduler(policyPresets[policy], deps);
    // One snapshot for the whole burst: endpoint 3 looked idle at the last scrape.
    const eps = [0, 1, 2, 3].map((i) =>
      endpoint(i, { waitingRequests: i === 3 ? 0 : 1, kvCacheUsage: i === 3 ? 0.1 : 0.3, scrapedAtMs: 0 }),
    );
    const counts = new Map<string, number>();
    for (let i = 0; i < 16; i++) {
      deps.advance(2);
      const r = scheduler.pick(request({ promptTokens: tokens(1000, i * 10_000) }), eps);
      if (r.kind === 'picked') counts.set(r.endpoints[0]!.key, (counts.get(r.endpoints[0]!.key) ?? 0) + 1);
    }
    return Math.max(...counts.values());
  }

  it('llm-d’s scraped-metrics mix sends the whole burst to one endpoint; switchyard spreads it', () => {
    expect(burst('llm-d-queue-kv-prefix')).toBe(16);
    // llm-d v1.0 counts in-flight tokens itself (inflight-load-producer), so it spreads a burst too.
    expect(burst('llm-d')).toBeLessThanOrEqual(6);
    expect(burst('switchyard')).toBeLessThanOrEqual(6);
  });
});

describe('endpoint churn', () => {
  it('forgets endpoints gone from the pool for two minutes, but not while requests are in flight', () => {
    const deps = fakeDeps();
    const scheduler = createScheduler(policyPresets.switchyard, deps);
    const [a, b, c] = [endpoint(0), endpoint(1), endpoint(2)];
    const held = request({ promptTokens: tokens(640, 3) });
    scheduler.pick(held, [a!]);
    const done = request({ promptTokens: tokens(640, 4) });
    scheduler.pick(done, [b!]);
    scheduler.complete(done.id, { ok: true });
    for (let minute = 0; minute < 3; minute++) {
      deps.advance(60_000);
      scheduler.pick(request(), [c!]);
    }
    expect(
      scheduler
        .accounting()
        .map((x) => x.key)
        .sort(),
    ).toEqual([a!.key, c!.key]);
    scheduler.complete(held.id, { ok: true });
    deps.advance(60_000);
    scheduler.pick(request(), [c!]);
    expect(scheduler.accounting().map((x) => x.key)).toEqual([c!.key]);
    // A returning endpoint starts afresh, reusing a freed slot of the index.
    const again = scheduler.pick(request({ promptTokens: tokens(640, 3) }), [a!, c!]);
    expect(again.kind).toBe('picked');
    expect(scheduler.accounting()).toHaveLength(2);
  });
});
