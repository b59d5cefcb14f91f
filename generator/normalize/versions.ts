// A model's version split: versions side by side, each with its own source, replicas and weight, checked as a
// whole (weights that add up to 100, distinct names, no traffic to a version without pods).
import type { ModelSpec } from '../model/generated/model.ts';
import { sloLimits, type FieldProblem } from './rollout.ts';
import type { ModelSource, NormalizedVersionSplit } from './types.ts';

type VersionsSpec = NonNullable<ModelSpec['versions']>;

export interface VersionContext {
  readonly uri: string;
  readonly source: ModelSource;
  readonly replicas: number;
  readonly parseSource: (uri: string) => ModelSource;
  /** vLLM's arguments for a source; everything else about the pods is the model's. */
  readonly vllmArgs: (source: ModelSource) => readonly string[];
  /** The URI the pods are given for a version's source (KServe's form in KServe mode); the spec's by default. */
  readonly workloadUri?: (source: ModelSource, uri: string) => string;
  /** A disaggregated model's prefill arguments for a source. */
  readonly prefillArgs?: (source: ModelSource) => readonly string[];
}

export function normalizeVersions(
  spec: VersionsSpec,
  context: VersionContext,
): { readonly split: NormalizedVersionSplit; readonly problems: readonly FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const at = (index: number, field: string): string[] => ['versions', 'split', String(index), field];
  const total = spec.split.reduce((sum, version) => sum + version.weight, 0);
  if (total !== 100) {
    problems.push({
      path: ['versions', 'split'],
      message: `expected weights that add up to 100, got ${spec.split.map((v) => v.weight).join(' + ')} = ${total}`,
    });
  }
  const seen = new Set<string>();
  const versions = spec.split.map((version, index) => {
    if (seen.has(version.name)) {
      problems.push({
        path: at(index, 'name'),
        message: `expected unique version names, "${version.name}" repeats`,
      });
    }
    seen.add(version.name);
    const uri = version.uri ?? context.uri;
    const parsed = version.uri === undefined ? context.source : context.parseSource(uri);
    let source = parsed;
    if (version.revision !== undefined) {
      if (parsed.kind === 'hf') {
        source = { kind: 'hf', repository: parsed.repository, revision: version.revision };
      } else {
        problems.push({
          path: at(index, 'revision'),
          message: `expected no revision for a ${parsed.kind}:// version (revision applies to hf:// only)`,
        });
      }
    }
    const replicas = version.replicas ?? context.replicas;
    if (replicas === 0 && version.weight > 0) {
      problems.push({
        path: at(index, version.replicas === undefined ? 'weight' : 'replicas'),
        message: `expected replicas above 0 for a version with weight ${version.weight}: its traffic would have no pod to go to`,
      });
    }
    return {
      name: version.name,
      weight: version.weight,
      replicas,
      uri: context.workloadUri === undefined ? uri : context.workloadUri(source, uri),
      source,
      args: context.vllmArgs(source),
      ...(context.prefillArgs === undefined ? {} : { prefillArgs: context.prefillArgs(source) }),
    };
  });
  return {
    split: { versions, ...(spec.analysis === undefined ? {} : { analysis: sloLimits(spec.analysis) }) },
    problems,
  };
}
