// KServe mode: a KServe LLMInferenceService runs the model's vLLM pods; the model chart keeps its router,
// InferencePool, route, objectives and monitors in front of them. What KServe cannot run the way the spec asks,
// on the KServe versions the release table allows, is refused here with the reason.
import type { ModelSpec } from '../model/generated/model.ts';
import type { FieldProblem } from './rollout.ts';
import type { ModelSource } from './types.ts';
import { modelMountPath } from './vllm-args.ts';

/** KServe's storage initializer reads a Hugging Face token from this Secret key only. */
export const KSERVE_HF_TOKEN_KEY = 'HF_TOKEN';

export interface KserveFacts {
  /** Nodes one replica spans. */
  readonly nodes: number;
  readonly source: ModelSource;
}

export function kserveProblems(spec: ModelSpec, facts: KserveFacts): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const refuse = (path: readonly string[], message: string): void => {
    problems.push({ path, message });
  };
  if (facts.nodes > 1) {
    refuse(
      [
        'parallelism',
        spec.parallelism?.pipeline !== undefined && spec.parallelism.pipeline > 1 ? 'pipeline' : 'tensor',
      ],
      `expected a replica on one node with serving: kserve (this one spans ${facts.nodes}): KServe spreads a replica over nodes only by data-parallel ranks (its pipeline-parallel preset is not shipped), never by tensor or pipeline stages; use serving: model-server for it`,
    );
  }
  if (spec.disaggregation !== undefined) {
    refuse(
      ['disaggregation'],
      "expected no disaggregation with serving: kserve: KServe's decode preset brings its own routing sidecar, whose flags change between the KServe versions the release table allows; use serving: model-server for it",
    );
  }
  if (spec.rollout !== undefined) {
    refuse(
      ['rollout'],
      'expected no rollout with serving: kserve: KServe owns the vLLM Deployment and reconciles its pod template, so Argo Rollouts cannot run a canary of it',
    );
  }
  if (spec.versions !== undefined) {
    refuse(
      ['versions'],
      "expected no version split with serving: kserve: KServe weighs traffic between versions only from v0.20 (router.route weight), newer than the release table's KServe",
    );
  }
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
  if (facts.source.kind === 'oci') {
    refuse(
      ['model', 'uri'],
      'expected an hf:// or pvc:// model with serving: kserve: KServe mounts oci:// weights only in its OCI modelcar mode, which the platform does not turn on',
    );
  }
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
