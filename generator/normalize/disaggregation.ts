// A model's prefill/decode disaggregation: the prefill stage placed on the node shape with its own tensor and
// pipeline sizes (data parallelism is the model's), checked against what cannot go with it.
import type { ModelSpec } from '../model/generated/model.ts';
import { modelDefaults } from './defaults.ts';
import type { FieldProblem } from './rollout.ts';
import { replicaTopology, type NodeShape, type ParallelismSpec, type ReplicaTopology } from './topology.ts';

type DisaggregationSpec = NonNullable<ModelSpec['disaggregation']>;

/** The prefill stage's shape and the router's threshold; vLLM's arguments are the caller's to derive. */
export interface DisaggregationPlan {
  readonly kvConnector: DisaggregationSpec['kvConnector'];
  readonly minUncachedTokens: number;
  readonly prefill: {
    readonly replicas: number;
    readonly tensor: number;
    readonly pipeline: number;
    readonly topology: ReplicaTopology;
  };
}

export function planDisaggregation(
  spec: DisaggregationSpec,
  context: {
    /** The model's (decode) parallelism, which the prefill stage inherits where the spec says nothing. */
    readonly parallelism: ParallelismSpec;
    readonly nodeShape: NodeShape;
    /** The spec also asks for a pod canary. */
    readonly rollout: boolean;
  },
): { readonly plan: DisaggregationPlan; readonly problems: readonly FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const { parallelism } = context;
  const tensor = spec.prefill?.parallelism?.tensor ?? parallelism.tensor;
  const pipeline = spec.prefill?.parallelism?.pipeline ?? parallelism.pipeline;
  const placed = replicaTopology({ ...parallelism, tensor, pipeline }, context.nodeShape);
  if (!placed.ok) {
    const field = placed.problem.path[1] ?? 'tensor';
    problems.push({
      path:
        field === 'tensor' || field === 'pipeline'
          ? ['disaggregation', 'prefill', 'parallelism', field]
          : placed.problem.path,
      message: `${placed.problem.message} (prefill pods)`,
    });
  }
  if (context.rollout) {
    problems.push({
      path: ['disaggregation'],
      message:
        'expected no rollout for a disaggregated model: a pod canary would mix new and old prefill and decode pods; try a new version with versions (a split) instead',
    });
  }
  return {
    plan: {
      kvConnector: spec.kvConnector,
      minUncachedTokens: spec.minUncachedTokens ?? modelDefaults.minUncachedTokens,
      prefill: {
        replicas: spec.prefill?.replicas ?? modelDefaults.prefillReplicas,
        tensor,
        pipeline,
        topology: placed.ok ? placed.topology : { gpusPerPod: 1, nodes: 1 },
      },
    },
    problems,
  };
}
