// Summaries of one benchmark run: latency percentiles, throughput, failures and token-weighted prefix hits over
// the measured requests, and the knee of a rate ladder.

import type { RequestOutcome } from '../sim/virtual-cluster.ts';

export interface RunSummary {
  readonly policy: string;
  readonly rate: number;
  readonly ttft: { readonly p50: number; readonly p90: number; readonly p99: number; readonly mean: number };
  readonly tpot: { readonly p90: number };
  readonly e2e: { readonly p50: number; readonly p90: number };
  readonly outputTokensPerSecond: number;
  readonly requestsPerSecond: number;
  readonly rejected: number;
  readonly failed: number;
  readonly prefixHitRate: number;
}

/** Figures printed in the table but not part of the JSON report. */
export interface RunExtras {
  readonly ttftMean: number;
  readonly completed: number;
  /** Largest share of measured requests that went to one replica. */
  readonly busiestReplicaShare: number;
  /** Share of consecutive measured arrivals sent to the same replica as the one before (herding; 1/N when spread). */
  readonly repeatPickShare: number;
  /** Requests the engines preempted (KV cache full) while the run played. */
  readonly preemptions: number;
  /** Highest KV-cache usage any replica published while the run's requests were arriving. */
  readonly peakKvCacheUsage: number;
}

/** Percentile with linear interpolation between closest ranks (numpy's default); NaN for no samples. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (p / 100) * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const low = sorted[lower] as number;
  return low + ((sorted[upper] as number) - low) * (position - lower);
}

const round = (value: number, digits: number): number => {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
};

/**
 * What the cluster generated inside the measurement window (all requests, warm-up ones included), and what its
 * engines reported while the run played.
 */
export interface WindowCounts {
  readonly outputTokens: number;
  readonly seconds: number;
  readonly preemptions: number;
  readonly peakKvCacheUsage: number;
}

/**
 * Latencies, failures, hits and requests/s come from the measured requests (requests/s: completed ones over
 * the time from the first measured arrival to the last measured completion, as `vllm bench serve` counts
 * it). Output tokens/s is the cluster's generation rate inside the measurement window, the steady-state
 * figure `rate(vllm:generation_tokens_total)` would show: with outputs that take longer than the run, a
 * count over completed requests would mostly measure the drain.
 */
export function summarize(
  policy: string,
  rate: number,
  outcomes: readonly RequestOutcome[],
  replicas: number,
  window: WindowCounts,
): { summary: RunSummary; extras: RunExtras } {
  const ok = outcomes.filter((o) => o.status === 'ok');
  const ttfts = ok.map((o) => (o.firstTokenMs - o.arrivalMs) / 1000).sort((a, b) => a - b);
  const e2es = ok.map((o) => (o.endMs - o.arrivalMs) / 1000).sort((a, b) => a - b);
  const tpots = ok
    .filter((o) => o.outputTokens > 1)
    .map((o) => (o.endMs - o.firstTokenMs) / 1000 / (o.outputTokens - 1))
    .sort((a, b) => a - b);
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  for (const o of outcomes) start = Math.min(start, o.arrivalMs);
  for (const o of ok) end = Math.max(end, o.endMs);
  const runSeconds = (end - start) / 1000;
  let promptTokens = 0;
  let cachedTokens = 0;
  for (const o of ok) {
    promptTokens += o.promptTokens;
    cachedTokens += o.cachedTokens;
  }
  const perReplica = new Array<number>(replicas).fill(0);
  for (const o of outcomes) if (o.replica >= 0) perReplica[o.replica] = (perReplica[o.replica] as number) + 1;
  const routed = perReplica.reduce((a, b) => a + b, 0);
  const summary: RunSummary = {
    policy,
    rate,
    ttft: {
      p50: round(percentile(ttfts, 50), 4),
      p90: round(percentile(ttfts, 90), 4),
      p99: round(percentile(ttfts, 99), 4),
      mean: ttfts.length > 0 ? round(ttfts.reduce((a, b) => a + b, 0) / ttfts.length, 4) : Number.NaN,
    },
    tpot: { p90: round(percentile(tpots, 90), 5) },
    e2e: { p50: round(percentile(e2es, 50), 4), p90: round(percentile(e2es, 90), 4) },
    outputTokensPerSecond: window.seconds > 0 ? round(window.outputTokens / window.seconds, 1) : 0,
    requestsPerSecond: ok.length > 0 && runSeconds > 0 ? round(ok.length / runSeconds, 3) : 0,
    rejected: outcomes.filter((o) => o.status === 'rejected').length,
    failed: outcomes.filter((o) => o.status === 'failed').length,
    prefixHitRate: promptTokens > 0 ? round(cachedTokens / promptTokens, 4) : 0,
  };
  const routedInArrivalOrder = outcomes
    .filter((o) => o.replica >= 0)
    .sort((a, b) => a.arrivalMs - b.arrivalMs || a.id.localeCompare(b.id));
  let repeats = 0;
  for (let i = 1; i < routedInArrivalOrder.length; i++) {
    if (routedInArrivalOrder[i]?.replica === routedInArrivalOrder[i - 1]?.replica) repeats++;
  }
  const extras: RunExtras = {
    ttftMean: summary.ttft.mean,
    completed: ok.length,
    busiestReplicaShare: routed > 0 ? round(Math.max(...perReplica) / routed, 3) : 0,
    repeatPickShare:
      routedInArrivalOrder.length > 1 ? round(repeats / (routedInArrivalOrder.length - 1), 3) : 0,
    preemptions: window.preemptions,
    peakKvCacheUsage: window.peakKvCacheUsage,
  };
  return { summary, extras };
}

/**
 * The knee of a rate ladder: the highest rate up to which every rate kept TTFT p90 at or under the SLO
 * (0 when even the lowest rate missed it). Rates are taken in increasing order.
 */
export function kneeRate(results: readonly RunSummary[], sloSeconds: number): number {
  let knee = 0;
  for (const result of [...results].sort((a, b) => a.rate - b.rate)) {
    if (!(result.ttft.p90 <= sloSeconds)) break;
    knee = result.rate;
  }
  return knee;
}

/** Figures of the requests of one priority (one InferenceObjective) in a run. */
export interface PrioritySummary {
  readonly priority: number;
  readonly offered: number;
  readonly completed: number;
  /** Rejected by the router (429/503). */
  readonly rejected: number;
  readonly failed: number;
  readonly ttft: { readonly p50: number; readonly p90: number };
}

export function summarizeByPriority(outcomes: readonly RequestOutcome[]): PrioritySummary[] {
  const priorities = [...new Set(outcomes.map((o) => o.priority))].sort((a, b) => b - a);
  return priorities.map((priority) => {
    const mine = outcomes.filter((o) => o.priority === priority);
    const ok = mine.filter((o) => o.status === 'ok');
    const ttfts = ok.map((o) => (o.firstTokenMs - o.arrivalMs) / 1000).sort((a, b) => a - b);
    return {
      priority,
      offered: mine.length,
      completed: ok.length,
      rejected: mine.filter((o) => o.status === 'rejected').length,
      failed: mine.filter((o) => o.status === 'failed').length,
      ttft: { p50: round(percentile(ttfts, 50), 4), p90: round(percentile(ttfts, 90), 4) },
    };
  });
}
