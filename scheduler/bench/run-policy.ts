// One policy on one run of a workload: a fresh scheduler from the policy preset, a fresh simulated cluster,
// the same seeded randomness for every policy.

import { createScheduler, policyPresets, type PolicyName } from '../core/index.ts';
import type { EngineProfile } from '../sim/profiles.ts';
import { createRandom } from '../sim/random.ts';
import { runVirtualCluster, type VirtualClusterResult } from '../sim/virtual-cluster.ts';
import type { BenchRun } from './requests.ts';
import { summarize, type RunExtras, type RunSummary } from './stats.ts';
import type { Workload } from './workload.ts';

export interface PolicyRunResult {
  readonly summary: RunSummary;
  readonly extras: RunExtras;
  readonly cluster: VirtualClusterResult;
}

export function runPolicy(
  policy: PolicyName,
  run: BenchRun,
  workload: Workload,
  profile: EngineProfile,
): PolicyRunResult {
  const clock = { nowMs: 0 };
  const random = createRandom(workload.seed);
  const scheduler = createScheduler(policyPresets[policy], { now: () => clock.nowMs, random: random.next });
  const cluster = runVirtualCluster(run.requests, {
    profile,
    replicas: workload.replicas,
    router: scheduler,
    clock,
    scrapeIntervalMs: workload.scrapeIntervalMs ?? 50,
    requestTimeoutMs: (workload.requestTimeoutSeconds ?? 300) * 1000,
    window: run.window,
  });
  const measured = new Set(run.requests.slice(run.measuredFrom).map((request) => request.id));
  const outcomes = cluster.outcomes.filter((outcome) => measured.has(outcome.id));
  const { summary, extras } = summarize(policy, run.rate, outcomes, workload.replicas, {
    outputTokens: cluster.windowOutputTokens,
    seconds: (run.window.endMs - run.window.startMs) / 1000,
  });
  return { summary, extras, cluster };
}
