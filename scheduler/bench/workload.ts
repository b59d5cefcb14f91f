// Loading a routing-benchmark workload file: JSON checked against workloads/workload.schema.json, with every
// error located by file:line:column and JSON pointer.

import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { LineCounter, parseDocument } from 'yaml';
import type { PolicyName } from '../core/presets.ts';
import { engineProfiles } from '../sim/profiles.ts';

export interface LengthRange {
  readonly min: number;
  readonly max: number;
}

export type ArrivalSpec =
  | {
      readonly type: 'poisson';
      readonly rates: readonly number[];
      readonly warmupSeconds?: number;
      readonly durationSeconds: number;
    }
  | { readonly type: 'trace'; readonly speedups: readonly number[]; readonly warmupRequests?: number }
  | {
      readonly type: 'stages';
      readonly warmup?: StageSpec;
      readonly intervalSeconds?: number;
      readonly stages: readonly StageSpec[];
    };

/** An InferenceObjective a share of the requests name (priority: higher is more important, < 0 sheddable). */
export interface ObjectiveSpec {
  readonly name: string;
  readonly priority: number;
  readonly share: number;
}

/** Degraded replicas: slower steps, errors answered at once, and the proxy's retries. */
export interface FaultSpec {
  readonly slowReplicas?: readonly { readonly replica: number; readonly slowdown: number }[];
  readonly errorReplicas?: readonly { readonly replica: number; readonly errorRate: number }[];
  readonly retries?: number;
}

/** One inference-perf load stage: Poisson arrivals at `rate` for `durationSeconds`. */
export interface StageSpec {
  readonly rate: number;
  readonly durationSeconds: number;
}

export type RequestSpec =
  | {
      readonly type: 'shared-prefix';
      readonly groups: number;
      readonly promptsPerGroup: number;
      readonly systemPromptTokens: number;
      readonly questionTokens: number;
      readonly outputTokens: number;
      readonly objectives?: readonly ObjectiveSpec[];
    }
  | { readonly type: 'random-lengths'; readonly inputTokens: LengthRange; readonly outputTokens: LengthRange }
  | {
      readonly type: 'mooncake-trace';
      readonly path: string;
      readonly blockTokens?: number;
      readonly maxRequests?: number;
      readonly maxInputTokens?: number;
    };

export interface Workload {
  readonly name: string;
  readonly description?: string;
  readonly profile: string;
  readonly model?: string;
  readonly replicas: number;
  readonly seed: number;
  readonly policies?: readonly PolicyName[];
  readonly slo: { readonly ttftP90Seconds: number };
  readonly requestTimeoutSeconds?: number;
  readonly scrapeIntervalMs?: number;
  readonly metricsDelayMs?: number;
  readonly faults?: FaultSpec;
  readonly arrival: ArrivalSpec;
  readonly requests: RequestSpec;
}

export class WorkloadError extends Error {}

const schema: unknown = JSON.parse(
  readFileSync(new URL('./workloads/workload.schema.json', import.meta.url), 'utf8'),
);
const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile<Workload>(schema as object);

function pointerSegments(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function describe(error: ErrorObject): string {
  if (error.keyword === 'additionalProperties') {
    return `unknown field "${String((error.params as { additionalProperty: string }).additionalProperty)}"`;
  }
  if (error.keyword === 'enum') {
    return `must be one of ${JSON.stringify((error.params as { allowedValues: unknown[] }).allowedValues)}`;
  }
  if (error.keyword === 'const') {
    return `must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)}`;
  }
  return error.message ?? 'is invalid';
}

const BRANCH = /^(.*\/oneOf)\/(\d+)\//;

/**
 * ajv reports every oneOf branch's complaints. Branches are told apart by their "type" constant, so keep only
 * the errors of the branch whose type matched (or all when none did).
 */
function relevantErrors(errors: readonly ErrorObject[]): ErrorObject[] {
  const mismatched = new Set<string>();
  const branches = new Map<string, Set<string>>();
  for (const error of errors) {
    const match = BRANCH.exec(error.schemaPath);
    if (match === null) continue;
    const [, oneOf = '', branch = ''] = match;
    const seen = branches.get(oneOf) ?? new Set<string>();
    seen.add(branch);
    branches.set(oneOf, seen);
    if (error.keyword === 'const' && error.schemaPath.endsWith('/properties/type/const')) {
      mismatched.add(`${oneOf}/${branch}`);
    }
  }
  const kept = errors.filter((error) => {
    const match = BRANCH.exec(error.schemaPath);
    if (match === null) return true;
    const [, oneOf = '', branch = ''] = match;
    const all = branches.get(oneOf) ?? new Set<string>();
    const anyMatched = [...all].some((b) => !mismatched.has(`${oneOf}/${b}`));
    return !anyMatched || !mismatched.has(`${oneOf}/${branch}`);
  });
  const hasBranchErrors = kept.some((error) => BRANCH.test(error.schemaPath));
  return kept.filter((error) => !(error.keyword === 'oneOf' && hasBranchErrors));
}

/** Parses and validates workload text; `file` names it in errors. */
export function parseWorkload(text: string, file: string): Workload {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  const position = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${String(line)}:${String(col)}`;
  };
  if (document.errors.length > 0) {
    throw new WorkloadError(
      document.errors
        .map((error) => `${position(error.pos[0])}: ${error.message.split('\n')[0] ?? ''}`)
        .join('\n'),
    );
  }
  const value: unknown = document.toJS();
  if (validate(value)) {
    if (!engineProfiles.has(value.profile)) {
      const node = document.get('profile', true) as { range?: [number, number, number] } | undefined;
      throw new WorkloadError(
        `${node?.range === undefined ? file : position(node.range[0])}: /profile unknown engine profile "${value.profile}"; expected one of ${[...engineProfiles.keys()].join(', ')}`,
      );
    }
    checkRanges(value, file);
    return value;
  }
  const shown = relevantErrors(validate.errors ?? []);
  const lines = shown.map((error) => {
    const segments = pointerSegments(error.instancePath);
    const node = document.getIn(segments, true) as { range?: [number, number, number] } | undefined;
    const where = node?.range === undefined ? `${file}` : position(node.range[0]);
    return `${where}: ${error.instancePath === '' ? '(root)' : error.instancePath} ${describe(error)}`;
  });
  throw new WorkloadError([...new Set(lines)].join('\n'));
}

function checkRanges(workload: Workload, file: string): void {
  if (workload.requests.type === 'random-lengths') {
    for (const field of ['inputTokens', 'outputTokens'] as const) {
      const range = workload.requests[field];
      if (range.min > range.max) {
        throw new WorkloadError(
          `${file}: /requests/${field} min (${String(range.min)}) exceeds max (${String(range.max)})`,
        );
      }
    }
  }
  if (workload.arrival.type === 'trace' && workload.requests.type !== 'mooncake-trace') {
    throw new WorkloadError(`${file}: /arrival trace arrivals need requests of type "mooncake-trace"`);
  }
  if (workload.arrival.type !== 'trace' && workload.requests.type === 'mooncake-trace') {
    throw new WorkloadError(`${file}: /arrival a mooncake trace is replayed with arrival type "trace"`);
  }
  for (const field of ['slowReplicas', 'errorReplicas'] as const) {
    workload.faults?.[field]?.forEach((fault, index) => {
      if (fault.replica >= workload.replicas) {
        throw new WorkloadError(
          `${file}: /faults/${field}/${String(index)}/replica ${String(fault.replica)} is not one of the ${String(workload.replicas)} replicas`,
        );
      }
    });
  }
}

export function loadWorkload(file: string): Workload {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new WorkloadError(`cannot read workload ${file}: ${(error as Error).message}`);
  }
  return parseWorkload(text, file);
}
