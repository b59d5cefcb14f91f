// Reading an EndpointPickerConfig from YAML: parse with source positions, validate against
// schemas/router-config.schema.json, check cross-references, normalise defaults. Every error names
// source:line:column, the field, and what was expected; all errors are reported together.
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import { isMap, isNode, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import schema from '../../schemas/router-config.schema.json' with { type: 'json' };
import { buildPlan } from './plan.ts';
import { PluginConfigError } from './plugins/params.ts';
import type {
  FlowControlConfig,
  FlowDispatch,
  FlowOrdering,
  PluginSpec,
  SchedulerConfig,
  SchedulingProfile,
} from './types.ts';

export class SchedulerConfigError extends Error {
  override readonly name = 'SchedulerConfigError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(problems.join('\n'));
    this.problems = problems;
  }
}

let validator: ReturnType<Ajv2020['compile']> | undefined;
function validate(value: unknown): readonly ErrorObject[] {
  validator ??= new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);
  return validator(value) ? [] : (validator.errors ?? []);
}

interface RawConfig {
  apiVersion: SchedulerConfig['apiVersion'];
  kind: 'EndpointPickerConfig';
  plugins: { type: string; name?: string; parameters?: Record<string, unknown> }[];
  schedulingProfiles: { name: string; plugins: { pluginRef: string; weight?: number }[] }[];
  flowControl?: {
    maxQueuedRequests?: number;
    requestTtl?: number | string;
    fairness?: FlowControlConfig['fairness'];
    ordering?:
      | { type: 'fcfs' }
      | {
          type: 'prefill-deadline';
          prefillTokensPerSecond: number;
          slack?: number;
          maxSlack?: number | string;
        };
    dispatch?:
      | { type: 'pool-saturation' }
      | {
          type: 'endpoint-queue-depth';
          maxWaitingRequests?: number;
          metricsStalenessThreshold?: number | string;
        };
  };
}

function dispatchOf(raw: NonNullable<RawConfig['flowControl']>['dispatch']): FlowDispatch {
  if (raw === undefined || raw.type === 'pool-saturation') return { type: 'pool-saturation' };
  return {
    type: 'endpoint-queue-depth',
    maxWaitingRequests: raw.maxWaitingRequests ?? 5,
    metricsStalenessMs: durationMs(raw.metricsStalenessThreshold, 200),
  };
}

function orderingOf(raw: NonNullable<RawConfig['flowControl']>['ordering']): FlowOrdering {
  if (raw === undefined || raw.type === 'fcfs') return { type: 'fcfs' };
  return {
    type: 'prefill-deadline',
    prefillTokensPerSecond: raw.prefillTokensPerSecond,
    slack: raw.slack ?? 30,
    maxSlackMs: durationMs(raw.maxSlack, 60_000),
  };
}

function durationMs(value: number | string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(value);
  if (match === null) return fallback; // the schema already rejected other strings
  const amount = Number(match[1]);
  return match[2] === 'ms' ? amount : match[2] === 's' ? amount * 1000 : amount * 60_000;
}

/** JSON pointer segments of an ajv instancePath ("/plugins/0/type" → ["plugins", 0, "type"]). */
function pointerPath(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function locate(
  doc: Document,
  lines: LineCounter,
  path: readonly (string | number)[],
  atKey = false,
): string {
  const parent = atKey ? doc.getIn(path.slice(0, -1), true) : undefined;
  if (isMap(parent)) {
    const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === path[path.length - 1]);
    if (isNode(pair?.key) && pair.key.range) {
      const { line, col } = lines.linePos(pair.key.range[0]);
      return `${line}:${col}`;
    }
  }
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range !== undefined && node.range !== null) {
      const { line, col } = lines.linePos(node.range[0]);
      return `${line}:${col}`;
    }
  }
  return '1:1';
}

function describe(error: ErrorObject): string {
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return `unknown field "${String(p['additionalProperty'])}"`;
    case 'required':
      return `missing required field "${String(p['missingProperty'])}"`;
    case 'enum':
      return `must be one of ${(p['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify(p['allowedValue'])}`;
    default:
      return error.message ?? error.keyword;
  }
}

export function parseSchedulerConfig(text: string, source: string): SchedulerConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new SchedulerConfigError(
      doc.errors.map((e) => {
        const { line, col } = lines.linePos(e.pos[0]);
        return `${source}:${line}:${col}: invalid YAML: ${e.message.split('\n')[0]}`;
      }),
    );
  }
  const value: unknown = doc.toJS();
  const problems: string[] = [];
  const at = (path: readonly (string | number)[], message: string, atKey = false): void => {
    const field = path.length === 0 ? '(document)' : '/' + path.join('/');
    problems.push(`${source}:${locate(doc, lines, path, atKey)}: ${field}: ${message}`);
  };
  const errors = validate(value).filter((e) => e.keyword !== 'if');
  for (const error of errors) {
    const path = pointerPath(error.instancePath);
    const unknownField = error.keyword === 'additionalProperties';
    if (unknownField) path.push(String(error.params['additionalProperty']));
    at(path, describe(error), unknownField);
  }
  if (problems.length > 0) throw new SchedulerConfigError(problems);

  const raw = value as RawConfig;
  const names = new Map<string, number>();
  raw.plugins.forEach((p, i) => {
    const name = p.name ?? p.type;
    if (names.has(name))
      at(['plugins', i, p.name === undefined ? 'type' : 'name'], `plugin name "${name}" is used twice`);
    names.set(name, i);
  });
  raw.schedulingProfiles.forEach((profile, i) =>
    profile.plugins.forEach((ref, j) => {
      if (!names.has(ref.pluginRef)) {
        at(
          ['schedulingProfiles', i, 'plugins', j, 'pluginRef'],
          `"${ref.pluginRef}" names no plugin in plugins`,
        );
      }
    }),
  );
  if (problems.length > 0) throw new SchedulerConfigError(problems);

  const plugins: PluginSpec[] = raw.plugins.map((p) => ({
    type: p.type,
    name: p.name ?? p.type,
    parameters: p.parameters ?? {},
  }));
  const schedulingProfiles: SchedulingProfile[] = raw.schedulingProfiles.map((profile) => ({
    name: profile.name,
    plugins: profile.plugins.map((r) => ({ pluginRef: r.pluginRef, weight: r.weight ?? 1 })),
  }));
  const config: SchedulerConfig = {
    apiVersion: raw.apiVersion,
    kind: raw.kind,
    plugins,
    schedulingProfiles,
    ...(raw.flowControl === undefined
      ? {}
      : {
          flowControl: {
            maxQueuedRequests: raw.flowControl.maxQueuedRequests ?? 5000,
            requestTtlMs: durationMs(raw.flowControl.requestTtl, 60_000),
            fairness: raw.flowControl.fairness ?? 'round-robin',
            ordering: orderingOf(raw.flowControl.ordering),
            dispatch: dispatchOf(raw.flowControl.dispatch),
          },
        }),
  };
  try {
    buildPlan(config);
  } catch (error) {
    if (error instanceof PluginConfigError) {
      if (error.path !== undefined) {
        at(error.path, error.message);
        throw new SchedulerConfigError(problems);
      }
      throw new SchedulerConfigError([
        `${source}:${locate(doc, lines, ['schedulingProfiles'])}: ${error.message}`,
      ]);
    }
    throw error;
  }
  return config;
}

/** The configuration as an EndpointPickerConfig document (durations in milliseconds): what parses back to it. */
export function schedulerConfigDocument(config: SchedulerConfig): Record<string, unknown> {
  const flow = config.flowControl;
  return {
    apiVersion: config.apiVersion,
    kind: config.kind,
    plugins: config.plugins,
    schedulingProfiles: config.schedulingProfiles,
    ...(flow === undefined ? {} : { flowControl: flowControlDocument(flow) }),
  };
}

function flowControlDocument(flow: FlowControlConfig): Record<string, unknown> {
  const { ordering, dispatch } = flow;
  return {
    maxQueuedRequests: flow.maxQueuedRequests,
    requestTtl: flow.requestTtlMs,
    fairness: flow.fairness,
    ordering:
      ordering.type === 'fcfs'
        ? ordering
        : {
            type: ordering.type,
            prefillTokensPerSecond: ordering.prefillTokensPerSecond,
            slack: ordering.slack,
            maxSlack: ordering.maxSlackMs,
          },
    dispatch:
      dispatch.type === 'pool-saturation'
        ? dispatch
        : {
            type: dispatch.type,
            maxWaitingRequests: dispatch.maxWaitingRequests,
            metricsStalenessThreshold: dispatch.metricsStalenessMs,
          },
  };
}
