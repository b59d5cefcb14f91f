/* eslint-disable @typescript-eslint/no-non-null-assertion -- fixtures index arrays whose length the test fixes */
// endpoint-health-scorer: learning each endpoint's speed and error rate from what the router observes.
import { describe, expect, it } from 'vitest';
import { createScheduler, policyPresets } from '../../../scheduler/core/index.ts';
import { endpointHealthScorer } from '../../../scheduler/core/plugins/endpoint-health.ts';
import type { PickContext, ScorerPlugin } from '../../../scheduler/core/plugins/plugin.ts';
import type { Endpoint } from '../../../scheduler/core/types.ts';
import { endpoint, fakeDeps, profileConfig, request, tokens } from './helpers.ts';

const eps = [endpoint(0), endpoint(1), endpoint(2)];

function scorer(parameters: Record<string, unknown> = {}): ScorerPlugin {
  return endpointHealthScorer({ type: 'endpoint-health-scorer', name: 'health', parameters });
}

function context(nowMs: number, promptTokens = 1000, candidates: readonly Endpoint[] = eps): PickContext {
  return {
    request: request({ promptTokens: tokens(promptTokens) }),
    nowMs,
    candidates,
    states: [],
    prefix: () => undefined,
  };
}

function scores(plugin: ScorerPlugin, nowMs: number): number[] {
  const out = new Float64Array(eps.length);
  plugin.score(context(nowMs), out);
  return [...out];
}

/** Drives one request through the plugin's hooks: picked at `at`, first token after `ttftMs`, then `tokens`. */
function serve(
  plugin: ScorerPlugin,
  at: number,
  chosen: number,
  timing: { ttftMs: number; tpotMs: number; tokens?: number },
): number {
  const ctx = context(at);
  plugin.picked?.(ctx, chosen);
  const key = eps[chosen]!.key;
  const first = at + timing.ttftMs;
  plugin.firstToken?.(ctx.request.id, key, first);
  const n = timing.tokens ?? 100;
  const end = first + timing.tpotMs * (n - 1);
  plugin.completed?.(ctx.request.id, key, end, true, { ok: true, completionTokens: n });
  return end;
}

/**
 * One request that the endpoint fails at `at` (or, with `endpointError: false`, that ends without blame), picked
 * `tookMs` before: by default the scorer's `failureCost`, so the failure counts in full.
 */
function fail(
  plugin: ScorerPlugin,
  at: number,
  chosen: number,
  endpointError?: boolean,
  tookMs = 1000,
): void {
  const ctx = context(at - tookMs);
  plugin.picked?.(ctx, chosen);
  plugin.completed?.(ctx.request.id, eps[chosen]!.key, at, false, {
    ok: false,
    ...(endpointError === undefined ? {} : { endpointError }),
  });
}

describe('endpoint-health-scorer: speed', () => {
  it('scores every endpoint 1 when all serve alike', () => {
    const plugin = scorer();
    let t = 1000;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < eps.length; i++) t = serve(plugin, t, i, { ttftMs: 80, tpotMs: 60 }) + 10;
    }
    expect(scores(plugin, t)).toEqual([1, 1, 1]);
  });

  it('scores an endpoint 3× slower than its peers slowThreshold / 3', () => {
    const plugin = scorer({ slowThreshold: 1.5 });
    let t = 1000;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < eps.length; i++) {
        const slow = i === 0 ? 3 : 1;
        t = serve(plugin, t, i, { ttftMs: 80 * slow, tpotMs: 60 * slow }) + 10;
      }
    }
    const [s0, s1, s2] = scores(plugin, t);
    expect(s0).toBeCloseTo(1.5 / 3, 6);
    expect(s1).toBe(1);
    expect(s2).toBe(1);
  });

  it('judges an endpoint against its peers, not a median that includes itself', () => {
    // Only two endpoints have served yet: the median of both averages would sit halfway to the slow one's.
    const plugin = scorer();
    let t = 1000;
    for (let round = 0; round < 20; round++) {
      t = serve(plugin, t, 0, { ttftMs: 800, tpotMs: 600, tokens: 10 }) + 10;
      t = serve(plugin, t, 1, { ttftMs: 80, tpotMs: 60, tokens: 10 }) + 10;
    }
    const [s0, s1, s2] = scores(plugin, t);
    expect(s0).toBeCloseTo(2.5 / 10, 6);
    expect(s1).toBe(1);
    expect(s2).toBe(1);
  });

  it('learns from time to first token alone, before any request completed', () => {
    const plugin = scorer();
    let t = 1000;
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < eps.length; i++) {
        const ctx = context(t);
        plugin.picked?.(ctx, i);
        plugin.firstToken?.(ctx.request.id, eps[i]!.key, t + (i === 0 ? 400 : 100));
        t += 500;
      }
    }
    expect(scores(plugin, t)[0]).toBeCloseTo(2.5 / 4, 2);
  });

  it('learns no speed from answers that do not stream (their first bytes come with the last token)', () => {
    const plugin = scorer({ slowThreshold: 1.5 });
    let t = 1000;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < eps.length; i++) {
        const ctx = { ...context(t), request: request({ promptTokens: tokens(1000), streaming: false }) };
        plugin.picked?.(ctx, i);
        // Endpoint 0 answers long requests: 30 s to its whole answer, which is its first body byte.
        const end = t + (i === 0 ? 30_000 : 1000);
        plugin.firstToken?.(ctx.request.id, eps[i]!.key, end);
        plugin.completed?.(ctx.request.id, eps[i]!.key, end, true, { ok: true, completionTokens: 100 });
        t += 50;
      }
    }
    expect(scores(plugin, t + 30_000)).toEqual([1, 1, 1]);
  });

  it('does not take an endpoint slow in only one of the two for a slow one', () => {
    // Long contexts slow decoding without slowing the first token, and the other way round.
    for (const [ttftMs, tpotMs] of [
      [100, 200],
      [400, 50],
    ] as const) {
      const plugin = scorer();
      let t = 1000;
      // 40 rounds: the time per output token counts once the pool's decode pace has 50 completed requests.
      for (let round = 0; round < 40; round++) {
        for (let i = 0; i < eps.length; i++) {
          const timing = i === 0 ? { ttftMs, tpotMs } : { ttftMs: 100, tpotMs: 50 };
          t = serve(plugin, t, i, timing) + 10;
        }
      }
      expect(scores(plugin, t)).toEqual([1, 1, 1]);
    }
  });

  it('tolerates differences up to slowThreshold, and needs minSamples per endpoint', () => {
    const plugin = scorer({ slowThreshold: 1.5, minSamples: 5 });
    let t = 1000;
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < eps.length; i++) {
        t = serve(plugin, t, i, { ttftMs: i === 0 ? 400 : 100, tpotMs: i === 0 ? 200 : 50 }) + 10;
      }
    }
    expect(scores(plugin, t)).toEqual([1, 1, 1]); // 4 samples each: not enough yet
    const mild = scorer();
    t = 1000;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < eps.length; i++) {
        t = serve(mild, t, i, { ttftMs: i === 0 ? 130 : 100, tpotMs: i === 0 ? 65 : 50 }) + 10;
      }
    }
    expect(scores(mild, t)).toEqual([1, 1, 1]); // 1.3× is within the tolerance
  });

  it('forgets a speed average that got no sample for staleAfter, and ignores speed with learnSpeed false', () => {
    const plugin = scorer({ staleAfter: '60s' });
    const off = scorer({ learnSpeed: false });
    let t = 1000;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < eps.length; i++) {
        const timing = { ttftMs: i === 0 ? 300 : 100, tpotMs: i === 0 ? 150 : 50 };
        serve(off, t, i, timing);
        t = serve(plugin, t, i, timing) + 10;
      }
    }
    expect(scores(plugin, t)[0]).toBeLessThan(1);
    expect(scores(off, t)).toEqual([1, 1, 1]);
    expect(scores(plugin, t + 61_000)[0]).toBe(1);
  });

  it('sends a slow endpoint less work through the scheduler (firstToken and complete hooks)', () => {
    const config = profileConfig([{ type: 'endpoint-health-scorer' }, { type: 'max-score-picker' }]);
    const deps = fakeDeps(5);
    deps.advance(1000);
    const scheduler = createScheduler(config, deps);
    const picks = [0, 0, 0];
    for (let n = 0; n < 600; n++) {
      const r = request({ promptTokens: tokens(512, n * 1000) });
      const result = scheduler.pick(r, eps);
      if (result.kind !== 'picked') throw new Error('not picked');
      const i = eps.findIndex((e) => e.key === result.endpoints[0]!.key);
      const slow = i === 0 ? 3 : 1;
      if (n >= 300) picks[i]!++;
      deps.advance(50 * slow);
      scheduler.firstToken(r.id);
      deps.advance(20 * slow * 9);
      scheduler.complete(r.id, { ok: true, completionTokens: 10 });
    }
    // Before it learned, the random tie-break gave endpoint 0 a third; afterwards it gets a few probes.
    expect(picks[0]).toBeLessThan(30);
    expect(picks[1]! + picks[2]!).toBeGreaterThan(270);
    expect(Math.abs(picks[1]! - picks[2]!)).toBeLessThan(60);
  });
});

describe('endpoint-health-scorer: queueing is not slowness', () => {
  it('learns speed only from requests that queued behind no other prefill', () => {
    const config = profileConfig([{ type: 'endpoint-health-scorer' }, { type: 'max-score-picker' }]);
    const deps = fakeDeps(2);
    deps.advance(1000);
    const scheduler = createScheduler(config, deps);
    let n = 0;
    const next = () => request({ promptTokens: tokens(512, ++n * 1000) });
    for (let round = 0; round < 30; round++) {
      // Endpoints 1 and 2 serve one request at a time; endpoint 0 gets two at once, the second waiting
      // behind the first's prefill for ten times as long.
      for (const i of [1, 2]) {
        const r = next();
        scheduler.pick(r, [eps[i]!]);
        deps.advance(100);
        scheduler.firstToken(r.id);
        scheduler.complete(r.id, { ok: true, completionTokens: 1 });
      }
      const first = next();
      const second = next();
      scheduler.pick(first, [eps[0]!]);
      scheduler.pick(second, [eps[0]!]);
      deps.advance(100);
      scheduler.firstToken(first.id);
      deps.advance(900);
      scheduler.firstToken(second.id);
      scheduler.complete(first.id, { ok: true, completionTokens: 1 });
      scheduler.complete(second.id, { ok: true, completionTokens: 1 });
    }
    const result = scheduler.pick(next(), eps);
    if (result.kind !== 'picked') throw new Error('not picked');
    expect([...result.scores.values()]).toEqual([1, 1, 1]);
  });
});

describe('endpoint-health-scorer: busy is not slow', () => {
  /**
   * One round on an endpoint: a request decodes 100 tokens while `prefills` other requests of 8,000 uncached
   * tokens, sent there together, are prefilled one after the other (chunked prefill shares the decode steps), all
   * at the endpoint's `slowdown`; the request's own first token takes `ttftMs`.
   */
  function round(
    plugin: ScorerPlugin,
    t: number,
    chosen: number,
    prefills: number,
    ttftMs: number,
    slowdown = 1,
  ): number {
    const key = eps[chosen]!.key;
    const measured = context(t);
    plugin.picked?.(measured, chosen);
    const first = t + ttftMs;
    plugin.firstToken?.(measured.request.id, key, first);
    // The prompts arrive together and are prefilled one after the other, 0.05 ms a token.
    const others = Array.from({ length: prefills }, () => context(first, 8000));
    for (const other of others) plugin.picked?.(other, chosen);
    others.forEach((other, i) => {
      const at = first + slowdown * 400 * (i + 1);
      plugin.firstToken?.(other.request.id, key, at);
      plugin.completed?.(other.request.id, key, at, true, { ok: true, completionTokens: 1 });
    });
    // 20 ms a token, plus the prefill shared out over the tokens.
    const end = first + slowdown * (99 * 20 + 400 * prefills);
    plugin.completed?.(measured.request.id, key, end, true, { ok: true, completionTokens: 100 });
    return end + 10;
  }

  it("does not take an endpoint whose decoding shares steps with others' prefill for a slow one", () => {
    const plugin = scorer();
    let t = 1000;
    for (let r = 0; r < 60; r++) {
      // Endpoint 0 gets most of the long prompts: they wait for each other's prefill (unseen by the router's
      // accounting, which has no scrape here), and its requests decode beside eight times the prefill the others
      // do: several times the others' time to first token and time per output token.
      t = round(plugin, t, 0, 16 + (r % 3), 400);
      t = round(plugin, t, 1, r % 3, 100);
      t = round(plugin, t, 2, (r + 1) % 3, 100);
    }
    expect(scores(plugin, t)).toEqual([1, 1, 1]);
  });

  it('still finds an endpoint three times slower than its peers under the same load', () => {
    const plugin = scorer();
    let t = 1000;
    for (let r = 0; r < 60; r++) {
      t = round(plugin, t, 0, r % 3, 300, 3);
      t = round(plugin, t, 1, (r + 1) % 3, 100);
      t = round(plugin, t, 2, (r + 2) % 3, 100);
    }
    // The pool's fit takes in endpoint 0's own requests too, so its slowness reads a little under 3 (2.5 / 3 = 0.83).
    const [s0, s1, s2] = scores(plugin, t);
    expect(s0).toBeGreaterThan(0.8);
    expect(s0).toBeLessThan(0.95);
    expect(s1).toBe(1);
    expect(s2).toBe(1);
  });
});

describe('endpoint-health-scorer: errors', () => {
  it('needs minRequests outcomes before the error rate counts', () => {
    const plugin = scorer({ minRequests: 20 });
    let t = 1000;
    for (let n = 0; n < 19; n++) {
      if (n % 5 === 0) fail(plugin, t, 0);
      else serve(plugin, t, 0, { ttftMs: 1, tpotMs: 1, tokens: 1 });
      t += 100;
    }
    expect(scores(plugin, t)[0]).toBe(1);
    fail(plugin, t, 0);
    expect(scores(plugin, t)[0]).toBeCloseTo(1 - 5 / 20, 9);
  });

  it('scores an endpoint failing 20% of its requests 0.8 (maxErrorRate 1) and recovers when it heals', () => {
    const plugin = scorer({ learnSpeed: false });
    let t = 1000;
    for (let n = 0; n < 100; n++) {
      for (let i = 0; i < eps.length; i++) {
        if (i === 0 && n % 5 === 0) fail(plugin, t, i);
        else serve(plugin, t, i, { ttftMs: 1, tpotMs: 1, tokens: 1 });
      }
      t += 100;
    }
    expect(scores(plugin, t)).toEqual([expect.closeTo(0.8, 9), 1, 1]);
    const half = scorer({ learnSpeed: false, maxErrorRate: 0.4 });
    for (let n = 0; n < 50; n++) {
      if (n % 5 === 0) fail(half, t + n, 0);
      else serve(half, t + n, 0, { ttftMs: 0, tpotMs: 0, tokens: 1 });
    }
    expect(scores(half, t + 50)[0]).toBeCloseTo(0.5, 9);
    // Healed: its next 50 requests succeed and push the failures out of the window.
    for (let n = 0; n < 50; n++) {
      serve(plugin, t, 0, { ttftMs: 1, tpotMs: 1, tokens: 1 });
      t += 100;
    }
    expect(scores(plugin, t)[0]).toBe(1);
  });

  it('counts a request a success when its first bytes arrive, not when its stream ends', () => {
    // Failures come back at once, a success streams for a minute: counted at the stream's end, the first 20
    // outcomes of a replica failing one request in five would all be failures.
    const plugin = scorer({ learnSpeed: false, maxErrorRate: 1 });
    const streaming: { id: string; at: number }[] = [];
    for (let n = 0; n < 50; n++) {
      const at = 1000 + n * 100;
      if (n % 5 === 4) {
        fail(plugin, at, 0);
        continue;
      }
      const ctx = context(at);
      plugin.picked?.(ctx, 0);
      plugin.firstToken?.(ctx.request.id, eps[0]!.key, at + 50);
      streaming.push({ id: ctx.request.id, at });
    }
    expect(scores(plugin, 6000)[0]).toBeCloseTo(0.8, 9);
    // Every stream ends well: no outcome is added. One breaks off midway: a failure, which pushes the oldest
    // outcome (a success) out of the 50.
    for (const { id, at } of streaming.slice(1))
      plugin.completed?.(id, eps[0]!.key, at + 60_000, true, { ok: true, completionTokens: 1000 });
    plugin.completed?.(streaming[0]!.id, eps[0]!.key, 6000, false, { ok: false, endpointError: true });
    expect(scores(plugin, 6000)[0]).toBeCloseTo(1 - 11 / 50, 9);
  });

  it('tolerates error rates up to errorRateThreshold', () => {
    const plugin = scorer({ learnSpeed: false, errorRateThreshold: 0.5, maxErrorRate: 1 });
    for (let n = 0; n < 50; n++) {
      if (n % 5 === 0) fail(plugin, 1000 + n, 0);
      else serve(plugin, 1000 + n, 0, { ttftMs: 0, tpotMs: 0, tokens: 1 });
    }
    expect(scores(plugin, 1100)[0]).toBe(1); // 20% ≤ 50%
    for (let n = 0; n < 50; n++) {
      if (n % 4 === 0) serve(plugin, 1200 + n, 0, { ttftMs: 0, tpotMs: 0, tokens: 1 });
      else fail(plugin, 1200 + n, 0);
    }
    // 37 of the last 50 failed (74%): (0.74 − 0.5) / 0.5 of the way to 0.
    expect(scores(plugin, 1300)[0]).toBeCloseTo(1 - (37 / 50 - 0.5) / 0.5, 9);
  });

  it('forgets outcomes older than errorWindow, so an endpoint without traffic is tried again', () => {
    const plugin = scorer({ errorWindow: '60s', learnSpeed: false });
    for (let n = 0; n < 50; n++) fail(plugin, 1000 + n, 0);
    expect(scores(plugin, 1050)[0]).toBe(0);
    expect(scores(plugin, 1050 + 61_000)[0]).toBe(1);
  });

  it('does not count an end that says nothing about the endpoint (client cancel)', () => {
    const plugin = scorer({ learnSpeed: false });
    for (let n = 0; n < 50; n++) fail(plugin, 1000 + n, 1, false);
    expect(scores(plugin, 1100)).toEqual([1, 1, 1]);
  });

  it('moves the switchyard preset off an endpoint whose failures cost time, when another holds the same prefix', () => {
    const picksAfter = (failureMs: number): Set<string | undefined> => {
      const deps = fakeDeps(9);
      deps.advance(1000);
      const scheduler = createScheduler(policyPresets.switchyard, deps);
      const shared = tokens(6400, 7);
      const pair = [eps[0]!, eps[1]!];
      // Both endpoints hold the prefix, and serve equally well so far.
      for (const e of pair) {
        const r = request({ promptTokens: shared });
        scheduler.pick(r, [e]);
        scheduler.complete(r.id, { ok: true, completionTokens: 1, cachedTokens: 6400 });
      }
      // Both serve 50 requests of other prompts; endpoint 0 fails one in five of its own, `failureMs` after
      // the pick.
      for (let n = 0; n < 100; n++) {
        const e = pair[n % 2]!;
        const r = request({ promptTokens: tokens(256, 100_000 + n * 1000) });
        scheduler.pick(r, [e]);
        const failing = e === pair[0] && n % 10 === 0;
        if (failing) deps.advance(failureMs);
        scheduler.complete(r.id, failing ? { ok: false } : { ok: true, completionTokens: 1 });
        deps.advance(10);
      }
      deps.advance(5000); // the prefill those requests brought is long done
      const picked = new Set<string | undefined>();
      for (let n = 0; n < 20; n++) {
        const r = request({ promptTokens: shared });
        const result = scheduler.pick(r, pair);
        scheduler.complete(r.id, { ok: true, completionTokens: 1, cachedTokens: 6400 });
        picked.add(result.kind === 'picked' ? result.endpoints[0]?.key : undefined);
      }
      return picked;
    };
    // Failures after a second (timeouts): endpoint 0 reads 20% errors and loses the ties.
    expect(picksAfter(1000)).toEqual(new Set([eps[1]!.key]));
    // Failures answered at once cost their requests only a retry: still a tie, both are used.
    expect(picksAfter(0)).toEqual(new Set([eps[0]!.key, eps[1]!.key]));
  });

  it('weighs a failure by the time it took, in full from failureCost', () => {
    const plugin = scorer({ learnSpeed: false, failureCost: '2s' });
    for (let n = 0; n < 50; n++) {
      const at = 10_000 + n * 100;
      // One in five fails: at once, after half a second, after 2 s and after 5 s, in turn.
      if (n % 5 === 0) fail(plugin, at, 0, true, [0, 500, 2000, 5000][(n / 5) % 4]!);
      else serve(plugin, at, 0, { ttftMs: 1, tpotMs: 1, tokens: 1 });
    }
    // Ten failures: three instant (0), three at 0.25, two and two in full: (0.75 + 4) / 50 of maxErrorRate 1.
    expect(scores(plugin, 15_000)[0]).toBeCloseTo(1 - (3 * 0.25 + 4) / 50, 9);
  });
});
