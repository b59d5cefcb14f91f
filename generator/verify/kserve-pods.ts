// The pods KServe's controller creates for an LLMInferenceService, as label sets and pod specs, so that pools,
// Services and policies that select them can be checked like those of the workloads in git. Labels as KServe
// v0.16 to v0.20 write them (pkg/controller/*/llmisvc/workload_single_node.go and workload_multi_node.go).
import { isJsonObject, type JsonObject } from './openapi-schema.ts';

export interface KservePodTemplate {
  readonly template: JsonObject;
}

const PART_OF = { 'app.kubernetes.io/part-of': 'llminferenceservice' } as const;

/**
 * One pod template per kind of pod: a single-node service's workload pods, or a group's leader and workers (only
 * the leader counts as a workload pod). spec.labels reach the pods from v1alpha2 on.
 */
export function llmInferenceServicePods(service: JsonObject): KservePodTemplate[] {
  const metadata = isJsonObject(service.metadata) ? service.metadata : {};
  const spec = isJsonObject(service.spec) ? service.spec : {};
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  const own =
    service.apiVersion === 'serving.kserve.io/v1alpha2' && isJsonObject(spec.labels)
      ? Object.fromEntries(Object.entries(spec.labels).filter(([, value]) => typeof value === 'string'))
      : {};
  const pod = (component: string, workload: boolean, podSpec: unknown): KservePodTemplate => ({
    template: {
      metadata: {
        labels: {
          ...own,
          'app.kubernetes.io/component': component,
          'app.kubernetes.io/name': name,
          ...PART_OF,
          ...(workload ? { 'kserve.io/component': 'workload', 'llm-d.ai/role': 'both' } : {}),
        },
      },
      spec: isJsonObject(podSpec) ? podSpec : {},
    },
  });
  if (!isJsonObject(spec.worker)) return [pod('llminferenceservice-workload', true, spec.template)];
  return [
    pod('llminferenceservice-workload-leader', true, spec.template),
    pod('llminferenceservice-workload-worker', false, spec.worker),
  ];
}
