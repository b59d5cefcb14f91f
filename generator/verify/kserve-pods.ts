// The pods KServe's controller creates for an LLMInferenceService, as label sets and pod specs, so that pools,
// Services and policies that select them can be checked like those of the workloads in git. Labels as KServe
// v0.16 to v0.20 write them (pkg/controller/*/llmisvc/workload_single_node.go and workload_multi_node.go).
import { isJsonObject, type JsonObject } from './openapi-schema.ts';

/**
 * The pod templates of the pods KServe creates, one per kind of pod, for the main workload and for spec.prefill:
 * a single-node workload's pods, or a group's leader and workers (only the leader counts as a workload pod, the
 * one the pool may select). The main workload's role is "decode" beside a prefill stage, "both" without one. A
 * workload's labels (spec.labels, spec.prefill.labels) reach its pods from v1alpha2 on.
 */
export function llmInferenceServicePods(service: JsonObject): JsonObject[] {
  const metadata = isJsonObject(service.metadata) ? service.metadata : {};
  const spec = isJsonObject(service.spec) ? service.spec : {};
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  const labelsOf = (workload: JsonObject): Record<string, string> =>
    service.apiVersion === 'serving.kserve.io/v1alpha2' && isJsonObject(workload.labels)
      ? Object.fromEntries(
          Object.entries(workload.labels).filter(
            (entry): entry is [string, string] => typeof entry[1] === 'string',
          ),
        )
      : {};
  const podsOf = (workload: JsonObject, role: string, suffix: string): JsonObject[] => {
    const pod = (component: string, serving: boolean, podSpec: unknown): JsonObject => ({
      metadata: {
        labels: {
          ...labelsOf(workload),
          'app.kubernetes.io/component': `llminferenceservice-workload${component}${suffix}`,
          'app.kubernetes.io/name': name,
          'app.kubernetes.io/part-of': 'llminferenceservice',
          ...(serving ? { 'kserve.io/component': 'workload', 'llm-d.ai/role': role } : {}),
        },
      },
      spec: isJsonObject(podSpec) ? podSpec : {},
    });
    if (!isJsonObject(workload.worker)) return [pod('', true, workload.template)];
    return [pod('-leader', true, workload.template), pod('-worker', false, workload.worker)];
  };
  if (!isJsonObject(spec.prefill)) return podsOf(spec, 'both', '');
  return [...podsOf(spec, 'decode', ''), ...podsOf(spec.prefill, 'prefill', '-prefill')];
}
