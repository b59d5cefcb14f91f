// KServe mode: a KServe LLMInferenceService (one per version of a version split) runs the model's vLLM pods; the
// model chart keeps its router, InferencePools, route, objectives and monitors in front of them. What KServe
// cannot run the way the spec asks, on the KServe versions the release table allows, is refused here with the
// reason.
import type { ModelSpec } from '../model/generated/model.ts';
import type { FieldProblem } from './rollout.ts';
import type { ModelSource } from './types.ts';
import { PLATFORM_RELEASES, type PlatformRelease } from '../platform/releases.ts';
import { modelMountPath } from './vllm-args.ts';

/** KServe's storage initializer reads a Hugging Face token from this Secret key only. */
export const KSERVE_HF_TOKEN_KEY = 'HF_TOKEN';

export interface KserveFacts {
  /** Nodes one replica spans, of gpusPerNode GPUs each. */
  readonly nodes: number;
  readonly gpusPerNode: number;
  readonly tensor: number;
  readonly pipeline: number;
  /** A disaggregated model's prefill stage, placed like the model's. */
  readonly prefill?: { readonly tensor: number; readonly pipeline: number; readonly nodes: number };
  readonly source: ModelSource;
  /** The sources of a version split's versions, in order. */
  readonly versionSources: readonly ModelSource[];
  /** The platform release and the LLMInferenceService API version its KServe serves. */
  readonly release?: {
    readonly id: string;
    readonly apiVersion: PlatformRelease['llmInferenceServiceApiVersion'];
  };
}

/** A version split's pods are told apart by labels of ours, which KServe hands its pods from v1alpha2 on. */
const VERSION_SPLIT_API_VERSION = 'serving.kserve.io/v1alpha2';

const OCI_REFUSAL =
  'expected an hf:// or pvc:// model with serving: kserve: KServe mounts oci:// weights only in its OCI modelcar mode, which the platform does not turn on';

export function kserveProblems(spec: ModelSpec, facts: KserveFacts): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const refuse = (path: readonly string[], message: string): void => {
    problems.push({ path, message });
  };
  // KServe sizes the LeaderWorkerSet of a replica across nodes by its pipeline stages (parallelism.pipeline).
  const onePipelineStagePerNode = (
    stage: { readonly tensor: number; readonly pipeline: number; readonly nodes: number },
    field: readonly string[],
    explicitPipeline: boolean,
    what: string,
  ): void => {
    if (stage.nodes > 1 && stage.pipeline !== stage.nodes) {
      refuse(
        [...field, explicitPipeline ? 'pipeline' : 'tensor'],
        `expected one pipeline stage per node with serving: kserve (${what}tensor ${stage.tensor} x pipeline ${stage.pipeline} spans ${stage.nodes} nodes of ${facts.gpusPerNode} GPUs): KServe makes a group of as many pods as pipeline stages; write ${field.join('.')}.tensor: ${facts.gpusPerNode} and pipeline: ${stage.nodes}, or use serving: model-server`,
      );
    }
  };
  onePipelineStagePerNode(facts, ['parallelism'], spec.parallelism?.pipeline !== undefined, '');
  if (facts.prefill !== undefined) {
    onePipelineStagePerNode(
      facts.prefill,
      ['disaggregation', 'prefill', 'parallelism'],
      spec.disaggregation?.prefill?.parallelism?.pipeline !== undefined,
      'prefill pods: ',
    );
  }
  if (spec.rollout !== undefined) {
    refuse(
      ['rollout'],
      'expected no rollout with serving: kserve: KServe owns the vLLM Deployment and reconciles its pod template, so Argo Rollouts cannot run a canary of it',
    );
  }
  if (
    spec.versions !== undefined &&
    facts.release !== undefined &&
    facts.release.apiVersion !== VERSION_SPLIT_API_VERSION
  ) {
    const releases = PLATFORM_RELEASES.filter(
      (r) => r.llmInferenceServiceApiVersion === VERSION_SPLIT_API_VERSION,
    )
      .map((r) => r.id)
      .join(', ');
    refuse(
      ['versions'],
      `expected no version split with serving: kserve on release ${facts.release.id}: its KServe serves LLMInferenceService ${facts.release.apiVersion}, which does not hand the pods the labels each version's InferencePool selects by (spec.labels); use a release whose KServe serves ${VERSION_SPLIT_API_VERSION} (${releases})`,
    );
  }
  facts.versionSources.forEach((source, index) => {
    if (source.kind === 'oci' && facts.source.kind !== 'oci') {
      refuse(['versions', 'split', String(index), 'uri'], OCI_REFUSAL);
    }
  });
  if (spec.vllm?.cache === 'shared') {
    refuse(
      ['vllm', 'cache'],
      "expected no shared cache with serving: kserve: KServe's storage initializer downloads the weights into a volume of its own (use a pvc:// model to keep them)",
    );
  }
  const tokenKey = spec.model.hfTokenSecret?.key;
  if (tokenKey !== undefined && tokenKey !== KSERVE_HF_TOKEN_KEY) {
    refuse(
      ['model', 'hfTokenSecret', 'key'],
      `expected ${KSERVE_HF_TOKEN_KEY} with serving: kserve (or no key), got "${tokenKey}": KServe's storage initializer reads the token from a Secret key of that name only`,
    );
  }
  (spec.lora?.adapters ?? []).forEach((adapter, index) => {
    if (adapter.source.startsWith('pvc://')) {
      refuse(
        ['lora', 'adapters', String(index), 'source'],
        "expected an hf:// adapter with serving: kserve: KServe mounts only the model's own path of its claim",
      );
    }
  });
  if (facts.source.kind === 'oci') refuse(['model', 'uri'], OCI_REFUSAL);
  return problems;
}

/** The model URI as KServe reads it: a Hugging Face revision follows the repository after a colon. */
export function kserveModelUri(source: ModelSource, uri: string): string {
  return source.kind === 'hf' && source.revision !== undefined
    ? `hf://${source.repository}:${source.revision}`
    : uri;
}

/**
 * vLLM's arguments for a KServe pod: the weights are where KServe puts them (the storage initializer's download,
 * or the claim mounted at the model's path) and the revision was downloaded already.
 */
export function kserveVllmArgs(args: readonly string[]): string[] {
  const out = [modelMountPath, ...args.slice(1)];
  const revision = out.indexOf('--revision');
  if (revision >= 0) out.splice(revision, 2);
  return out;
}
