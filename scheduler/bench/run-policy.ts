// One policy on one run of a workload: a fresh scheduler from the policy's configuration (a preset, or a
// config as a chart deploys it), a fresh simulated cluster, the same seeded randomness for every policy.

import { createScheduler, policyPresets, type PolicyName, type SchedulerConfig } from '../core/index.ts';
import type { EngineProfile } from '../sim/profiles.ts';
import { createRandom } from '../sim/random.ts';
import {
  createVirtualCluster,
  runVirtualCluster,
  type VirtualClusterOptions,
  type VirtualClusterResult,
  type VirtualRequest,
} from '../sim/virtual-cluster.ts';
import type { BenchRun } from './requests.ts';
import {
  summarize,
  summarizeByPriority,
  type PrioritySummary,
  type RunExtras,
  type RunSummary,
} from './stats.ts';
import type { Workload } from './workload.ts';

export interface PolicyRunResult {
  readonly summary: RunSummary;
  readonly extras: RunExtras;
  readonly cluster: VirtualClusterResult;
  /** The measured requests' figures per priority (InferenceObjective). */
  readonly byPriority: readonly PrioritySummary[];
}

function clusterOptions(
  config: SchedulerConfig,
  workload: Workload,
  profile: EngineProfile,
  clock: { nowMs: number },
): VirtualClusterOptions {
  return {
    profile,
    replicas: workload.replicas,
    router: newScheduler(config, workload, clock),
    // A policy with a flowControl section queues arrivals in the router, as the router service does.
    flowControl: config.flowControl !== undefined,
    clock,
    scrapeIntervalMs: workload.scrapeIntervalMs ?? 50,
    metricsDelayMs: workload.metricsDelayMs ?? 0,
    requestTimeoutMs: (workload.requestTimeoutSeconds ?? 300) * 1000,
    ...faultOptions(workload),
  };
}

/** The workload's degraded replicas as cluster options. */
function faultOptions(workload: Workload): Partial<VirtualClusterOptions> {
  const faults = workload.faults;
  if (faults === undefined) return {};
  const perReplica = (entries: readonly { replica: number }[] | undefined, value: (i: number) => number) =>
    entries === undefined ? undefined : Array.from({ length: workload.replicas }, (_, i) => value(i));
  const slowdowns = perReplica(
    faults.slowReplicas,
    (i) => faults.slowReplicas?.find((f) => f.replica === i)?.slowdown ?? 1,
  );
  const errorRates = perReplica(
    faults.errorReplicas,
    (i) => faults.errorReplicas?.find((f) => f.replica === i)?.errorRate ?? 0,
  );
  return {
    ...(slowdowns === undefined ? {} : { slowdowns }),
    ...(errorRates === undefined ? {} : { errorRates, faultSeed: workload.seed }),
    ...(faults.retries === undefined ? {} : { retries: faults.retries }),
  };
}

function newScheduler(config: SchedulerConfig, workload: Workload, clock: { nowMs: number }) {
  const random = createRandom(workload.seed);
  return createScheduler(config, { now: () => clock.nowMs, random: random.next });
}

/**
 * A staged workload on one cluster and one router, as inference-perf runs it: the warm-up stage, then each
 * stage in order, starting `intervalMs` after the previous one drained. A stage's throughput is its requests'
 * output tokens over the time from its start to its last completion.
 */
export interface StagedRunResult {
  readonly stages: readonly PolicyRunResult[];
  /** The whole run, warm-up, pauses and drains included: what a run-level summary divides by. */
  readonly total: { readonly outputTokens: number; readonly seconds: number };
}

export function runStages(
  policy: PolicyName,
  warmup: BenchRun | undefined,
  runs: readonly BenchRun[],
  intervalMs: number,
  workload: Workload,
  profile: EngineProfile,
): StagedRunResult {
  const clock = { nowMs: 0 };
  const cluster = createVirtualCluster(clusterOptions(policyPresets[policy], workload, profile, clock));
  const shift = (requests: readonly VirtualRequest[], startMs: number): VirtualRequest[] =>
    requests.map((request) => ({ ...request, arrivalMs: request.arrivalMs + startMs }));
  let outputTokens = 0;
  if (warmup !== undefined) outputTokens += cluster.play(shift(warmup.requests, 0)).windowOutputTokens;
  const stages = runs.map((run) => {
    const startMs = cluster.nowMs + (warmup === undefined && cluster.nowMs === 0 ? 0 : intervalMs);
    const result = cluster.play(shift(run.requests, startMs), { startMs, endMs: Number.POSITIVE_INFINITY });
    outputTokens += result.windowOutputTokens;
    const { summary, extras } = summarize(policy, run.rate, result.outcomes, workload.replicas, {
      outputTokens: result.windowOutputTokens,
      seconds: (result.endMs - startMs) / 1000,
      preemptions: result.preemptions,
      peakKvCacheUsage: result.peakKvCacheUsage,
    });
    return { summary, extras, cluster: result, byPriority: summarizeByPriority(result.outcomes) };
  });
  return { stages, total: { outputTokens, seconds: cluster.nowMs / 1000 } };
}

export function runPolicy(
  policy: PolicyName,
  run: BenchRun,
  workload: Workload,
  profile: EngineProfile,
): PolicyRunResult {
  return runConfig(policy, policyPresets[policy], run, workload, profile);
}

/** One run under a scheduler configuration, reported under `label` (the routing preview replays charts' configs). */
export function runConfig(
  label: string,
  config: SchedulerConfig,
  run: BenchRun,
  workload: Workload,
  profile: EngineProfile,
): PolicyRunResult {
  const clock = { nowMs: 0 };
  const cluster = runVirtualCluster(run.requests, {
    ...clusterOptions(config, workload, profile, clock),
    window: run.window,
  });
  const measured = new Set(run.requests.slice(run.measuredFrom).map((request) => request.id));
  const outcomes = cluster.outcomes.filter((outcome) => measured.has(outcome.id));
  const { summary, extras } = summarize(label, run.rate, outcomes, workload.replicas, {
    outputTokens: cluster.windowOutputTokens,
    seconds: (run.window.endMs - run.window.startMs) / 1000,
    preemptions: cluster.preemptions,
    peakKvCacheUsage: cluster.peakKvCacheUsage,
  });
  return { summary, extras, cluster, byPriority: summarizeByPriority(outcomes) };
}
