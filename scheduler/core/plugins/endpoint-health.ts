// endpoint-health-scorer (Switchyard): learns from what the router observes of each endpoint's requests how fast
// it serves them and how often it fails them, and scores the slow and the failing ones down.
//
// - Speed (`learnSpeed`). For requests that queued behind no other prefill at the pick (by the router's own
//   accounting), the time to first token (pick → first response bytes) per token of their prefill (uncached
//   prompt tokens plus `overheadTokens` for the step they wait for); for every completed streamed request, its
//   time per output token (first token → completion over the tokens after the first) over what the pool's decode
//   pace expects for the load the endpoint carried meanwhile (decode-pace.ts: requests and prompt tokens in
//   flight, prefill that came back there; a fit over every endpoint's requests). Both are averaged per endpoint
//   (EWMA) and divided by the median of its peers' latest averages. The slowness is the time-to-first-token ratio,
//   or once the time per output token is known the smaller of the two ratios: an engine that is slow is slow at
//   both, even for the load it carries; one that is busy with long prompts is slow to first token (the router
//   does not see every prefill chunk queued there) and decodes no slower than its load explains. Up to
//   `slowThreshold` it is tolerated; above, the speed score is slowThreshold / slowness. An endpoint's own
//   averages count only while fresh (`staleAfter`).
// - Errors. The outcomes of the last `errorWindowRequests` requests within `errorWindow` are kept per endpoint
//   (a request is a success when its first bytes arrive, as a proxy counts a response by its status, and a
//   failure when it fails, whether at once or with its stream broken off). A failure weighs what it cost its
//   request: in full once it took `failureCost` from the pick (a timeout, a stream broken off), for the share of
//   it that it took when it came back sooner. A failure answered at once costs its request a retry on another
//   endpoint and nothing that avoiding this one would save, while moving work off an endpoint that serves most
//   of its requests loads the others; one that took seconds cost the user those seconds. The error rate is the
//   weighted failures over the outcomes;
//   with at least `minRequests` of them the error score is 1 − (errorRate − errorRateThreshold) / (maxErrorRate −
//   errorRateThreshold), 1 up to errorRateThreshold and 0 from maxErrorRate on, like Envoy's failure-percentage
//   outlier detection with a minimum request volume, but graded rather than all-or-nothing: a replica failing
//   20% of its requests still serves, it is just picked less. (Taking a replica out of a pool that runs near its
//   KV-cache capacity moves its load onto replicas that then queue.)
//   Outcomes age out, so an endpoint that got no traffic is tried again after `errorWindow`, and one that
//   healed recovers as its new successes replace the failures.
//
// Score = speed score × error score; 1 for every endpoint until something was learned, and for endpoints
// within the tolerance, so equal endpoints are scored equally and the scorer changes no decision among them.
// What it needs from the adapters: `firstToken(id)` when a successful response's first bytes arrive, and
// `complete(id, {ok, completionTokens, endpointError})` when it ends; both faces (HTTP proxy and ext_proc) report
// them.
import { queuedUncachedTokens } from '../state.ts';
import type { PluginSpec } from '../types.ts';
import {
  advanceLoad,
  type EndpointLoad,
  type LoadMark,
  markLoad,
  newEndpointLoad,
  PACE_FEATURES,
  paceFeatures,
  WeightedRidge,
} from './decode-pace.ts';
import { onlyFields, paramReader } from './params.ts';
import type { PickContext, ScorerPlugin } from './plugin.ts';
import { scorer } from './scorers.ts';

const PARAMETERS = [
  'learnSpeed',
  'slowThreshold',
  'minSamples',
  'smoothing',
  'overheadTokens',
  'staleAfter',
  'errorRateThreshold',
  'maxErrorRate',
  'minRequests',
  'errorWindowRequests',
  'errorWindow',
  'failureCost',
  'paceWindowRequests',
];

interface Pending {
  readonly key: string;
  readonly pickedAtMs: number;
  /** Prompt tokens of this request the endpoint has to prefill, by the prefix index at pick time. */
  readonly uncachedTokens: number;
  /** Prompt tokens the endpoint found in its cache, by the same index. */
  readonly cachedTokens: number;
  readonly promptTokens: number;
  /** Whether the router's accounting had other prefill queued at the endpoint when it picked this request. */
  readonly queuedBehind: boolean;
  /** Whether the answer streams; a non-streamed one's first bytes come with its last token. */
  readonly streaming: boolean;
  firstTokenMs: number;
  /** The endpoint's load integrals at the first token. */
  mark: LoadMark | undefined;
}

/** An exponentially weighted mean with its sample count and the time of its last sample. */
interface Ewma {
  value: number;
  samples: number;
  lastMs: number;
}

interface Health {
  readonly ttft: Ewma;
  readonly tpot: Ewma;
  /** Ring of the last outcomes: completion time (ms) and the failure's weight in FAILURE_UNITS (0: a success). */
  readonly outcomeAt: Float64Array;
  readonly outcomeFailed: Uint16Array;
  next: number;
  /**
   * The newest `inWindow` outcomes were within errorWindow at the last look; their failures weigh
   * `failedInWindow`.
   */
  inWindow: number;
  failedInWindow: number;
}

const MAX_PENDING = 100_000;
/** A failure in full, in the integer units outcomes are summed in (exact, so a healed endpoint reads 0 again). */
const FAILURE_UNITS = 1024;
/** Completed requests the pool's decode pace needs before it explains anyone's time per output token. */
const MIN_PACE_SAMPLES = 50;
/** The least time per output token the pace may expect, as a share of the pool's mean (a fit can undershoot). */
const PACE_FLOOR = 0.2;
const MAX_ENDPOINTS = 4096;

export function endpointHealthScorer(spec: PluginSpec): ScorerPlugin {
  onlyFields(spec.name, 'parameters.', spec.parameters, PARAMETERS);
  const params = paramReader(spec.name, spec.parameters);
  const learnSpeed = params.boolean('learnSpeed', true);
  const slowThreshold = params.number('slowThreshold', 2.5, { min: 1 });
  const minSamples = params.number('minSamples', 5, { min: 1, integer: true });
  const smoothing = params.number('smoothing', 0.03, { min: 0.001, max: 1 });
  const overheadTokens = params.number('overheadTokens', 1024, { min: 1 });
  const staleAfterMs = params.number('staleAfter', 60_000, { min: 1, duration: true });
  const errorRateThreshold = params.number('errorRateThreshold', 0, { min: 0, max: 0.999 });
  const maxErrorRate = params.number('maxErrorRate', 1, { min: errorRateThreshold + 0.001 });
  const minRequests = params.number('minRequests', 20, { min: 1, integer: true });
  const windowRequests = params.number('errorWindowRequests', 50, { min: 1, integer: true });
  const errorWindowMs = params.number('errorWindow', 60_000, { min: 1, duration: true });
  const failureCostMs = params.number('failureCost', 1000, { min: 1, duration: true });
  const paceWindow = params.number('paceWindowRequests', 500, { min: 10, integer: true });

  const pending = new Map<string, Pending>();
  const health = new Map<string, Health>();
  const loads = new Map<string, EndpointLoad>();
  const pace = new WeightedRidge(PACE_FEATURES, paceWindow);
  const loadAt = (key: string, nowMs: number): EndpointLoad => {
    let load = loads.get(key);
    if (load === undefined) {
      if (loads.size >= MAX_ENDPOINTS) {
        for (const [k, l] of loads) {
          if (l.inFlight > 0) continue;
          loads.delete(k);
          break;
        }
      }
      load = newEndpointLoad(nowMs);
      loads.set(key, load);
    }
    advanceLoad(load, nowMs);
    return load;
  };
  /** A request leaves its endpoint's load (completed, or forgotten). */
  const leave = (p: Pending, nowMs: number): void => {
    const load = loadAt(p.key, nowMs);
    load.inFlight = Math.max(0, load.inFlight - 1);
    load.promptTokens = Math.max(0, load.promptTokens - p.promptTokens);
  };
  let version = 0;

  const healthOf = (key: string): Health => {
    let h = health.get(key);
    if (h === undefined) {
      if (health.size >= MAX_ENDPOINTS) {
        // Endpoints come and go: forget the one heard from least recently.
        let oldestKey: string | undefined;
        let oldest = Number.POSITIVE_INFINITY;
        for (const [k, v] of health) {
          const last = Math.max(
            v.ttft.lastMs,
            v.tpot.lastMs,
            v.outcomeAt[(v.next + windowRequests - 1) % windowRequests] ?? 0,
          );
          if (last < oldest) {
            oldest = last;
            oldestKey = k;
          }
        }
        if (oldestKey !== undefined) health.delete(oldestKey);
      }
      h = {
        ttft: { value: 0, samples: 0, lastMs: Number.NEGATIVE_INFINITY },
        tpot: { value: 0, samples: 0, lastMs: Number.NEGATIVE_INFINITY },
        outcomeAt: new Float64Array(windowRequests),
        outcomeFailed: new Uint16Array(windowRequests),
        next: 0,
        inWindow: 0,
        failedInWindow: 0,
      };
      health.set(key, h);
    }
    return h;
  };

  const fresh = (e: Ewma, nowMs: number): boolean =>
    e.samples >= minSamples && nowMs - e.lastMs <= staleAfterMs;

  const observe = (e: Ewma, sample: number, nowMs: number): void => {
    e.value = e.samples === 0 ? sample : e.value + smoothing * (sample - e.value);
    e.samples++;
    e.lastMs = nowMs;
    version++;
  };

  /** The pool's latest speed averages, sorted, recomputed after a new sample. */
  let pool: { ttft: Float64Array; tpot: Float64Array; version: number } | undefined;

  const poolAt = (): { ttft: Float64Array; tpot: Float64Array } => {
    if (pool !== undefined && pool.version === version) return pool;
    // The pool's reference takes every endpoint's latest average, fresh or not: an endpoint's own estimate
    // must be recent to count against it, but its peers may have been quiet meanwhile.
    const ttfts: number[] = [];
    const tpots: number[] = [];
    for (const h of health.values()) {
      if (h.ttft.samples >= minSamples) ttfts.push(h.ttft.value);
      if (h.tpot.samples >= minSamples) tpots.push(h.tpot.value);
    }
    const sorted = (values: number[]) => Float64Array.from(values).sort();
    pool = { ttft: sorted(ttfts), tpot: sorted(tpots), version };
    return pool;
  };

  /**
   * Median of the endpoint's peers: the pool's sorted averages without the endpoint's own (`own`, which is one of
   * them). Judged against a median that includes itself, a slow endpoint hides in a small pool: with two
   * averages known, its own and a healthy peer's, a replica 24× slower read 1.9×. NaN without peers.
   */
  const peerMedian = (sorted: Float64Array, own: number): number => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((sorted[mid] as number) < own) lo = mid + 1;
      else hi = mid;
    }
    const skip = lo < sorted.length && sorted[lo] === own ? lo : -1;
    const n = sorted.length - (skip >= 0 ? 1 : 0);
    if (n < 1) return Number.NaN;
    const at = (k: number): number => sorted[skip >= 0 && k >= skip ? k + 1 : k] as number;
    const mid = n >> 1;
    return n % 2 === 1 ? at(mid) : (at(mid - 1) + at(mid)) / 2;
  };

  /**
   * Slowness of an endpoint over its peers' median (1 when unknown): its time-to-first-token ratio, or, once its
   * time per output token is known too, the smaller of the two ratios. An engine that is slow (a degraded GPU, a
   * throttled node) is slow both to first token and between tokens; one that is busy with long prompts or long
   * contexts is slow in one of them at a time.
   */
  const slownessOf = (h: Health, nowMs: number): number => {
    if (!learnSpeed || !fresh(h.ttft, nowMs)) return 1;
    const p = poolAt();
    const ttftPeers = peerMedian(p.ttft, h.ttft.value);
    if (!(ttftPeers > 0)) return 1;
    const ttft = h.ttft.value / ttftPeers;
    const tpotPeers = fresh(h.tpot, nowMs) ? peerMedian(p.tpot, h.tpot.value) : Number.NaN;
    const tpot = tpotPeers > 0 ? h.tpot.value / tpotPeers : Number.POSITIVE_INFINITY;
    return Math.max(1, Math.min(ttft, tpot));
  };

  /** Records an outcome: a failure's weight in FAILURE_UNITS, 0 for a success. */
  const recordOutcome = (h: Health, failureWeight: number, nowMs: number): void => {
    if (h.inWindow === windowRequests) {
      // The ring is full of outcomes within the window: the one overwritten leaves it.
      h.failedInWindow -= h.outcomeFailed[h.next] ?? 0;
      h.inWindow--;
    }
    h.outcomeAt[h.next] = nowMs;
    h.outcomeFailed[h.next] = failureWeight;
    h.next = (h.next + 1) % windowRequests;
    h.inWindow++;
    h.failedInWindow += failureWeight;
  };

  /** Weighted failed fraction of the endpoint's recent outcomes; 0 below the minimum request volume. */
  const errorRateOf = (h: Health, nowMs: number): number => {
    // Outcomes are kept in completion order, so the ones within the window are the newest: drop the oldest of
    // them while they have aged out (each outcome leaves once, so a pick costs O(1) on average).
    while (h.inWindow > 0) {
      const oldest = (h.next - h.inWindow + windowRequests) % windowRequests;
      if (nowMs - (h.outcomeAt[oldest] ?? 0) <= errorWindowMs) break;
      h.failedInWindow -= h.outcomeFailed[oldest] ?? 0;
      h.inWindow--;
    }
    return h.inWindow < minRequests ? 0 : h.failedInWindow / (FAILURE_UNITS * h.inWindow);
  };

  const scoreOf = (key: string, nowMs: number): number => {
    const h = health.get(key);
    if (h === undefined) return 1;
    const slowness = slownessOf(h, nowMs);
    const speed = slowness <= slowThreshold ? 1 : slowThreshold / slowness;
    const excess = errorRateOf(h, nowMs) - errorRateThreshold;
    const errors = excess <= 0 ? 1 : 1 - Math.min(1, excess / (maxErrorRate - errorRateThreshold));
    return speed * errors;
  };

  return scorer(spec, {
    score(context: PickContext, out: Float64Array) {
      context.candidates.forEach((e, i) => {
        out[i] = scoreOf(e.key, context.nowMs);
      });
    },
    picked(context: PickContext, chosen: number) {
      const endpoint = context.candidates[chosen];
      if (endpoint === undefined) return;
      const prompt = context.request.promptTokens.length;
      const match = context.prefix();
      const cached = match === undefined ? 0 : (match.matchedBlocks[chosen] ?? 0) * match.blockSize;
      const state = context.states[chosen];
      const own = prompt - Math.min(prompt, cached);
      // The scheduler recorded this request before telling the scorers: what is queued includes it.
      const queued = state === undefined ? own : queuedUncachedTokens(state, endpoint);
      const p: Pending = {
        key: endpoint.key,
        pickedAtMs: context.nowMs,
        uncachedTokens: own,
        cachedTokens: Math.min(prompt, cached),
        promptTokens: prompt,
        queuedBehind: queued > own,
        streaming: context.request.streaming !== false,
        firstTokenMs: -1,
        mark: undefined,
      };
      const previous = pending.get(context.request.id);
      if (previous !== undefined) leave(previous, context.nowMs);
      pending.set(context.request.id, p);
      const load = loadAt(endpoint.key, context.nowMs);
      load.inFlight++;
      load.promptTokens += prompt;
      if (pending.size > MAX_PENDING) {
        // Completions that never came (a broken adapter): forget the oldest.
        for (const [id, old] of pending) {
          leave(old, context.nowMs);
          pending.delete(id);
          if (pending.size <= MAX_PENDING) break;
        }
      }
    },
    firstToken(requestId, endpointKey, nowMs) {
      const p = pending.get(requestId);
      if (p === undefined || p.key !== endpointKey || p.firstTokenMs >= 0) return;
      p.firstTokenMs = nowMs;
      // The endpoint answered: a success as of now. Counting it only when a long stream ends would weigh the
      // failures, which come back at once, against the successes of a minute before (the error rate of a
      // replica failing 20% of its requests then reads 70% while its traffic grows).
      recordOutcome(healthOf(endpointKey), 0, nowMs);
      if (p.streaming) {
        const load = loadAt(endpointKey, nowMs);
        load.prefilledTokens += p.uncachedTokens;
        load.prefilledAttention += p.uncachedTokens * (p.cachedTokens + p.uncachedTokens / 2);
        p.mark = markLoad(load);
      }
      // Only requests that queued behind nobody: their time to first token is the engine's own pace (one step
      // plus their prefill), not how much work others sent there.
      if (p.queuedBehind || !p.streaming) return;
      const ttft = Math.max(0, nowMs - p.pickedAtMs);
      observe(healthOf(endpointKey).ttft, ttft / (p.uncachedTokens + overheadTokens), nowMs);
    },
    completed(requestId, endpointKey, nowMs, ok, completion) {
      const p = pending.get(requestId);
      if (p === undefined || p.key !== endpointKey) return;
      pending.delete(requestId);
      leave(p, nowMs);
      const failed = completion?.endpointError ?? !ok;
      // A request whose first bytes came back was counted a success then; only a failure after them (the
      // stream broke) is another outcome. An end that says nothing about the endpoint (client cancel, 4xx) is
      // not an outcome.
      if (failed || (ok && p.firstTokenMs < 0)) {
        const cost = failed ? Math.min(1, Math.max(0, nowMs - p.pickedAtMs) / failureCostMs) : 0;
        recordOutcome(healthOf(endpointKey), Math.round(FAILURE_UNITS * cost), nowMs);
      }
      const tokens = completion?.completionTokens ?? 0;
      if (ok && p.streaming && p.mark !== undefined && tokens >= 2) {
        const duration = nowMs - p.firstTokenMs;
        const x = paceFeatures(loadAt(endpointKey, nowMs), p.mark, duration, tokens - 1);
        const tpot = duration / (tokens - 1);
        pace.add(x, tpot);
        // What the pool's pace says this request's load explains; the endpoint's share beyond it is its own.
        if (pace.samples >= MIN_PACE_SAMPLES) {
          const expected = Math.max(pace.predict(x), PACE_FLOOR * pace.mean());
          if (expected > 0) observe(healthOf(endpointKey).tpot, tpot / expected, nowMs);
        }
      }
    },
  });
}
