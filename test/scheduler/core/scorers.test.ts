/* eslint-disable @typescript-eslint/no-non-null-assertion -- fixtures index arrays whose length the test fixes */
// Scorer formulas, each checked on hand-computed values through a real scheduler pick (scores map = weight 1).
import { describe, expect, it } from 'vitest';
import { createScheduler } from '../../../scheduler/core/index.ts';
import type { Endpoint, PluginSpec, RoutingRequest, SchedulerConfig } from '../../../scheduler/core/index.ts';
import { endpoint, fakeDeps, request, tokens } from './helpers.ts';

function single(
  type: string,
  parameters: Record<string, unknown> = {},
  extra: PluginSpec[] = [],
): SchedulerConfig {
  return {
    apiVersion: 'llm-d.ai/v1alpha1',
    kind: 'EndpointPickerConfig',
    plugins: [{ type, name: type, parameters }, ...extra],
    schedulingProfiles: [{ name: 'default', plugins: [{ pluginRef: type, weight: 1 }] }],
  };
}

function scoresOf(config: SchedulerConfig, endpoints: Endpoint[], req: RoutingRequest = request()): number[] {
  const result = createScheduler(config, fakeDeps()).pick(req, endpoints);
  if (result.kind !== 'picked') throw new Error('expected a pick');
  return endpoints.map((e) => result.scores.get(e.key)!);
}

describe('queue-scorer', () => {
  it('is (max − q)/(max − min) over waiting requests', () => {
    const eps = [
      endpoint(0, { waitingRequests: 2 }),
      endpoint(1, { waitingRequests: 10 }),
      endpoint(2, { waitingRequests: 4 }),
    ];
    expect(scoresOf(single('queue-scorer'), eps)).toEqual([1, 0, 0.75]);
  });
  it('gives 1 to everybody when all queues are equal', () => {
    const eps = [endpoint(0, { waitingRequests: 3 }), endpoint(1, { waitingRequests: 3 })];
    expect(scoresOf(single('queue-scorer'), eps)).toEqual([1, 1]);
  });
  it('with includePicksSinceScrape adds the picks made after the scrape', () => {
    const deps = fakeDeps();
    const eps = [
      endpoint(0, { waitingRequests: 0, scrapedAtMs: 0 }),
      endpoint(1, { waitingRequests: 1, scrapedAtMs: 0 }),
    ];
    const scheduler = createScheduler(single('queue-scorer', { includePicksSinceScrape: true }), deps);
    deps.advance(5);
    const picks: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = scheduler.pick(request(), eps);
      if (r.kind === 'picked') picks.push(r.endpoints[0]!.key);
    }
    // Without local accounting every pick would go to endpoint 0 until the next scrape.
    expect(picks.filter((k) => k === eps[1]!.key).length).toBeGreaterThanOrEqual(1);
    expect(picks.filter((k) => k === eps[0]!.key).length).toBeGreaterThanOrEqual(2);
  });
});

describe('kv-cache-utilization-scorer', () => {
  it('is 1 − usage, clamped, and 1 without metrics', () => {
    const eps = [
      endpoint(0, { kvCacheUsage: 0.25 }),
      endpoint(1, { kvCacheUsage: 1.3 }),
      endpoint(2, undefined),
    ];
    expect(scoresOf(single('kv-cache-utilization-scorer'), eps)).toEqual([0.75, 0, 1]);
  });
});

describe('running-requests-size-scorer', () => {
  it('is min-max over running requests', () => {
    const eps = [
      endpoint(0, { runningRequests: 8 }),
      endpoint(1, { runningRequests: 0 }),
      endpoint(2, { runningRequests: 6 }),
    ];
    expect(scoresOf(single('running-requests-size-scorer'), eps)).toEqual([0, 1, 0.25]);
  });
});

describe('load-aware-scorer', () => {
  it('is 0.5 idle, 0.5·(1 − q/threshold) in between, 0 at the threshold', () => {
    const eps = [
      endpoint(0, { waitingRequests: 0 }),
      endpoint(1, { waitingRequests: 32 }),
      endpoint(2, { waitingRequests: 200 }),
    ];
    expect(scoresOf(single('load-aware-scorer', { threshold: 128 }), eps)).toEqual([0.5, 0.375, 0]);
  });
});

describe('active-request-scorer', () => {
  it('is 1 when idle and (max − n)/max otherwise, from local in-flight counts', () => {
    const deps = fakeDeps();
    const eps = [endpoint(0), endpoint(1), endpoint(2)];
    const scheduler = createScheduler(single('active-request-scorer'), deps);
    const only = (i: number) => [eps[i]!];
    for (let k = 0; k < 4; k++) scheduler.pick(request(), only(0));
    for (let k = 0; k < 1; k++) scheduler.pick(request(), only(1));
    const result = scheduler.pick(request(), eps);
    if (result.kind !== 'picked') throw new Error('expected a pick');
    expect(eps.map((e) => result.scores.get(e.key))).toEqual([0, 0.75, 1]);
    expect(result.endpoints[0]!.key).toBe(eps[2]!.key);
  });
});

describe('token-load-scorer', () => {
  it('is 1 − min(1, in-flight prompt tokens / threshold)', () => {
    const deps = fakeDeps();
    const eps = [endpoint(0), endpoint(1)];
    const scheduler = createScheduler(single('token-load-scorer', { queueThresholdTokens: 1000 }), deps);
    scheduler.pick(request({ promptTokens: tokens(250) }), [eps[0]!]);
    const result = scheduler.pick(request(), eps);
    if (result.kind !== 'picked') throw new Error('expected a pick');
    expect(eps.map((e) => result.scores.get(e.key))).toEqual([0.75, 1]);
  });
});

describe('prefix-cache-scorer', () => {
  const producer: PluginSpec = {
    type: 'approx-prefix-cache-producer',
    name: 'approx-prefix-cache-producer',
    parameters: { blockSizeTokens: 64 },
  };

  it('is matched blocks / total blocks with the default matchLengthWeight 0', () => {
    const deps = fakeDeps();
    const eps = [endpoint(0), endpoint(1)];
    const scheduler = createScheduler(single('prefix-cache-scorer', {}, [producer]), deps);
    scheduler.pick(request({ promptTokens: tokens(256) }), [eps[0]!]); // endpoint 0 now holds 4 blocks
    const r = scheduler.pick(
      request({ promptTokens: Uint32Array.from([...tokens(128), ...tokens(384, 5000)]) }),
      eps,
    );
    if (r.kind !== 'picked') throw new Error('expected a pick');
    expect(eps.map((e) => r.scores.get(e.key))).toEqual([2 / 8, 0]);
    expect(r.endpoints[0]!.key).toBe(eps[0]!.key);
  });

  it('mixes in w·min(1, matchedTokens/scale)² with matchLengthWeight w', () => {
    const deps = fakeDeps();
    const eps = [endpoint(0)];
    const scheduler = createScheduler(
      single('prefix-cache-scorer', { matchLengthWeight: 0.5, matchLengthScaleTokens: 256 }, [producer]),
      deps,
    );
    scheduler.pick(request({ promptTokens: tokens(128) }), eps);
    const r = scheduler.pick(request({ promptTokens: tokens(512) }), eps);
    if (r.kind !== 'picked') throw new Error('expected a pick');
    // 2 of 8 blocks matched: 0.5·(128/256)² + 0.5·(2/8)
    expect(r.scores.get(eps[0]!.key)).toBeCloseTo(0.5 * 0.25 + 0.5 * 0.25, 12);
  });

  it('scores 0 for prompts shorter than one block', () => {
    expect(
      scoresOf(
        single('prefix-cache-scorer', {}, [producer]),
        [endpoint(0)],
        request({ promptTokens: tokens(10) }),
      ),
    ).toEqual([0]);
  });
});

describe('lora-affinity-scorer', () => {
  it('is 1 active, 0.8 free slot, 0.6 waiting, 0 otherwise; 1 on servers without adapters', () => {
    const eps = [
      endpoint(0, { maxLoras: 2, activeLoras: ['sql'] }),
      endpoint(1, { maxLoras: 2, activeLoras: ['chat'] }),
      endpoint(2, { maxLoras: 1, activeLoras: ['chat'], waitingLoras: ['sql'] }),
      endpoint(3, { maxLoras: 1, activeLoras: ['chat'] }),
      endpoint(4, { maxLoras: 0 }),
    ];
    expect(scoresOf(single('lora-affinity-scorer'), eps, request({ model: 'sql' }))).toEqual([
      1, 0.8, 0.6, 0, 1,
    ]);
  });
});

describe('session-affinity-scorer', () => {
  it('scores the endpoint that served the session 1 until the binding expires', () => {
    const deps = fakeDeps();
    const eps = [endpoint(0), endpoint(1), endpoint(2)];
    const scheduler = createScheduler(single('session-affinity-scorer', { ttlMs: '10s' }), deps);
    const first = scheduler.pick(request({ sessionId: 's1' }), [eps[1]!]);
    expect(first.kind).toBe('picked');
    const again = scheduler.pick(request({ sessionId: 's1' }), eps);
    if (again.kind !== 'picked') throw new Error('expected a pick');
    expect(eps.map((e) => again.scores.get(e.key))).toEqual([0, 1, 0]);
    deps.advance(10_001);
    const later = scheduler.pick(request({ sessionId: 's1' }), eps);
    if (later.kind !== 'picked') throw new Error('expected a pick');
    expect(eps.map((e) => later.scores.get(e.key))).toEqual([0, 0, 0]);
  });
});

describe('prefill-load-scorer', () => {
  it('charges queued prefill, own uncached tokens and decode load, and scores (min + s)/(cost + s)', () => {
    const deps = fakeDeps();
    const eps = [endpoint(0, { scrapedAtMs: 0 }), endpoint(1, { scrapedAtMs: 0 })];
    const config = single(
      'prefill-load-scorer',
      { decodeTokenCost: 100, smoothingTokens: 50, uncachedTokenWeight: 1 },
      [{ type: 'approx-prefix-cache-producer', name: 'p', parameters: { blockSizeTokens: 64 } }],
    );
    const scheduler = createScheduler(config, deps);
    deps.advance(1);
    scheduler.pick(request({ promptTokens: tokens(640, 100_000) }), [eps[0]!]); // 640 queued on endpoint 0
    const r = scheduler.pick(request({ promptTokens: tokens(320) }), eps);
    if (r.kind !== 'picked') throw new Error('expected a pick');
    // endpoint 0: 640 queued + 320 own + 100·1 in flight = 1060; endpoint 1: 320.
    expect(r.scores.get(eps[0]!.key)).toBeCloseTo((320 + 50) / (1060 + 50), 12);
    expect(r.scores.get(eps[1]!.key)).toBe(1);
  });

  it('counts an earlier request as queued only while the scrape says something is waiting', () => {
    const deps = fakeDeps();
    const config = single('prefill-load-scorer', { decodeTokenCost: 0, smoothingTokens: 1 }, [
      { type: 'approx-prefix-cache-producer', name: 'p', parameters: {} },
    ]);
    const scheduler = createScheduler(config, deps);
    const before = [endpoint(0, { scrapedAtMs: 0 }), endpoint(1, { scrapedAtMs: 0 })];
    deps.advance(1);
    scheduler.pick(request({ promptTokens: tokens(1000, 7) }), [before[0]!]);
    deps.advance(100);
    // A later scrape shows nothing waiting: the earlier request is decoding, its prefill is done.
    const after = [endpoint(0, { scrapedAtMs: 50, waitingRequests: 0 }), endpoint(1, { scrapedAtMs: 50 })];
    const r = scheduler.pick(request({ promptTokens: tokens(100, 900_000) }), after);
    if (r.kind !== 'picked') throw new Error('expected a pick');
    expect(r.scores.get(after[0]!.key)).toBe(1);
    // Picked after that scrape, so it counts as queued wherever it went.
    const secondOnZero = r.endpoints[0]!.key === after[0]!.key ? 100 : 0;
    // A scrape showing one request waiting: the most recent earlier request is still queued.
    const waiting = [endpoint(0, { scrapedAtMs: 50, waitingRequests: 1 }), endpoint(1, { scrapedAtMs: 50 })];
    const w = scheduler.pick(request({ promptTokens: tokens(100, 800_000) }), waiting);
    if (w.kind !== 'picked') throw new Error('expected a pick');
    expect(w.scores.get(waiting[0]!.key)).toBeCloseTo(
      (100 + (100 - secondOnZero) + 1) / (1000 + secondOnZero + 100 + 1),
      12,
    );
  });
});

describe('Switchyard options of llm-d scorers', () => {
  it('active-request-scorer with min-max normalization spreads the full range', () => {
    const deps = fakeDeps();
    const eps = [endpoint(0), endpoint(1), endpoint(2)];
    const scheduler = createScheduler(single('active-request-scorer', { normalization: 'min-max' }), deps);
    for (let k = 0; k < 10; k++) scheduler.pick(request(), [eps[0]!]);
    for (let k = 0; k < 8; k++) scheduler.pick(request(), [eps[1]!]);
    for (let k = 0; k < 6; k++) scheduler.pick(request(), [eps[2]!]);
    const r = scheduler.pick(request(), eps);
    if (r.kind !== 'picked') throw new Error('expected a pick');
    // (max − n)/(max − min): 10 → 0, 8 → 0.5, 6 → 1; the llm-d formula would give 0, 0.2, 0.4.
    expect(eps.map((e) => r.scores.get(e.key))).toEqual([0, 0.5, 1]);
  });

  it('kv-cache-utilization-scorer with includePicksSinceScrape adds picked tokens over the capacity', () => {
    const deps = fakeDeps();
    const kv = { kvCacheUsage: 0.25, kvCacheCapacityBlocks: 100, kvBlockSize: 16, scrapedAtMs: 0 };
    const eps = [endpoint(0, kv), endpoint(1, kv)];
    const scheduler = createScheduler(
      single('kv-cache-utilization-scorer', { includePicksSinceScrape: true }),
      deps,
    );
    deps.advance(1);
    scheduler.pick(request({ promptTokens: tokens(400) }), [eps[0]!]); // 400 of 1600 tokens = 0.25
    const r = scheduler.pick(request(), eps);
    if (r.kind !== 'picked') throw new Error('expected a pick');
    expect(eps.map((e) => r.scores.get(e.key))).toEqual([0.5, 0.75]);
  });
});

describe('prefill-load-scorer drain model', () => {
  it('tracks assigned prefill as a bucket draining at prefillTokensPerSecond', () => {
    const deps = fakeDeps();
    // The scrape never shows anything waiting: only the drain model sees the backlog.
    const eps = [endpoint(0, { scrapedAtMs: 0 }), endpoint(1, { scrapedAtMs: 0 })];
    const config = single(
      'prefill-load-scorer',
      { prefillTokensPerSecond: 10_000, decodeTokenCost: 0, smoothingTokens: 1 },
      [{ type: 'approx-prefix-cache-producer', name: 'p', parameters: {} }],
    );
    const scheduler = createScheduler(config, deps);
    scheduler.pick(request({ promptTokens: tokens(20_000, 1) }), [eps[0]!]); // 2 s of prefill on endpoint 0
    const fresh = (): Endpoint[] => [
      endpoint(0, { scrapedAtMs: deps.now() }),
      endpoint(1, { scrapedAtMs: deps.now() }),
    ];
    deps.advance(500); // 1.5 s = 15,000 tokens still queued
    const a = scheduler.pick(request({ promptTokens: tokens(1000, 50_000) }), fresh());
    if (a.kind !== 'picked') throw new Error('expected a pick');
    expect(a.endpoints[0]!.key).toBe(eps[1]!.key);
    expect(a.scores.get(eps[0]!.key)).toBeCloseTo(1001 / (15_000 + 1000 + 1), 9);
  });
});

describe('prefill-load-scorer awaitingFirstTokenWeight', () => {
  const config = single(
    'prefill-load-scorer',
    { prefillTokensPerSecond: 10_000, awaitingFirstTokenWeight: 0.5, decodeTokenCost: 0, smoothingTokens: 1 },
    [{ type: 'approx-prefix-cache-producer', name: 'p', parameters: {} }],
  );

  /**
   * A 20,000-token prompt (2 s at the configured rate) picked for endpoint 0, then 5 s later: its bucket is
   * empty. `endpoint0Score` picks a 1,000-token prompt between endpoints 0 and 1: endpoint 0's score, and the pick.
   */
  function fiveSecondsAfterLongPrompt(streaming?: boolean) {
    const deps = fakeDeps();
    const scheduler = createScheduler(config, deps);
    const long = request({
      promptTokens: tokens(20_000, 1),
      ...(streaming === undefined ? {} : { streaming }),
    });
    scheduler.pick(long, [endpoint(0, { scrapedAtMs: 0 })]);
    deps.advance(5000);
    let offset = 50_000;
    const endpoint0Score = (): { score: number; picked: string } => {
      const eps = [endpoint(0, { scrapedAtMs: deps.now() }), endpoint(1, { scrapedAtMs: deps.now() })];
      const r = scheduler.pick(request({ promptTokens: tokens(1000, (offset += 10_000)) }), eps);
      if (r.kind !== 'picked') throw new Error('expected a pick');
      return { score: r.scores.get(eps[0]!.key)!, picked: r.endpoints[0]!.key };
    };
    return { scheduler, long, endpoint0Score };
  }

  it('counts the work whose first token has not come back, past the time the bucket gives it', () => {
    // Endpoint 0 has not answered: it is slower than configured.
    const { scheduler, long, endpoint0Score } = fiveSecondsAfterLongPrompt();
    const before = endpoint0Score();
    // 0.5 × 20,000 tokens awaiting their first token.
    expect(before.score).toBeCloseTo(1001 / (10_000 + 1000 + 1), 9);
    expect(before.picked).toBe(endpoint(1).key);
    scheduler.firstToken(long.id);
    expect(endpoint0Score().score).toBe(1);
  });

  it('does not count a request whose answer does not stream (its first bytes come after the decode)', () => {
    expect(fiveSecondsAfterLongPrompt(false).endpoint0Score().score).toBe(1);
  });

  it('forgets a request that ends before its first token', () => {
    const { scheduler, long, endpoint0Score } = fiveSecondsAfterLongPrompt();
    scheduler.complete(long.id, { ok: false });
    expect(endpoint0Score().score).toBe(1);
  });
});

describe('prefill-load-scorer attention term', () => {
  const config = single(
    'prefill-load-scorer',
    {
      prefillTokensPerSecond: 10_000,
      prefillAttentionMsPerTokenContext: 1e-5,
      decodeTokenCost: 0,
      smoothingTokens: 1,
    },
    [{ type: 'approx-prefix-cache-producer', name: 'p', parameters: {} }],
  );

  it('drains a long prompt in linear plus quadratic time', () => {
    const deps = fakeDeps();
    const scheduler = createScheduler(config, deps);
    // 20,000 uncached tokens: 2 s linear + 1e-5 ms × 20,000 × 10,000 (mean context) = 2 s more.
    scheduler.pick(request({ promptTokens: tokens(20_000, 1) }), [endpoint(0, { scrapedAtMs: 0 })]);
    deps.advance(500); // 3.5 s of work left = 35,000 tokens at 10,000 tokens/s
    const eps = [endpoint(0, { scrapedAtMs: deps.now() }), endpoint(1, { scrapedAtMs: deps.now() })];
    const r = scheduler.pick(request({ promptTokens: tokens(1000, 50_000) }), eps);
    if (r.kind !== 'picked') throw new Error('expected a pick');
    // Own work anywhere: 1000 + (1e-5 × 10,000 / 1000) × 1000 × 500 = 1050.
    expect(r.scores.get(eps[0]!.key)).toBeCloseTo((1050 + 1) / (35_000 + 1050 + 1), 9);
    expect(r.scores.get(eps[1]!.key)).toBe(1);
  });

  it('charges the uncached tokens for attending to the cached prefix', () => {
    const deps = fakeDeps();
    const scheduler = createScheduler(config, deps);
    scheduler.pick(request({ promptTokens: tokens(6400, 1) }), [endpoint(0, { scrapedAtMs: 0 })]);
    deps.advance(10_000); // drained
    const eps = [endpoint(0, { scrapedAtMs: deps.now() }), endpoint(1, { scrapedAtMs: deps.now() })];
    const r = scheduler.pick(request({ promptTokens: tokens(7040, 1) }), eps);
    if (r.kind !== 'picked') throw new Error('expected a pick');
    // Endpoint 0 holds 6400 tokens: 640 + 1e-4 × 640 × (6400 + 320) = 1070.08.
    // Endpoint 1 holds nothing: 7040 + 1e-4 × 7040 × 3520 = 9518.08.
    expect(r.scores.get(eps[0]!.key)).toBe(1);
    expect(r.scores.get(eps[1]!.key)).toBeCloseTo((1070.08 + 1) / (9518.08 + 1), 9);
  });
});

describe('prefill-load-scorer queuedRequestCost', () => {
  it('charges every waiting request, scraped or picked since the scrape', () => {
    const deps = fakeDeps();
    const config = single(
      'prefill-load-scorer',
      { queuedRequestCost: 1000, decodeTokenCost: 0, smoothingTokens: 1 },
      [{ type: 'approx-prefix-cache-producer', name: 'p', parameters: {} }],
    );
    const scheduler = createScheduler(config, deps);
    const eps = [
      endpoint(0, { waitingRequests: 3, scrapedAtMs: 0 }),
      endpoint(1, { waitingRequests: 0, scrapedAtMs: 0 }),
    ];
    deps.advance(1);
    const r = scheduler.pick(request({ promptTokens: tokens(100, 31) }), eps);
    if (r.kind !== 'picked') throw new Error('expected a pick');
    // endpoint 0: 3 waiting × 1000 + 100 own; endpoint 1: 100 own. No local records: nothing else queued.
    expect(r.scores.get(eps[0]!.key)).toBeCloseTo(101 / 3101, 12);
    expect(r.endpoints[0]!.key).toBe(eps[1]!.key);
    // That pick now counts as waiting on endpoint 1 until the next scrape: 1000 + its 100 queued tokens.
    const s = scheduler.pick(request({ promptTokens: tokens(100, 61) }), eps);
    if (s.kind !== 'picked') throw new Error('expected a pick');
    expect(s.scores.get(eps[1]!.key)).toBe(1);
    expect(s.scores.get(eps[0]!.key)).toBeCloseTo((1000 + 100 + 100 + 1) / (3000 + 100 + 1), 12);
  });
});

describe('prefix-placement-scorer', () => {
  const placement = (parameters: Record<string, unknown> = {}, precise = false): SchedulerConfig =>
    single('prefix-placement-scorer', parameters, [
      precise
        ? { type: 'precise-prefix-cache-producer', name: 'producer', parameters: { blockSizeTokens: 64 } }
        : { type: 'approx-prefix-cache-producer', name: 'producer', parameters: { blockSizeTokens: 64 } },
    ]);
  const eps = [endpoint(0), endpoint(1), endpoint(2)];
  /** Puts `counts[i]` distinct prompts on endpoint i, then sends the first again where it lives. */
  function seeded(config: SchedulerConfig, counts: number[]) {
    const scheduler = createScheduler(config, fakeDeps());
    let offset = 0;
    counts.forEach((count, i) => {
      for (let n = 0; n < count; n++) {
        offset += 1000;
        scheduler.pick(request({ promptTokens: tokens(640, offset) }), [eps[i]!]);
      }
    });
    scheduler.pick(request({ promptTokens: tokens(640, 1000) }), [eps[0]!]);
    return scheduler;
  }
  const scoresNow = (scheduler: ReturnType<typeof createScheduler>, req: RoutingRequest): number[] => {
    const result = scheduler.pick(req, eps);
    if (result.kind !== 'picked') throw new Error('expected a pick');
    return eps.map((e) => result.scores.get(e.key)!);
  };

  it('sends a prompt nobody holds where the fewest prefixes live, linearly between fewest and most', () => {
    const scheduler = seeded(placement(), [3, 1, 2]);
    expect(scoresNow(scheduler, request({ promptTokens: tokens(640, 99_000) }))).toEqual([0, 1, 0.5]);
  });

  it('leaves prompts that some endpoint holds part of to the other scorers', () => {
    const scheduler = seeded(placement(), [3, 1, 2]);
    expect(scoresNow(scheduler, request({ promptTokens: tokens(640, 2000) }))).toEqual([1, 1, 1]);
  });

  it('fades when placed prefixes do not come back', () => {
    // Window 1: each placement is judged when the next one is made, and none of the six seeded prompts had
    // come back by then (the seeding resends the first one at the end): the share is 0.
    const oneOff = seeded(placement({ recurrenceWindowPrefixes: 1 }), [3, 1, 2]);
    expect(scoresNow(oneOff, request({ promptTokens: tokens(640, 99_000) }))).toEqual([1, 1, 1]);
    // Window 2, no threshold: four placements judged, none recurred by then (1 → 0.5 → 0.25 → 0.125 →
    // 0.0625); the spread weighs 1/16.
    const averaged = seeded(placement({ recurrenceWindowPrefixes: 2, minRecurrence: 0 }), [3, 1, 2]);
    const [most, fewest, middle] = scoresNow(averaged, request({ promptTokens: tokens(640, 99_000) }));
    expect(fewest).toBe(1);
    expect(most).toBeCloseTo(1 - 1 / 16, 12);
    expect(middle).toBeCloseTo(1 - 1 / 32, 12);
  });

  it('keeps spreading while placed prefixes come back', () => {
    const scheduler = createScheduler(placement({ recurrenceWindowPrefixes: 1 }), fakeDeps());
    // A prompt placed on endpoint 0 comes back (to endpoint 0) before the next one is placed, on endpoint 1:
    // the first placement is judged as recurring.
    scheduler.pick(request({ promptTokens: tokens(640, 10_000) }), [eps[0]!]);
    scheduler.pick(request({ promptTokens: tokens(640, 10_000) }), [eps[0]!]);
    scheduler.pick(request({ promptTokens: tokens(640, 20_000) }), [eps[1]!]);
    expect(scoresNow(scheduler, request({ promptTokens: tokens(640, 99_000) }))).toEqual([0, 0, 1]);
    // That pick placed the 99,000 prompt and judged the second placement, which never came back: the share
    // is 0 and the scorer changes nothing.
    expect(scoresNow(scheduler, request({ promptTokens: tokens(640, 98_000) }))).toEqual([1, 1, 1]);
  });

  it('scores every endpoint 1 over the precise index, whose events do not mark where prompts begin', () => {
    const scheduler = seeded(placement({}, true), [3, 1, 2]);
    expect(scoresNow(scheduler, request({ promptTokens: tokens(640, 99_000) }))).toEqual([1, 1, 1]);
  });

  it('rejects unknown parameters', () => {
    expect(() => createScheduler(placement({ window: 5 }), fakeDeps())).toThrow(
      /unknown parameter parameters\.window \(expected recurrenceWindowPrefixes, minRecurrence\)/,
    );
  });
});
