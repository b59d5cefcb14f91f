// Scorers. Each writes one score in [0, 1] per candidate; formulas follow llm-d's endpoint picker unless the
// comment says the scorer is Switchyard's own.
import {
  picksSinceScrape,
  queuedUncachedTokens,
  uncachedTokensSinceScrape,
  waitingRequestsSeen,
  type EndpointState,
} from '../state.ts';
import type { Endpoint, EndpointMetrics, PluginSpec } from '../types.ts';
import { paramReader } from './params.ts';
import type { PickContext, ScorerPlugin } from './plugin.ts';

/** What a scorer implements: `score`, and the lifecycle hooks it needs. */
export type ScorerHooks = Omit<ScorerPlugin, 'kind' | 'type' | 'name' | 'usesPrefix'>;

/**
 * A scorer plugin named by its spec, from its score function or its hooks; `usesPrefix` asks the scheduler to
 * hash prompts and keep the index.
 */
export function scorer(
  spec: PluginSpec,
  hooks: ScorerHooks | ScorerPlugin['score'],
  options: { usesPrefix?: boolean } = {},
): ScorerPlugin {
  const own: ScorerHooks = typeof hooks === 'function' ? { score: hooks } : hooks;
  return {
    kind: 'scorer',
    type: spec.type,
    name: spec.name,
    usesPrefix: options.usesPrefix ?? false,
    ...own,
  };
}

/** (max − v)/(max − min) over the candidates; every candidate gets 1 when all values are equal. */
export function minMaxLowIsBest(values: Float64Array, out: Float64Array): void {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const range = max - min;
  for (let i = 0; i < values.length; i++) out[i] = range > 0 ? (max - (values[i] ?? 0)) / range : 1;
}

/** A load value read from the last scrape, optionally plus the requests picked since (Switchyard). */
function scrapedLoad(
  context: PickContext,
  read: (metrics: EndpointMetrics) => number,
  includeLocal: boolean,
): Float64Array {
  const values = new Float64Array(context.candidates.length);
  context.candidates.forEach((endpoint, i) => {
    const scraped = endpoint.metrics === undefined ? 0 : read(endpoint.metrics);
    const state = context.states[i];
    values[i] = includeLocal && state !== undefined ? scraped + picksSinceScrape(state, endpoint) : scraped;
  });
  return values;
}

/** Min-max over a scraped load value. `includePicksSinceScrape` is Switchyard's anti-herding term. */
function minMaxScrapedScorer(spec: PluginSpec, read: (metrics: EndpointMetrics) => number): ScorerPlugin {
  const includeLocal = paramReader(spec.name, spec.parameters).boolean('includePicksSinceScrape', false);
  return scorer(spec, (context, out) => {
    minMaxLowIsBest(scrapedLoad(context, read, includeLocal), out);
  });
}

/** queue-scorer: min-max over the waiting queue. */
export function queueScorer(spec: PluginSpec): ScorerPlugin {
  return minMaxScrapedScorer(spec, (m) => m.waitingRequests);
}

/** running-requests-size-scorer: min-max over running requests. */
export function runningRequestsScorer(spec: PluginSpec): ScorerPlugin {
  return minMaxScrapedScorer(spec, (m) => m.runningRequests);
}

/**
 * kv-cache-utilization-scorer: 1 − KV-cache usage (endpoints without metrics count as empty). With
 * `includePicksSinceScrape` (Switchyard) the uncached prompt tokens of requests picked since the scrape are
 * added to the usage, as a fraction of the reported capacity.
 */
export function kvCacheUtilizationScorer(spec: PluginSpec): ScorerPlugin {
  const includeLocal = paramReader(spec.name, spec.parameters).boolean('includePicksSinceScrape', false);
  return scorer(spec, (context, out) => {
    context.candidates.forEach((e, i) => {
      let usage = e.metrics?.kvCacheUsage ?? 0;
      const state = context.states[i];
      const capacity = (e.metrics?.kvCacheCapacityBlocks ?? 0) * (e.metrics?.kvBlockSize ?? 0);
      if (includeLocal && state !== undefined && capacity > 0) {
        usage += uncachedTokensSinceScrape(state, e) / capacity;
      }
      out[i] = 1 - Math.min(1, Math.max(0, usage));
    });
  });
}

/** load-aware-scorer: 0.5 when idle, falling linearly to 0 at `threshold` waiting requests. */
export function loadAwareScorer(spec: PluginSpec): ScorerPlugin {
  const threshold = paramReader(spec.name, spec.parameters).number('threshold', 128, { min: 1 });
  return scorer(spec, (context, out) => {
    context.candidates.forEach((e, i) => {
      const q = e.metrics?.waitingRequests ?? 0;
      out[i] = q <= 0 ? 0.5 : q >= threshold ? 0 : 0.5 * (1 - q / threshold);
    });
  });
}

/**
 * active-request-scorer: local in-flight counts. count ≤ idleThreshold → 1; otherwise
 * (max − count)/max · maxBusyScore with max the largest count among the candidates. With
 * `normalization: min-max` (Switchyard) it is (max − count)/(max − min) instead, which stays decisive when every
 * endpoint is busy.
 */
export function activeRequestScorer(spec: PluginSpec): ScorerPlugin {
  const params = paramReader(spec.name, spec.parameters);
  const idleThreshold = params.number('idleThreshold', 0, { min: 0 });
  const maxBusyScore = params.number('maxBusyScore', 1, { min: 0, max: 1 });
  const minMax = params.string('normalization', 'max', ['max', 'min-max']) === 'min-max';
  return scorer(spec, (context, out) => {
    if (minMax) {
      minMaxLowIsBest(
        Float64Array.from(context.states, (s) => s.inFlightRequests),
        out,
      );
      return;
    }
    let max = 0;
    for (const state of context.states) max = Math.max(max, state.inFlightRequests);
    context.states.forEach((state, i) => {
      const count = state.inFlightRequests;
      out[i] = count <= idleThreshold ? 1 : ((max - count) / max) * maxBusyScore;
    });
  });
}

/**
 * token-load-scorer: 1 − min(1, in-flight tokens / queueThresholdTokens), the in-flight tokens being what
 * llm-d's inflight-load-producer counts: the uncached prompt tokens of unfinished requests.
 */
export function tokenLoadScorer(spec: PluginSpec): ScorerPlugin {
  const threshold = paramReader(spec.name, spec.parameters).number('queueThresholdTokens', 4_194_304, {
    min: 1,
  });
  return scorer(spec, (context, out) => {
    context.states.forEach((state, i) => {
      out[i] = 1 - Math.min(1, state.inFlightUncachedTokens / threshold);
    });
  });
}

/**
 * prefix-cache-scorer: w·min(1, matchedTokens/matchLengthScaleTokens)² + (1 − w)·matchedBlocks/totalBlocks,
 * with w = matchLengthWeight (default 0: the plain matched fraction).
 */
export function prefixCacheScorer(spec: PluginSpec): ScorerPlugin {
  const params = paramReader(spec.name, spec.parameters);
  const w = params.number('matchLengthWeight', 0, { min: 0, max: 1 });
  const scale = params.number('matchLengthScaleTokens', 8192, { min: 1 });
  return scorer(
    spec,
    (context, out) => {
      const prefix = context.prefix();
      const total = prefix?.hashes.length ?? 0;
      for (let i = 0; i < out.length; i++) {
        if (prefix === undefined || total === 0) {
          out[i] = 0;
          continue;
        }
        const blocks = prefix.matchedBlocks[i] ?? 0;
        const lengthTerm = Math.min(1, (blocks * prefix.blockSize) / scale) ** 2;
        out[i] = w * lengthTerm + (1 - w) * (blocks / total);
      }
    },
    { usesPrefix: true },
  );
}

/** lora-affinity-scorer: adapter active 1.0; free adapter slot 0.8; adapter waiting 0.6; otherwise 0. */
export function loraAffinityScorer(spec: PluginSpec): ScorerPlugin {
  return scorer(spec, (context, out) => {
    const model = context.request.model;
    for (let i = 0; i < out.length; i++) {
      const metrics = context.candidates[i]?.metrics;
      if (metrics === undefined || metrics.maxLoras === 0) out[i] = 1;
      else if (metrics.activeLoras.includes(model)) out[i] = 1;
      else if (metrics.activeLoras.length < metrics.maxLoras) out[i] = 0.8;
      else if (metrics.waitingLoras.includes(model)) out[i] = 0.6;
      else out[i] = 0;
    }
  });
}

/**
 * session-affinity-scorer (session_id strategy): the endpoint that last served the session scores 1, others
 * 0. Bindings expire after `ttlMs` without use.
 */
export function sessionAffinityScorer(spec: PluginSpec): ScorerPlugin {
  const ttlMs = paramReader(spec.name, spec.parameters).number('ttlMs', 300_000, { min: 1, duration: true });
  const maxSessions = 100_000;
  const bindings = new Map<string, { key: string; usedAtMs: number }>();
  return scorer(spec, {
    score(context, out) {
      const session = context.request.sessionId;
      const binding = session === undefined ? undefined : bindings.get(session);
      const live = binding !== undefined && context.nowMs - binding.usedAtMs <= ttlMs ? binding : undefined;
      for (let i = 0; i < out.length; i++)
        out[i] = live !== undefined && live.key === context.candidates[i]?.key ? 1 : 0;
    },
    picked(context, chosen) {
      const { request, nowMs } = context;
      const endpoint = context.candidates[chosen];
      if (request.sessionId === undefined || endpoint === undefined) return;
      bindings.delete(request.sessionId);
      bindings.set(request.sessionId, { key: endpoint.key, usedAtMs: nowMs });
      // Oldest bindings go first; also bounds memory under a flood of one-off session ids.
      for (const [session, b] of bindings) {
        if (bindings.size <= maxSessions && nowMs - b.usedAtMs <= ttlMs) break;
        bindings.delete(session);
      }
    },
  });
}

/** Where a picked request sits in its endpoint's prefill bucket. */
interface PrefillCharge {
  readonly key: string;
  readonly startMs: number;
  readonly endMs: number;
  /** Prefill work in prompt tokens at the linear rate, attention included. */
  readonly work: number;
  /** Still counted in its endpoint's work awaiting a first token. */
  awaitingFirstToken: boolean;
}

/**
 * prefill-load-scorer (Switchyard): estimated time-to-first-token in prompt tokens. For each candidate,
 * cost = prompt tokens it still has to prefill for earlier requests (the largest of: local accounting
 * reconciled with the last scrape; a bucket draining at `prefillTokensPerSecond`; `awaitingFirstTokenWeight` ×
 * the work of streamed requests picked there whose first token has not come back) + `uncachedTokenWeight` ×
 * this request's uncached tokens there (prompt − indexed prefix; a weight above 1 also charges the KV memory a
 * cache miss takes from other prefixes) + `decodeTokenCost` per in-flight request (decode steps slow down
 * prefill). Score = (min cost + s)/(cost + s), s = `smoothingTokens`: the cheapest candidate scores 1 and a
 * candidate twice as costly about one half.
 */
export function prefillLoadScorer(spec: PluginSpec): ScorerPlugin {
  const params = paramReader(spec.name, spec.parameters);
  const decodeTokenCost = params.number('decodeTokenCost', 64, { min: 0 });
  const uncachedWeight = params.number('uncachedTokenWeight', 1, { min: 0 });
  const outputTokenCost = params.number('outputTokenCost', 0, { min: 0 });
  const prefillRate = params.number('prefillTokensPerSecond', 0, { min: 0 });
  const queuedRequestCost = params.number('queuedRequestCost', 0, { min: 0 });
  const awaitingWeight = params.number('awaitingFirstTokenWeight', 0, { min: 0 });
  const countAwaiting = awaitingWeight > 0;
  /** With a prefill rate: per endpoint key, when its assigned prefill work would be done (ms). */
  const drainsAt = new Map<string, number>();
  /** Where each picked request sits in its endpoint's bucket, so an early end can be refunded. */
  const charged = new Map<string, PrefillCharge>();
  /**
   * Per endpoint key: prefill work of the picked requests whose first token has not come back yet. Unlike the
   * bucket, it is observed rather than modelled: an endpoint slower than prefillTokensPerSecond (a throttled
   * GPU, a noisy neighbour) keeps it high for as long as it really takes.
   */
  const awaiting = new Map<string, number>();
  const settle = (charge: PrefillCharge): void => {
    if (!charge.awaitingFirstToken) return;
    charge.awaitingFirstToken = false;
    const left = (awaiting.get(charge.key) ?? 0) - charge.work;
    if (left > 1e-6) awaiting.set(charge.key, left);
    else awaiting.delete(charge.key);
  };
  const queued = (context: PickContext, state: EndpointState, endpoint: Endpoint): number => {
    const scraped = queuedUncachedTokens(state, endpoint);
    if (prefillRate === 0) return scraped;
    const drain = drainsAt.get(endpoint.key) ?? 0;
    const bucket = (Math.max(0, drain - context.nowMs) * prefillRate) / 1000;
    return Math.max(bucket, scraped, awaitingWeight * (awaiting.get(endpoint.key) ?? 0));
  };
  const smoothing = params.number('smoothingTokens', 256, { min: 1 });
  const attentionMs = params.number('prefillAttentionMsPerTokenContext', 0, { min: 0 });
  /** Prefill work in prompt tokens at the linear rate, attention over the context included. */
  const prefillWork = (uncached: number, cached: number): number =>
    prefillRate === 0 || attentionMs === 0
      ? uncached
      : uncached + ((attentionMs * prefillRate) / 1000) * uncached * (cached + uncached / 2);
  return scorer(
    spec,
    {
      score(context, out) {
        const prefix = context.prefix();
        const promptTokens = context.request.promptTokens.length;
        let min = Number.POSITIVE_INFINITY;
        for (let i = 0; i < out.length; i++) {
          const state = context.states[i];
          const endpoint = context.candidates[i];
          if (state === undefined || endpoint === undefined) continue;
          const cached = prefix === undefined ? 0 : (prefix.matchedBlocks[i] ?? 0) * prefix.blockSize;
          const own = prefillWork(Math.max(0, promptTokens - cached), cached);
          const cost =
            queued(context, state, endpoint) +
            uncachedWeight * own +
            decodeTokenCost * state.inFlightRequests +
            (queuedRequestCost === 0 ? 0 : queuedRequestCost * waitingRequestsSeen(state, endpoint)) +
            outputTokenCost * state.inFlightOutputTokens;
          out[i] = cost;
          if (cost < min) min = cost;
        }
        for (let i = 0; i < out.length; i++) out[i] = (min + smoothing) / ((out[i] ?? 0) + smoothing);
      },
      picked(context, chosen) {
        const endpoint = context.candidates[chosen];
        if (prefillRate === 0 || endpoint === undefined) return;
        // The decode endpoint of a disaggregated request receives the prompt's KV cache: its prefill is charged
        // to the prefill endpoint, picked just before (the scheduler records the request before telling us).
        const record = context.states[chosen]?.records.at(-1);
        if (record?.requestId === context.request.id && record.prefill !== undefined) return;
        const prefix = context.prefix();
        const cached = prefix === undefined ? 0 : (prefix.matchedBlocks[chosen] ?? 0) * prefix.blockSize;
        const uncached = Math.max(0, context.request.promptTokens.length - cached);
        const start = Math.max(drainsAt.get(endpoint.key) ?? 0, context.nowMs);
        const work = prefillWork(uncached, cached);
        const end = start + (work / prefillRate) * 1000;
        drainsAt.set(endpoint.key, end);
        const previous = charged.get(context.request.id);
        if (previous !== undefined) settle(previous);
        // A non-streamed answer's first bytes come after its decode: they say nothing about the prefill.
        const awaitingFirstToken = countAwaiting && context.request.streaming !== false;
        charged.delete(context.request.id);
        charged.set(context.request.id, {
          key: endpoint.key,
          startMs: start,
          endMs: end,
          work,
          awaitingFirstToken,
        });
        if (awaitingFirstToken) awaiting.set(endpoint.key, (awaiting.get(endpoint.key) ?? 0) + work);
        if (charged.size > 100_000) {
          // Completions that never came (a broken adapter): forget the oldest charges.
          for (const [id, charge] of charged) {
            settle(charge);
            charged.delete(id);
            if (charged.size <= 100_000) break;
          }
        }
        if (drainsAt.size > 4096) {
          // Endpoints come and go: drop the ones whose bucket is empty anyway.
          for (const [key, drain] of drainsAt) if (drain <= context.nowMs) drainsAt.delete(key);
        }
      },
      completed(requestId, endpointKey, nowMs, ok) {
        const charge = charged.get(requestId);
        // A disaggregated request ends once per endpoint; its charge is the prefill endpoint's.
        if (charge === undefined || charge.key !== endpointKey) return;
        charged.delete(requestId);
        settle(charge);
        if (ok) return;
        // The request ended early (rejected by the engine, failed, cancelled): whatever of its prefill the
        // bucket still holds will not run. Later work moves up by that much.
        const left = charge.endMs - Math.max(nowMs, charge.startMs);
        const drain = drainsAt.get(endpointKey);
        if (left <= 0 || drain === undefined) return;
        drainsAt.set(endpointKey, Math.max(nowMs, drain - left));
      },
      // Wherever the first token comes from (the decode endpoint, after a remote prefill), the prefill is done.
      firstToken(requestId) {
        const charge = charged.get(requestId);
        if (charge !== undefined) settle(charge);
      },
    },
    { usesPrefix: true },
  );
}
