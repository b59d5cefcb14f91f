// `npm run bench:routing -- --workload FILE [--json OUT] [--policies a,b] [--rates x,y]`: replays one workload against N
// simulated replicas (virtual time) for every policy with the same seed, prints a table per policy and rate,
// the knee rate of each policy and the single-cache hit-rate bound, and writes the JSON report.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import { POLICY_NAMES, type PolicyName } from '../core/index.ts';
import { getEngineProfile } from '../sim/profiles.ts';
import { hitRateBound } from './hit-rate-bound.ts';
import { routingPlotSvg } from './plot.ts';
import { formatObjectiveTable, formatTable } from './report.ts';
import { buildRuns, buildWarmup, contentSource, TraceMissingError, type BenchRun } from './requests.ts';
import { runPolicy, runStages } from './run-policy.ts';
import { kneeRate, type PrioritySummary, type RunExtras, type RunSummary } from './stats.ts';
import { loadWorkload, WorkloadError, type Workload } from './workload.ts';

export interface RoutingReport {
  readonly workload: string;
  readonly results: readonly RunSummary[];
  readonly knee: Readonly<Record<string, number>>;
  readonly hitRateBound: number;
  /** Per policy, rate and InferenceObjective, when the workload's requests name objectives. */
  readonly objectives?: readonly ObjectiveRow[];
}

export interface ObjectiveRow extends PrioritySummary {
  readonly policy: string;
  readonly rate: number;
  readonly objective: string;
}

function parsePolicies(text: string | undefined): PolicyName[] | undefined {
  if (text === undefined) return undefined;
  const names = text.split(',').map((name) => name.trim());
  for (const name of names) {
    if (!(POLICY_NAMES as readonly string[]).includes(name)) {
      throw new WorkloadError(
        `--policies: unknown policy "${name}"; expected some of ${POLICY_NAMES.join(', ')}`,
      );
    }
  }
  return names as PolicyName[];
}

/** Keeps the runs whose ladder rate (or trace speed-up) is listed; all when no list is given. */
function selectRuns(workload: Workload, runs: BenchRun[], list: string | undefined): BenchRun[] {
  if (list === undefined) return runs;
  const arrival = workload.arrival;
  const ladder =
    arrival.type === 'poisson'
      ? arrival.rates
      : arrival.type === 'stages'
        ? arrival.stages.map((stage) => stage.rate)
        : arrival.speedups;
  const wanted = list.split(',').map((value) => Number(value.trim()));
  for (const value of wanted) {
    if (!ladder.includes(value)) {
      throw new WorkloadError(
        `--rates: ${String(value)} is not in the workload's ladder [${ladder.join(', ')}]`,
      );
    }
  }
  return runs.filter((_, index) => wanted.includes(ladder[index] as number));
}

function parseSeed(text: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new Error(`--seed: expected a non-negative integer, got "${text}"`);
  }
  return Number(text);
}

async function main(): Promise<void> {
  const program = new Command('bench:routing')
    .description('Routing benchmark over simulated vLLM replicas in virtual time')
    .requiredOption('--workload <file>', 'workload JSON (see scheduler/bench/workloads/workload.schema.json)')
    .option('--json <file>', 'write the report as JSON to this file')
    .option('--policies <list>', 'comma-separated subset of the workload’s policies')
    .option('--rates <list>', 'comma-separated subset of the workload’s rates (or trace speed-ups)')
    .option('--seed <n>', 'seed instead of the workload’s (arrivals and request contents)')
    .option('--plot <file>', 'draw TTFT p90 and output tok/s against rate for every policy into this SVG')
    .option('--healthy', 'run without the workload’s faults (the healthy reference of a degraded run)')
    .parse();
  const options = program.opts<{
    workload: string;
    json?: string;
    policies?: string;
    rates?: string;
    seed?: string;
    healthy?: boolean;
    plot?: string;
  }>();

  const loaded = loadWorkload(options.workload);
  const { faults, ...withoutFaults } = loaded;
  const fromFile =
    options.healthy === true || faults === undefined ? withoutFaults : { ...withoutFaults, faults };
  const workload = options.seed === undefined ? fromFile : { ...fromFile, seed: parseSeed(options.seed) };
  const profile = getEngineProfile(workload.profile);
  const model = workload.model ?? profile.model;
  const policies = parsePolicies(options.policies) ?? workload.policies ?? POLICY_NAMES;
  const started = performance.now();
  let source;
  try {
    source = contentSource(workload, options.workload, profile.blockSize, profile.maxModelLen);
  } catch (error) {
    if (error instanceof TraceMissingError) {
      console.log(`bench:routing: skipped workload "${workload.name}": ${error.message}`);
      return;
    }
    throw error;
  }
  const runs = selectRuns(workload, buildRuns(workload, source, model), options.rates);
  const capacityBlocks = workload.replicas * profile.numGpuBlocks;
  const bounds = runs.map((run) =>
    hitRateBound(
      run.requests.map((request) => request.prompt),
      run.measuredFrom,
      capacityBlocks,
      profile.blockSize,
    ),
  );
  const measured = (run: BenchRun) => run.requests.length - run.measuredFrom;
  const largest = runs.reduce(
    (best, run, index) => (measured(run) > measured(runs[best] as BenchRun) ? index : best),
    0,
  );

  console.log(
    `workload ${workload.name}: ${String(workload.replicas)} × ${profile.name}, ${String(runs.length)} rate(s), ` +
      `${String(runs.reduce((n, run) => n + run.requests.length, 0))} requests per policy, seed ${String(workload.seed)}`,
  );
  const results: RunSummary[] = [];
  const extras: RunExtras[] = [];
  const objectiveRows: ObjectiveRow[] = [];
  const objectiveSpecs =
    workload.requests.type === 'shared-prefix' ? workload.requests.objectives : undefined;
  const warmup = buildWarmup(workload, source, model);
  const intervalMs = workload.arrival.type === 'stages' ? (workload.arrival.intervalSeconds ?? 0) * 1000 : 0;
  for (const policy of policies) {
    const t0 = performance.now();
    const outcomes =
      workload.arrival.type === 'stages'
        ? runStages(policy, warmup, runs, intervalMs, workload, profile).stages
        : runs.map((run) => runPolicy(policy, run, workload, profile));
    for (const { summary, extras: extra, byPriority } of outcomes) {
      results.push(summary);
      extras.push(extra);
      for (const figures of objectiveSpecs === undefined ? [] : byPriority) {
        const objective = objectiveSpecs?.find((o) => o.priority === figures.priority)?.name ?? '';
        objectiveRows.push({ policy, rate: summary.rate, objective, ...figures });
      }
      console.error(
        `  ${policy} @ ${String(summary.rate)}: TTFT p90 ${summary.ttft.p90.toFixed(3)} s, ` +
          `${summary.outputTokensPerSecond.toFixed(0)} output tok/s`,
      );
    }
    console.error(`  ${policy}: ${((performance.now() - t0) / 1000).toFixed(1)} s wall`);
  }
  const knee: Record<string, number> = {};
  for (const policy of policies) {
    knee[policy] = kneeRate(
      results.filter((result) => result.policy === policy),
      workload.slo.ttftP90Seconds,
    );
  }
  const report: RoutingReport = {
    workload: workload.name,
    results,
    knee,
    hitRateBound: Math.round((bounds[largest] ?? 0) * 10_000) / 10_000,
    ...(objectiveRows.length === 0 ? {} : { objectives: objectiveRows }),
  };
  console.log(
    formatTable(
      results,
      extras,
      runs.map((run, i) => ({ rate: run.rate, bound: bounds[i] ?? 0 })),
    ),
  );
  console.log(
    `knee (highest rate with TTFT p90 ≤ ${String(workload.slo.ttftP90Seconds)} s at it and every lower rate): ` +
      policies.map((policy) => `${policy} ${String(knee[policy])}`).join(', '),
  );
  const lowest = Math.min(...results.map((result) => result.rate));
  // prefix-only is the affinity-without-load control, not a contender: leave it out of the spread.
  const atLowest = results.filter((result) => result.rate === lowest && result.policy !== 'prefix-only');
  const spread = (values: number[]) => (Math.max(...values) / Math.min(...values) - 1) * 100;
  console.log(
    `spread across policies except prefix-only at the lowest rate (${String(lowest)}): TTFT p90 ${spread(atLowest.map((r) => r.ttft.p90)).toFixed(1)}%, ` +
      `output tok/s ${spread(atLowest.map((r) => r.outputTokensPerSecond)).toFixed(1)}%`,
  );
  console.log(
    `hitRateBound (one LRU cache of ${String(capacityBlocks * profile.blockSize)} tokens, rate ${String(runs[largest]?.rate)}): ${report.hitRateBound.toFixed(4)}`,
  );
  if (objectiveRows.length > 0) console.log(formatObjectiveTable(objectiveRows));
  console.log(`wall time ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (options.json !== undefined) {
    mkdirSync(dirname(options.json), { recursive: true });
    writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
  }
  if (options.plot !== undefined) {
    mkdirSync(dirname(options.plot), { recursive: true });
    writeFileSync(options.plot, await routingPlotSvg(workload.name, results));
  }
}

main().catch((error: unknown) => {
  console.error(`bench:routing: ${(error as Error).message}`);
  process.exit(1);
});
