// How one model replica maps onto nodes: a replica that needs more GPUs than one node of its accelerator type
// holds spans several nodes as a LeaderWorkerSet group, with tensor and pipeline parallelism across them.

export interface ParallelismSpec {
  readonly tensor: number;
  readonly pipeline: number;
  readonly data: number;
  readonly dataLocal: number;
}

export interface NodeShape {
  readonly type: string;
  readonly gpusPerNode: number;
  /** Whether the platform installs LeaderWorkerSet (components.leaderWorkerSet). */
  readonly leaderWorkerSet: boolean;
}

export interface ReplicaTopology {
  /** GPUs each pod requests. */
  readonly gpusPerPod: number;
  /** Pods (nodes) per replica; 1 for a single-node replica. */
  readonly nodes: number;
}

/** A problem at a field of the spec, said in words with what to write instead. */
export interface TopologyProblem {
  readonly path: readonly string[];
  readonly message: string;
}

export function replicaTopology(
  parallelism: ParallelismSpec,
  shape: NodeShape,
): { ok: true; topology: ReplicaTopology } | { ok: false; problem: TopologyProblem } {
  const { tensor, pipeline, data, dataLocal } = parallelism;
  if (dataLocal !== data) {
    return {
      ok: false,
      problem: {
        path: ['parallelism', 'dataLocal'],
        message: `expected dataLocal equal to data (${data}): data-parallel ranks stay on one node (spread a replica over nodes with parallelism.tensor or parallelism.pipeline)`,
      },
    };
  }
  const perReplica = tensor * pipeline * dataLocal;
  const { gpusPerNode } = shape;
  if (perReplica <= gpusPerNode) {
    return { ok: true, topology: { gpusPerPod: perReplica, nodes: 1 } };
  }
  const product = `parallelism.tensor ${tensor} x pipeline ${pipeline} x dataLocal ${dataLocal} = ${perReplica} GPUs`;
  if (dataLocal > 1) {
    return {
      ok: false,
      problem: {
        path: ['parallelism', 'data'],
        message: `expected data 1 for a replica that spans nodes (${product}, but a ${shape.type} node holds ${gpusPerNode}): run data-parallel replicas as separate replicas (replicas: ${String(data)})`,
      },
    };
  }
  if (!shape.leaderWorkerSet) {
    return {
      ok: false,
      problem: {
        path: ['parallelism', 'tensor'],
        message: `expected at most ${gpusPerNode} GPUs per replica (${product}, but a ${shape.type} node holds ${gpusPerNode}): a replica across nodes needs components.leaderWorkerSet: true in the platform profile`,
      },
    };
  }
  if (perReplica % gpusPerNode !== 0) {
    return {
      ok: false,
      problem: {
        path: ['parallelism', 'tensor'],
        message: `expected a multiple of ${gpusPerNode} GPUs per replica when it spans nodes (${product}; a ${shape.type} node holds ${gpusPerNode}): every node of a group runs the same number of ranks`,
      },
    };
  }
  return { ok: true, topology: { gpusPerPod: gpusPerNode, nodes: perReplica / gpusPerNode } };
}
