// A model's autoscaling: replicas between a floor and a ceiling, driven by vLLM's queue in Prometheus through
// KEDA or prometheus-adapter, whichever the platform installs. The autoscaler owns the replica count, so a
// spec that also fixes one is refused.
import type { ModelSpec } from '../model/generated/model.ts';
import { modelDefaults } from './defaults.ts';
import type { FieldProblem } from './rollout.ts';
import type { NormalizedAutoscaling } from './types.ts';

type AutoscalingSpec = NonNullable<ModelSpec['autoscaling']>;

export interface AutoscalingContext {
  /** Where the platform's settings are written, for messages. */
  readonly platformFile: string;
  readonly keda: boolean;
  readonly prometheusAdapter: boolean;
  readonly monitoring: boolean;
  /** The spec's own replica count, if it states one. */
  readonly replicas: number | undefined;
  /** Indexes of version-split entries that state their own replicas. */
  readonly versionsWithReplicas: readonly number[];
}

export function normalizeAutoscaling(
  spec: AutoscalingSpec,
  context: AutoscalingContext,
): { readonly autoscaling: NormalizedAutoscaling; readonly problems: readonly FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const minReplicas = spec.minReplicas ?? modelDefaults.autoscalingMinReplicas;
  const { maxReplicas } = spec;
  if (maxReplicas < minReplicas) {
    problems.push({
      path: ['autoscaling', 'maxReplicas'],
      message: `expected at least minReplicas (${minReplicas}), got ${maxReplicas}`,
    });
  }
  const owner = `the autoscaler owns the replica count (autoscaling.minReplicas ${minReplicas} to maxReplicas ${maxReplicas})`;
  if (context.replicas !== undefined) {
    problems.push({ path: ['replicas'], message: `expected no replicas with autoscaling: ${owner}` });
  }
  for (const index of context.versionsWithReplicas) {
    problems.push({
      path: ['versions', 'split', String(index), 'replicas'],
      message: `expected no replicas for a version of an autoscaled model: ${owner} of every version`,
    });
  }
  if (!context.monitoring) {
    problems.push({
      path: ['autoscaling'],
      message: `expected monitoring.enabled in ${context.platformFile} for autoscaling: the autoscaler reads vLLM's queue from the metrics the model's PodMonitor collects`,
    });
  } else if (!context.keda && !context.prometheusAdapter) {
    problems.push({
      path: ['autoscaling'],
      message: `expected components.keda: true or components.prometheusAdapter: true in ${context.platformFile} for autoscaling: the autoscaler reads vLLM's queue from Prometheus through one of them`,
    });
  }
  return {
    autoscaling: {
      engine: context.keda ? 'keda' : 'hpa',
      minReplicas,
      maxReplicas,
      waitingRequestsPerReplica: spec.waitingRequestsPerReplica ?? modelDefaults.waitingRequestsPerReplica,
      ...(spec.kvCacheUsage === undefined ? {} : { kvCacheUsage: spec.kvCacheUsage }),
      scaleDownDelaySeconds: spec.scaleDownDelaySeconds ?? modelDefaults.scaleDownDelaySeconds,
    },
    problems,
  };
}
