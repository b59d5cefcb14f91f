// A model's canary rollout: the steps Argo Rollouts walks, the GPU budget and the analysis limits, checked
// against the model's topology.
import type { ModelSpec } from '../model/generated/model.ts';
import { modelDefaults } from './defaults.ts';
import type { NormalizedRollout, SloLimits } from './types.ts';

type RolloutSpec = NonNullable<ModelSpec['rollout']>;
type SloLimitsSpec = NonNullable<RolloutSpec['analysis']>;

/** A problem with one field of a model spec section, before it is located in the file. */
export interface FieldProblem {
  readonly path: readonly string[];
  readonly message: string;
}

export interface RolloutContext {
  /** Nodes one replica spans; above 1 the replicas are LeaderWorkerSet groups. */
  readonly nodes: number;
  readonly startupTimeoutSeconds: number;
}

/** Loading the weights may take the whole startup budget; the deadline leaves ten minutes on top of it. */
const progressMarginSeconds = 600;

export function normalizeRollout(
  spec: RolloutSpec,
  context: RolloutContext,
): { readonly rollout: NormalizedRollout; readonly problems: readonly FieldProblem[] } {
  const problems: FieldProblem[] = [];
  if (context.nodes > 1) {
    problems.push({
      path: ['rollout'],
      message: `expected no rollout: each replica spans ${context.nodes} nodes (a LeaderWorkerSet group), and Argo Rollouts can only canary pods of single-node replicas`,
    });
  }
  let previous = 0;
  spec.steps.forEach((step, index) => {
    if (step.weight <= previous) {
      problems.push({
        path: ['rollout', 'steps', String(index), 'weight'],
        message: `expected a weight above the previous step's ${previous} (the canary's share only grows), got ${step.weight}`,
      });
    }
    previous = Math.max(previous, step.weight);
    if (step.analysis === true && spec.analysis === undefined) {
      problems.push({
        path: ['rollout', 'steps', String(index), 'analysis'],
        message:
          'expected rollout.analysis with the limits (ttftP95Seconds, interTokenLatencyP95Seconds, errorRatio) for a step that runs the analysis',
      });
    }
  });
  const analysis = spec.analysis;
  const rollout: NormalizedRollout = {
    steps: spec.steps.map((step) => ({
      weight: step.weight,
      analysis: step.analysis ?? analysis !== undefined,
      ...(step.pause === undefined ? {} : { pause: step.pause }),
    })),
    canaryReplicas: spec.canaryReplicas ?? modelDefaults.canaryReplicas,
    progressDeadlineSeconds:
      spec.progressDeadlineSeconds ?? context.startupTimeoutSeconds + progressMarginSeconds,
    ...(analysis === undefined ? {} : { analysis: sloLimits(analysis) }),
  };
  return { rollout, problems };
}

/** Limits of an analysis with the measurement defaults applied. */
export function sloLimits(spec: SloLimitsSpec): SloLimits {
  return {
    ttftP95Seconds: spec.ttftP95Seconds,
    interTokenLatencyP95Seconds: spec.interTokenLatencyP95Seconds,
    errorRatio: spec.errorRatio,
    interval: spec.interval ?? modelDefaults.analysisInterval,
    count: spec.count ?? modelDefaults.analysisCount,
  };
}
