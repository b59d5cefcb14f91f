// Request sequences for the routing benchmark. Contents (prompt tokens, output lengths) depend only on the
// seed and the request's index, arrival times on the seed and the run's rate, so every policy and every rate
// sees the same prompts in the same order.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { EnginePrompt } from '../sim/engine.ts';
import { enginePrompt } from '../sim/prompt.ts';
import { createRandom } from '../sim/random.ts';
import type { VirtualRequest } from '../sim/virtual-cluster.ts';
import type { ObjectiveSpec, RequestSpec, StageSpec, Workload } from './workload.ts';

/** Qwen tokenizers have about 151k ids; synthetic token ids stay in that range. */
const VOCABULARY = 151_643;

export interface RequestContent {
  readonly promptTokens: Uint32Array;
  readonly prompt: EnginePrompt;
  readonly outputTokens: number;
  /** Priority of the InferenceObjective the request names, when the workload has objectives. */
  readonly priority?: number;
}

/** One benchmark run: a rate of the ladder (or a trace speed-up) and its requests. */
export interface BenchRun {
  /** Offered requests per second. */
  readonly rate: number;
  readonly requests: readonly VirtualRequest[];
  /** Requests from this index on are measured; earlier ones only warm the cluster. */
  readonly measuredFrom: number;
  /** Throughput is counted over this interval: the measured arrivals' span. */
  readonly window: { readonly startMs: number; readonly endMs: number };
}

export class TraceMissingError extends Error {}

function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** `length` deterministic token ids for the stream named by (a, b). */
function syntheticTokens(a: number, b: number, length: number, into: Uint32Array, offset: number): void {
  const stream = mix(a, b);
  for (let i = 0; i < length; i++) into[offset + i] = mix(stream, i) % VOCABULARY;
}

export interface ContentSource {
  /** Content of request `index`; for traces, undefined past the end. */
  content(index: number): RequestContent | undefined;
  /** Trace timestamps (ms) when the source is a trace. */
  readonly timestampsMs?: readonly number[];
}

function sharedPrefixSource(
  spec: Extract<RequestSpec, { type: 'shared-prefix' }>,
  seed: number,
  blockSize: number,
): ContentSource {
  const prompts: RequestContent[] = [];
  for (let group = 0; group < spec.groups; group++) {
    for (let user = 0; user < spec.promptsPerGroup; user++) {
      const tokens = new Uint32Array(spec.systemPromptTokens + spec.questionTokens);
      syntheticTokens(mix(seed, 1), group, spec.systemPromptTokens, tokens, 0);
      syntheticTokens(
        mix(seed, 2),
        group * 65_537 + user,
        spec.questionTokens,
        tokens,
        spec.systemPromptTokens,
      );
      prompts.push({
        promptTokens: tokens,
        prompt: enginePrompt(tokens, blockSize),
        outputTokens: spec.outputTokens,
      });
    }
  }
  // inference-perf shuffles the generated prompts once, then request i sends prompt i mod N.
  const random = createRandom(mix(seed, 3));
  for (let i = prompts.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [prompts[i], prompts[j]] = [prompts[j] as RequestContent, prompts[i] as RequestContent];
  }
  const objectives = spec.objectives;
  if (objectives === undefined) return { content: (index) => prompts[index % prompts.length] };
  const total = objectives.reduce((sum, objective) => sum + objective.share, 0);
  return {
    content(index) {
      const prompt = prompts[index % prompts.length] as RequestContent;
      // Request i names an objective drawn by share from its own seeded value, whatever the stage's rate.
      let draw = (mix(mix(seed, 8), index) / 2 ** 32) * total;
      const objective = objectives.find((o) => (draw -= o.share) < 0) ?? (objectives.at(-1) as ObjectiveSpec);
      return { ...prompt, priority: objective.priority };
    },
  };
}

function randomLengthsSource(
  spec: Extract<RequestSpec, { type: 'random-lengths' }>,
  seed: number,
  blockSize: number,
): ContentSource {
  const contents: RequestContent[] = [];
  return {
    content(index) {
      while (contents.length <= index) {
        const i = contents.length;
        const random = createRandom(mix(mix(seed, 4), i));
        const inputTokens = random.int(spec.inputTokens.min, spec.inputTokens.max);
        const outputTokens = random.int(spec.outputTokens.min, spec.outputTokens.max);
        const tokens = new Uint32Array(inputTokens);
        syntheticTokens(mix(seed, 5), i, inputTokens, tokens, 0);
        contents.push({ promptTokens: tokens, prompt: enginePrompt(tokens, blockSize), outputTokens });
      }
      return contents[index];
    },
  };
}

interface TraceLine {
  readonly timestamp: number;
  readonly input_length: number;
  readonly output_length: number;
  readonly hash_ids: readonly number[];
}

function parseTraceLine(line: string, file: string, lineNumber: number): TraceLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new Error(`${file}:${String(lineNumber)}:1: not valid JSON: ${(error as Error).message}`);
  }
  const record = value as Partial<Record<keyof TraceLine, unknown>>;
  for (const field of ['timestamp', 'input_length', 'output_length'] as const) {
    if (typeof record[field] !== 'number' || !Number.isFinite(record[field])) {
      throw new Error(`${file}:${String(lineNumber)}:1: field "${field}" must be a number`);
    }
  }
  if (!Array.isArray(record.hash_ids) || !record.hash_ids.every((id) => Number.isInteger(id))) {
    throw new Error(`${file}:${String(lineNumber)}:1: field "hash_ids" must be an array of integers`);
  }
  return record as TraceLine;
}

/** Where a trace path points: relative to the working directory (as documented), else to the workload file. */
export function resolveTracePath(path: string, workloadFile: string): string {
  const fromCwd = resolve(path);
  if (existsSync(fromCwd)) return fromCwd;
  const fromWorkload = resolve(dirname(workloadFile), path);
  if (existsSync(fromWorkload)) return fromWorkload;
  throw new TraceMissingError(
    `trace file ${path} not found (looked in the working directory and next to ${workloadFile})`,
  );
}

function mooncakeSource(
  spec: Extract<RequestSpec, { type: 'mooncake-trace' }>,
  workloadFile: string,
  blockSize: number,
  maxModelTokens: number,
): ContentSource {
  const file = resolveTracePath(spec.path, workloadFile);
  const traceBlock = spec.blockTokens ?? 512;
  const lines = readFileSync(file, 'utf8').split('\n');
  const contents: RequestContent[] = [];
  const timestampsMs: number[] = [];
  const limit = spec.maxRequests ?? Number.POSITIVE_INFINITY;
  for (let i = 0; i < lines.length && contents.length < limit; i++) {
    const text = (lines[i] as string).trim();
    if (text === '') continue;
    const line = parseTraceLine(text, file, i + 1);
    const outputTokens = Math.max(1, line.output_length);
    const cap = Math.min(spec.maxInputTokens ?? Number.POSITIVE_INFINITY, maxModelTokens - outputTokens);
    const length = Math.max(1, Math.min(line.input_length, cap));
    const tokens = new Uint32Array(length);
    for (let block = 0, offset = 0; offset < length; block++, offset += traceBlock) {
      const count = Math.min(traceBlock, length - offset);
      // Past the listed hash ids, tokens are unique to this request.
      const id = line.hash_ids[block];
      if (id === undefined) syntheticTokens(0x5eed, mix(i, block), count, tokens, offset);
      else syntheticTokens(0x7ace, id, count, tokens, offset);
    }
    contents.push({ promptTokens: tokens, prompt: enginePrompt(tokens, blockSize), outputTokens });
    timestampsMs.push(line.timestamp);
  }
  return { content: (index) => contents[index], timestampsMs };
}

export function contentSource(
  workload: Workload,
  workloadFile: string,
  blockSize: number,
  maxModelLen: number,
) {
  const spec = workload.requests;
  switch (spec.type) {
    case 'shared-prefix':
      return sharedPrefixSource(spec, workload.seed, blockSize);
    case 'random-lengths':
      return randomLengthsSource(spec, workload.seed, blockSize);
    case 'mooncake-trace':
      return mooncakeSource(spec, workloadFile, blockSize, maxModelLen);
  }
}

function toRequest(id: string, arrivalMs: number, model: string, content: RequestContent): VirtualRequest {
  return {
    id,
    arrivalMs,
    model,
    promptTokens: content.promptTokens,
    prompt: content.prompt,
    outputTokens: content.outputTokens,
    ...(content.priority === undefined ? {} : { priority: content.priority }),
  };
}

/**
 * One inference-perf stage: int(rate × duration) Poisson arrivals from time 0 (the runner shifts them to the
 * stage's start), contents from the first prompt on.
 */
function stageRun(
  workload: Workload,
  source: ContentSource,
  model: string,
  stage: StageSpec,
  name: string,
  salt: number,
): BenchRun {
  const random = createRandom(mix(mix(workload.seed, 7), salt));
  const count = Math.floor(stage.rate * stage.durationSeconds);
  const requests: VirtualRequest[] = [];
  let t = 0;
  for (let index = 0; index < count; index++) {
    t += random.exponential(1000 / stage.rate);
    const content = source.content(index);
    if (content === undefined) break;
    requests.push(toRequest(`${name}-${String(index)}`, t, model, content));
  }
  return {
    rate: stage.rate,
    requests,
    measuredFrom: 0,
    window: { startMs: 0, endMs: Number.POSITIVE_INFINITY },
  };
}

/** The warm-up stage of a staged workload, run before the reported stages; undefined when there is none. */
export function buildWarmup(workload: Workload, source: ContentSource, model: string): BenchRun | undefined {
  const arrival = workload.arrival;
  if (arrival.type !== 'stages' || arrival.warmup === undefined) return undefined;
  return stageRun(workload, source, model, arrival.warmup, 'warmup', 0);
}

/** The runs of a workload: one per rate of the ladder (or per stage), or one per trace speed-up. */
export function buildRuns(workload: Workload, source: ContentSource, model: string): BenchRun[] {
  const arrival = workload.arrival;
  if (arrival.type === 'stages') {
    return arrival.stages.map((stage, index) =>
      stageRun(workload, source, model, stage, `s${String(index)}@${String(stage.rate)}`, index + 1),
    );
  }
  if (arrival.type === 'poisson') {
    const warmupMs = (arrival.warmupSeconds ?? 0) * 1000;
    const endMs = warmupMs + arrival.durationSeconds * 1000;
    return arrival.rates.map((rate) => {
      const random = createRandom(mix(mix(workload.seed, 6), Math.round(rate * 1000)));
      const requests: VirtualRequest[] = [];
      let measuredFrom = -1;
      for (let t = random.exponential(1000 / rate); t < endMs; t += random.exponential(1000 / rate)) {
        const index = requests.length;
        if (measuredFrom < 0 && t >= warmupMs) measuredFrom = index;
        const content = source.content(index);
        if (content === undefined) break;
        requests.push(toRequest(`r${String(rate)}-${String(index)}`, t, model, content));
      }
      return {
        rate,
        requests,
        measuredFrom: measuredFrom < 0 ? requests.length : measuredFrom,
        window: { startMs: warmupMs, endMs },
      };
    });
  }
  const timestamps = source.timestampsMs;
  if (timestamps === undefined || timestamps.length === 0)
    throw new Error('trace arrivals need a non-empty trace');
  const start = timestamps[0] as number;
  const warmup = Math.min(arrival.warmupRequests ?? 0, timestamps.length - 1);
  return arrival.speedups.map((speedup) => {
    const requests = timestamps.map((timestamp, index) =>
      toRequest(
        `x${String(speedup)}-${String(index)}`,
        (timestamp - start) / speedup,
        model,
        source.content(index) as RequestContent,
      ),
    );
    const measuredFromMs = (requests[warmup] as VirtualRequest).arrivalMs;
    const measured = requests.length - warmup;
    const spanSeconds = ((requests.at(-1) as VirtualRequest).arrivalMs - measuredFromMs) / 1000;
    const rate = spanSeconds > 0 ? Math.round((measured / spanSeconds) * 100) / 100 : measured;
    return {
      rate,
      requests,
      measuredFrom: warmup,
      window: { startMs: measuredFromMs, endMs: (requests.at(-1) as VirtualRequest).arrivalMs },
    };
  });
}
