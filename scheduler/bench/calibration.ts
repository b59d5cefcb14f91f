// The simulator's calibration anchors: each published figure beside what the simulator gives for the same
// setup, with the tolerance it must stay within. Single-replica anchors run one engine; cluster anchors run
// the shared-prefix workload (llm-d's published inference-perf profile) on one cluster per policy.

import { readFileSync } from 'node:fs';
import type { PolicyName } from '../core/presets.ts';
import { Engine } from '../sim/engine.ts';
import { getEngineProfile, type EngineProfile } from '../sim/profiles.ts';
import { enginePrompt } from '../sim/prompt.ts';
import { buildRuns, buildWarmup, contentSource } from './requests.ts';
import { runStages, type PolicyRunResult, type StagedRunResult } from './run-policy.ts';
import { percentile } from './stats.ts';
import { parseWorkload, type Workload } from './workload.ts';

export interface AnchorRow {
  readonly name: string;
  /** The published figure, as text (a value, a range or a bound). */
  readonly published: string;
  readonly simulated: number;
  readonly unit: string;
  /** Inclusive bounds the simulated value must fall in. */
  readonly tolerance: readonly [number, number];
  readonly source: string;
}

/** ± `fraction` around a published value. */
const around = (value: number, fraction: number): readonly [number, number] => [
  value * (1 - fraction),
  value * (1 + fraction),
];

export const withinTolerance = (row: AnchorRow): boolean =>
  row.simulated >= row.tolerance[0] && row.simulated <= row.tolerance[1];

const WORKLOAD_FILE = new URL('./workloads/shared-prefix.json', import.meta.url);

/** The shipped shared-prefix workload (llm-d's optimized-baseline inference-perf profile). */
export function sharedPrefixWorkload(): Workload {
  return parseWorkload(readFileSync(WORKLOAD_FILE, 'utf8'), WORKLOAD_FILE.pathname);
}

/** TTFT of one request on an idle engine: cold, then again with its prompt cached. */
function singleRequestTtft(profile: EngineProfile, promptTokens: number): { cold: number; warm: number } {
  const engine = new Engine(profile);
  const tokens = Uint32Array.from({ length: promptTokens }, (_, i) => (i * 2_654_435_761) % 151_643);
  const ttft = (id: string, startMs: number): number => {
    engine.add({ id, prompt: enginePrompt(tokens, profile.blockSize), outputTokens: 1 }, startMs);
    let now = startMs;
    for (;;) {
      const duration = engine.startStep(now);
      if (duration === undefined) throw new Error('the request never produced a token');
      now += duration;
      const step = engine.finishStep();
      const first = step.produced.find((s) => s.id === id);
      if (first !== undefined) return (first.firstTokenMs - startMs) / 1000;
    }
  };
  const cold = ttft('cold', 0);
  return { cold, warm: ttft('warm', 60_000) };
}

/** Prefill throughput of one 8,192-token chunk (a full step budget) on an idle engine. */
function prefillThroughput(profile: EngineProfile): number {
  const engine = new Engine(profile);
  const tokens = Uint32Array.from({ length: 8192 }, (_, i) => (i * 40_503) % 151_643);
  engine.add({ id: 'p', prompt: enginePrompt(tokens, profile.blockSize), outputTokens: 1 }, 0);
  const ms = engine.startStep(0) ?? Number.NaN;
  engine.finishStep();
  return 8192 / (ms / 1000);
}

/** Mean inter-token latency over a stage's completed requests (s). */
function meanItl(result: StagedRunResult, rate: number): number {
  const stage = result.stages.find((s) => s.summary.rate === rate);
  let time = 0;
  let gaps = 0;
  for (const o of stage?.cluster.outcomes ?? []) {
    if (o.status !== 'ok' || o.outputTokens < 2) continue;
    time += o.endMs - o.firstTokenMs;
    gaps += o.outputTokens - 1;
  }
  return gaps > 0 ? time / gaps / 1000 : Number.NaN;
}

const peak = (result: StagedRunResult): number =>
  Math.max(...result.stages.map((s) => s.summary.outputTokensPerSecond));

/** Lowest stage rate whose TTFT p90 passes `seconds`: where a policy falls off its cliff. */
function cliffRate(result: StagedRunResult, seconds: number): number {
  const over = result.stages.find((s) => s.summary.ttft.p90 > seconds);
  return over?.summary.rate ?? Number.POSITIVE_INFINITY;
}

export const CALIBRATION_POLICIES: readonly PolicyName[] = [
  'round-robin',
  'llm-d',
  'gie-v1-approximate',
  'llm-d-precise',
];

/** Runs the shared-prefix workload once per calibration policy (seeded like the workload unless told). */
export function runCalibrationLadders(seed?: number): ReadonlyMap<PolicyName, StagedRunResult> {
  const shipped = sharedPrefixWorkload();
  const workload = seed === undefined ? shipped : { ...shipped, seed };
  const profile = getEngineProfile(workload.profile);
  const model = workload.model ?? profile.model;
  const source = contentSource(workload, WORKLOAD_FILE.pathname, profile.blockSize, profile.maxModelLen);
  const warmup = buildWarmup(workload, source, model);
  const runs = buildRuns(workload, source, model);
  const interval = workload.arrival.type === 'stages' ? (workload.arrival.intervalSeconds ?? 0) * 1000 : 0;
  return new Map(
    CALIBRATION_POLICIES.map((policy) => [
      policy,
      runStages(policy, warmup, runs, interval, workload, profile),
    ]),
  );
}

function ladderOf(ladders: ReadonlyMap<PolicyName, StagedRunResult>, policy: PolicyName): StagedRunResult {
  const result = ladders.get(policy);
  if (result === undefined) throw new Error(`no calibration ladder for ${policy}`);
  return result;
}

/** Every anchor beside its simulated value. */
export function calibrationRows(ladders: ReadonlyMap<PolicyName, StagedRunResult>): AnchorRow[] {
  const h100 = getEngineProfile('qwen3-32b-h100-tp2');
  const single = singleRequestTtft(h100, 10_000);
  const ladder = (policy: PolicyName): StagedRunResult => ladderOf(ladders, policy);
  const wholeRun = (policy: PolicyName): number => {
    const { total } = ladder(policy);
    return total.outputTokens / total.seconds;
  };
  return [
    {
      name: 'prefill throughput, one 8,192-token chunk',
      published: '15,928–20,480',
      simulated: prefillThroughput(h100),
      unit: 'tok/s',
      tolerance: [15_928, 20_480],
      source: 'llm-d configuration matrix (15,928) and sticky-until-saturated blog, T(8192) = 0.40 s',
    },
    {
      name: 'single request, 10k-token prompt, cold TTFT',
      published: '4.3 s (not followed, see docs/simulator.md)',
      simulated: single.cold,
      unit: 's',
      // What the followed prefill anchor implies for 10,000 tokens, attention and one step's base included.
      tolerance: [10_000 / 20_480, 10_000 / 15_928 + 0.05],
      source: 'KV-cache wins blog aside; the range is 10,000 tokens at 15,928–20,480 tok/s',
    },
    {
      name: 'single request, same prompt warm TTFT',
      published: '0.6 s (an upper bound: it includes the client and API server)',
      simulated: single.warm,
      unit: 's',
      tolerance: [0, 0.6],
      source: 'KV-cache wins blog aside',
    },
    {
      name: 'ITL mean at 3 req/s (shared-prefix, llm-d)',
      published: '≈ 11 ms',
      simulated: meanItl(ladder('llm-d'), 3) * 1000,
      unit: 'ms',
      tolerance: around(11, 0.2),
      source: '73-capacity report, ITL at 3 QPS, every policy',
    },
    {
      name: 'round-robin peak output',
      published: '7,049',
      simulated: peak(ladder('round-robin')),
      unit: 'tok/s',
      tolerance: around(7049, 0.3),
      source: 'optimized-baseline benchmark, Kubernetes Service arm',
    },
    {
      name: 'round-robin cliff: first stage with TTFT p90 > 10 s',
      published: '20 (fine at 15, 70–78 s at 20)',
      simulated: cliffRate(ladder('round-robin'), 10),
      unit: 'req/s',
      tolerance: [20, 20],
      source: '73-capacity report per-QPS detail',
    },
    {
      name: 'llm-d v1.0 default peak output',
      published: '14,941',
      simulated: peak(ladder('llm-d')),
      unit: 'tok/s',
      tolerance: around(14_941, 0.3),
      source: 'optimized-baseline benchmark (prefix-cache-affinity-filter + token-load-scorer)',
    },
    {
      name: 'approximate ÷ precise output, whole run',
      published: '0.80 (6,944 ÷ 8,730)',
      simulated: wholeRun('gie-v1-approximate') / wholeRun('llm-d-precise'),
      unit: '',
      tolerance: around(0.8, 0.125),
      source: 'KV-cache wins report, summary across the ladder',
    },
  ];
}

/** A published figure printed beside the simulated one without a tolerance (docs/simulator.md says why). */
export interface ReportedRow {
  readonly name: string;
  readonly published: string;
  readonly simulated: number;
  readonly unit: string;
  readonly source: string;
}

function stageAt(result: StagedRunResult, rate: number): PolicyRunResult {
  const stage = result.stages.find((s) => s.summary.rate === rate);
  if (stage === undefined) throw new Error(`the calibration ladder has no ${String(rate)} req/s stage`);
  return stage;
}

/** inference-perf's normalized time per output token (request latency ÷ output tokens), median over a stage. */
function medianNtpot(stage: PolicyRunResult): number {
  const values = stage.cluster.outcomes
    .filter((o) => o.status === 'ok' && o.outputTokens > 0)
    .map((o) => (o.endMs - o.arrivalMs) / o.outputTokens / 1000)
    .sort((a, b) => a - b);
  return percentile(values, 50);
}

/**
 * Decode-side figures published for the same workload, printed but not held: under load the simulator, which
 * reads every decoding sequence's KV cache as vLLM's paged attention does, decodes slower than these.
 */
export function reportedRows(ladders: ReadonlyMap<PolicyName, StagedRunResult>): ReportedRow[] {
  const at60 = (policy: PolicyName): PolicyRunResult => stageAt(ladderOf(ladders, policy), 60);
  const llmd = at60('llm-d');
  const service = at60('round-robin');
  return [
    {
      name: 'NTPOT p50 at 60 req/s, llm-d v1.0 default',
      published: '43.9 ms',
      simulated: medianNtpot(llmd) * 1000,
      unit: 'ms',
      source: 'optimized-baseline benchmark',
    },
    {
      name: 'NTPOT p50 at 60 req/s, round-robin',
      published: '135.5 ms',
      simulated: medianNtpot(service) * 1000,
      unit: 'ms',
      source: 'optimized-baseline benchmark, Kubernetes Service arm',
    },
    {
      name: 'TTFT p90 at 60 req/s, llm-d v1.0 default',
      published: '0.9 s',
      simulated: llmd.summary.ttft.p90,
      unit: 's',
      source: 'optimized-baseline benchmark',
    },
    {
      name: 'TTFT p90 at 60 req/s, round-robin',
      published: '154.1 s',
      simulated: service.summary.ttft.p90,
      unit: 's',
      source: 'optimized-baseline benchmark, Kubernetes Service arm',
    },
    {
      name: 'ITL mean at 60 req/s, precise',
      published: '21–29 ms (20–60 req/s, every policy)',
      simulated: meanItl(ladderOf(ladders, 'llm-d-precise'), 60) * 1000,
      unit: 'ms',
      source: '73-capacity report',
    },
  ];
}

/** The reported rows as an aligned text table. */
export function formatReported(rows: readonly ReportedRow[]): string {
  const value = (row: ReportedRow): string =>
    row.unit === 's' && row.simulated < 10 ? row.simulated.toFixed(3) : row.simulated.toFixed(1);
  return alignedTable(
    ['reported, not held', 'published', 'simulated'],
    rows.map((row) => [row.name, row.published, `${value(row)} ${row.unit}`]),
  );
}

function alignedTable(header: readonly string[], cells: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: readonly string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...cells.map(line)].join('\n');
}

/** The rows as an aligned text table. */
export function formatCalibration(rows: readonly AnchorRow[]): string {
  const digits = (value: number) => (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 1 ? 2 : 3);
  const cells = rows.map((row) => [
    row.name,
    row.published,
    `${row.simulated.toFixed(digits(row.simulated))} ${row.unit}`.trim(),
    `${row.tolerance[0].toFixed(digits(row.tolerance[0]))}–${row.tolerance[1].toFixed(digits(row.tolerance[1]))}`,
    withinTolerance(row) ? 'ok' : 'MISS',
  ]);
  return alignedTable(['anchor', 'published', 'simulated', 'tolerance', ''], cells);
}
