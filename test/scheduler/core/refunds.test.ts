// Pick-time estimates of a request that ends early are refunded: a million-token prompt that the engine
// rejects at once used to charge its endpoint for about 70 s of prefill, sending all traffic elsewhere.
import { describe, expect, it } from 'vitest';
import { createScheduler, policyPresets } from '../../../scheduler/core/index.ts';
import { endpoint, fakeDeps, request, tokens } from './helpers.ts';

const fresh = { kvCacheCapacityBlocks: 20_000, kvBlockSize: 16 };

describe('refunds of pick-time estimates', () => {
  it('a huge request that ended early leaves no estimate behind', () => {
    const deps = fakeDeps(3);
    const scheduler = createScheduler(policyPresets.switchyard, deps);
    const endpoints = [1, 2, 3].map((i) => endpoint(i, fresh));
    const huge = request({ promptTokens: tokens(1_000_000) });
    const picked = scheduler.pick(huge, endpoints);
    if (picked.kind !== 'picked') throw new Error('not picked');
    const charged = picked.endpoints[0]?.key;
    scheduler.complete(huge.id, { ok: false });
    // In-flight counts, uncached tokens and held prefix blocks are released either way; a failed request's
    // blocks are forgotten.
    for (const entry of scheduler.accounting()) {
      expect(entry.inFlightRequests).toBe(0);
      expect(entry.inFlightUncachedTokens).toBe(0);
      expect(entry.indexedBlocks).toBe(0);
    }
    const counts = new Map<string, number>();
    for (let i = 0; i < 60; i++) {
      deps.advance(10);
      const small = request({ promptTokens: tokens(512, 1_000_000 + i * 1000) });
      const result = scheduler.pick(small, endpoints);
      if (result.kind !== 'picked') throw new Error('not picked');
      const key = result.endpoints[0]?.key ?? '';
      counts.set(key, (counts.get(key) ?? 0) + 1);
      scheduler.complete(small.id, { ok: true });
    }
    // Without the refund the endpoint that was charged got none of these (its bucket held ~70 s).
    expect((counts.get(charged ?? '') ?? 0) / 60).toBeGreaterThan(0.2);
  });
});
