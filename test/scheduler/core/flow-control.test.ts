/* eslint-disable @typescript-eslint/no-non-null-assertion -- fixtures index arrays whose length the test fixes */
// Priority bands, fairness within a band, ordering within a flow, TTL expiry, queue capacity and cancellation.
import { describe, expect, it } from 'vitest';
import { createScheduler, policyPresets } from '../../../scheduler/core/index.ts';
import type { FlowControlConfig, Scheduler, SchedulerConfig } from '../../../scheduler/core/index.ts';
import { endpoint, fakeDeps, leastRequestWithQueue, request, tokens } from './helpers.ts';

function withQueue(flowControl: Partial<FlowControlConfig> = {}): SchedulerConfig {
  return leastRequestWithQueue({ queueDepthThreshold: 1 }, { requestTtlMs: 1000, ...flowControl });
}

/** One endpoint whose saturation allows exactly `slots` dispatches (each pick adds one waiting request). */
const roomFor = (deps: { now(): number }) => [endpoint(0, { scrapedAtMs: deps.now() })];

/** Ids in the order `rounds` drains 10 ms apart dispatch them, one per round, each completed at once. */
function dispatchOrder(scheduler: Scheduler, deps: ReturnType<typeof fakeDeps>, rounds: number): string[] {
  const order: string[] = [];
  for (let round = 0; round < rounds; round++) {
    deps.advance(10);
    for (const o of scheduler.drain(roomFor(deps))) {
      order.push(o.request.id);
      scheduler.complete(o.request.id, { ok: true });
    }
  }
  return order;
}

describe('flow control', () => {
  it('dispatches the highest priority band first, FCFS within a flow', () => {
    const deps = fakeDeps();
    const scheduler = createScheduler(withQueue(), deps);
    const low = request({ priority: -1 });
    const normal1 = request({ priority: 0 });
    const normal2 = request({ priority: 0 });
    const premium = request({ priority: 100 });
    for (const r of [low, normal1, normal2, premium]) expect(scheduler.enqueue(r).kind).toBe('queued');
    const order: string[] = [];
    for (let round = 0; round < 4; round++) {
      deps.advance(10);
      for (const o of scheduler.drain(roomFor(deps))) {
        expect(o.result.kind).toBe('picked');
        order.push(o.request.id);
        scheduler.complete(o.request.id, { ok: true });
      }
    }
    expect(order).toEqual([premium.id, normal1.id, normal2.id, low.id]);
    expect(scheduler.queuedRequests()).toBe(0);
  });

  it('takes turns between fairness ids of one band (round-robin)', () => {
    const deps = fakeDeps();
    const scheduler = createScheduler(withQueue(), deps);
    const a = [1, 2, 3].map(() => request({ fairnessId: 'a' }));
    const b = [1, 2].map(() => request({ fairnessId: 'b' }));
    for (const r of [...a, ...b]) scheduler.enqueue(r);
    const order = dispatchOrder(scheduler, deps, 5);
    expect(order).toEqual([a[0]!.id, b[0]!.id, a[1]!.id, b[1]!.id, a[2]!.id]);
  });

  it('global-strict serves the oldest request of the band first', () => {
    const deps = fakeDeps();
    const scheduler = createScheduler(withQueue({ fairness: 'global-strict' }), deps);
    const reqs = [request({ fairnessId: 'a' }), request({ fairnessId: 'a' }), request({ fairnessId: 'b' })];
    for (const r of reqs) scheduler.enqueue(r);
    const order = dispatchOrder(scheduler, deps, 3);
    expect(order).toEqual(reqs.map((r) => r.id));
  });

  it('prefill-deadline lets short prompts overtake long ones for a bounded time', () => {
    const deps = fakeDeps();
    const ordering = {
      type: 'prefill-deadline',
      prefillTokensPerSecond: 1000,
      slack: 10,
      maxSlackMs: 60_000,
    } as const;
    const scheduler = createScheduler(withQueue({ ordering, requestTtlMs: 600_000 }), deps);
    const busy = [endpoint(0, { waitingRequests: 3, scrapedAtMs: 0 })];
    // Deadlines: arrival + 10 × prompt tokens / 1000 tokens/s, at most 60 s.
    const long = request({ promptTokens: tokens(2000) }); // t=0, deadline 20 s
    const huge = request({ promptTokens: tokens(100_000) }); // t=0, deadline 60 s (capped from 1,000 s)
    const shortEarly = request({ promptTokens: tokens(100) }); // t=10 s, deadline 11 s
    const shortLate = request({ promptTokens: tokens(100) }); // t=19.5 s, deadline 20.5 s
    const shortLast = request({ promptTokens: tokens(100) }); // t=59.5 s, deadline 60.5 s
    scheduler.enqueue(long);
    scheduler.enqueue(huge);
    deps.advance(10_000);
    scheduler.enqueue(shortEarly);
    deps.advance(9_500);
    scheduler.enqueue(shortLate);
    deps.advance(40_000);
    scheduler.enqueue(shortLast);
    expect(scheduler.drain(busy)).toEqual([]);
    const order = dispatchOrder(scheduler, deps, 5);
    expect(order).toEqual([shortEarly.id, long.id, shortLate.id, huge.id, shortLast.id]);
  });

  it('endpoint-queue-depth dispatches while some endpoint with fresh metrics has room, whatever the pool mean', () => {
    const deps = fakeDeps();
    const dispatch = {
      type: 'endpoint-queue-depth',
      maxWaitingRequests: 2,
      metricsStalenessMs: 200,
    } as const;
    const scheduler = createScheduler(withQueue({ dispatch }), deps);
    for (let i = 0; i < 4; i++) scheduler.enqueue(request());
    deps.advance(10);
    const scrapedAtMs = deps.now() - 1;
    const full = endpoint(0, { waitingRequests: 40, kvCacheUsage: 1, scrapedAtMs });
    const stale = endpoint(1, { waitingRequests: 0, scrapedAtMs: scrapedAtMs - 500 });
    expect(scheduler.drain([full, stale])).toEqual([]);
    // An endpoint with one request waiting and a full KV cache has room for one more: the pool's mean
    // saturation (about 20) does not hold it back. Each pick counts as waiting where it went until the next
    // scrape, so dispatching stops once the roomy endpoint has been picked.
    const roomy = endpoint(2, { waitingRequests: 1, kvCacheUsage: 1, scrapedAtMs });
    const out = scheduler.drain([full, roomy]);
    expect(out.length).toBeGreaterThanOrEqual(1);
    expect(out.length).toBeLessThanOrEqual(2);
    expect(out.at(-1)?.result).toMatchObject({ kind: 'picked', endpoints: [{ key: roomy.key }] });
    expect(scheduler.queuedRequests()).toBe(4 - out.length);
  });

  it('holds requests while saturated and expires them after the TTL (429, or 503 without endpoints)', () => {
    const deps = fakeDeps();
    const scheduler = createScheduler(withQueue({ requestTtlMs: 500 }), deps);
    const busy = [endpoint(0, { waitingRequests: 3 })];
    const r1 = request();
    const r2 = request();
    scheduler.enqueue(r1);
    deps.advance(100);
    scheduler.enqueue(r2);
    expect(scheduler.drain(busy)).toEqual([]);
    deps.advance(400);
    const expired = scheduler.drain(busy);
    expect(expired.map((o) => [o.request.id, o.result, o.waitedMs])).toEqual([
      [r1.id, { kind: 'rejected', status: 429, reason: 'rejected-ttl-expired' }, 500],
    ]);
    deps.advance(100);
    expect(scheduler.drain([]).map((o) => o.result)).toEqual([
      { kind: 'rejected', status: 503, reason: 'rejected-no-endpoints' },
    ]);
  });

  it('rejects beyond capacity with 429 and supports cancel', () => {
    const scheduler = createScheduler(withQueue({ maxQueuedRequests: 2 }), fakeDeps());
    const r1 = request();
    scheduler.enqueue(r1);
    scheduler.enqueue(request());
    expect(scheduler.enqueue(request())).toEqual({
      kind: 'rejected',
      status: 429,
      reason: 'rejected-queue-full',
    });
    expect(scheduler.cancel(r1.id)).toBe(true);
    expect(scheduler.cancel(r1.id)).toBe(false);
    expect(scheduler.queuedRequests()).toBe(1);
  });

  it('refuses enqueue without a flowControl section', () => {
    expect(() => createScheduler(policyPresets.random, fakeDeps()).enqueue(request())).toThrow(/flowControl/);
  });
});
