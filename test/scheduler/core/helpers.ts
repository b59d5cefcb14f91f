// Builders shared by the core tests.
import { parseSchedulerConfig, SchedulerConfigError } from '../../../scheduler/core/config.ts';
import { policyPresets } from '../../../scheduler/core/presets.ts';
import type {
  Endpoint,
  EndpointMetrics,
  FlowControlConfig,
  RoutingRequest,
  SchedulerConfig,
} from '../../../scheduler/core/types.ts';

/** An EndpointPickerConfig of one profile: each plugin named by its type, with its weight (1) and parameters. */
export function profileConfig(
  plugins: readonly { type: string; weight?: number; parameters?: Record<string, unknown> }[],
): SchedulerConfig {
  return {
    apiVersion: 'llm-d.ai/v1alpha1',
    kind: 'EndpointPickerConfig',
    plugins: plugins.map((p) => ({ type: p.type, name: p.type, parameters: p.parameters ?? {} })),
    schedulingProfiles: [
      { name: 'default', plugins: plugins.map((p) => ({ pluginRef: p.type, weight: p.weight ?? 1 })) },
    ],
  };
}

export function metrics(overrides: Partial<EndpointMetrics> = {}): EndpointMetrics {
  return {
    waitingRequests: 0,
    runningRequests: 0,
    kvCacheUsage: 0,
    activeLoras: [],
    waitingLoras: [],
    maxLoras: 0,
    scrapedAtMs: 0,
    ...overrides,
  };
}

export function endpoint(
  i: number,
  m: Partial<EndpointMetrics> | undefined = {},
  labels: Record<string, string> = {},
): Endpoint {
  return {
    key: `10.0.0.${i}:8000`,
    address: `10.0.0.${i}`,
    port: 8000,
    labels,
    metrics: m === undefined ? undefined : metrics(m),
  };
}

export function tokens(length: number, offset = 0): Uint32Array {
  return Uint32Array.from({ length }, (_, i) => i + offset);
}

let counter = 0;
export function request(overrides: Partial<RoutingRequest> = {}): RoutingRequest {
  counter++;
  return {
    id: `req-${counter}`,
    model: 'qwen',
    priority: 0,
    fairnessId: 'default-flow',
    promptTokens: tokens(256),
    ...overrides,
  };
}

/** A deterministic clock and random source for createScheduler. */
export function fakeDeps(seed = 1): { now(): number; random(): number; advance(ms: number): void } {
  let t = 0;
  let s = seed >>> 0 || 1;
  return {
    now: () => t,
    random: () => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return (s >>> 0) / 4294967296;
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

/** The problems parseSchedulerConfig reports for a config that must be rejected. */
export function configProblems(text: string, source: string): string[] {
  try {
    parseSchedulerConfig(text, source);
  } catch (error) {
    if (error instanceof SchedulerConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected the config to be rejected');
}

/**
 * least-request with a utilization detector of these parameters and a flowControl section (100 queued at
 * most, round-robin fairness, FCFS, dispatch while the pool is below saturation) with `flowControl` on top.
 */
export function leastRequestWithQueue(
  detector: Record<string, unknown>,
  flowControl: Partial<FlowControlConfig> & Pick<FlowControlConfig, 'requestTtlMs'>,
): SchedulerConfig {
  const base = policyPresets['least-request'];
  return {
    ...base,
    plugins: [
      ...base.plugins,
      { type: 'utilization-detector', name: 'utilization-detector', parameters: detector },
    ],
    flowControl: {
      maxQueuedRequests: 100,
      fairness: 'round-robin',
      ordering: { type: 'fcfs' },
      dispatch: { type: 'pool-saturation' },
      ...flowControl,
    },
  };
}
