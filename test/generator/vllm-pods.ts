// The vLLM pods of a rendered model: the pod template that serves HTTP (a Deployment's, or a LeaderWorkerSet's
// leader; with a version split, the first version's) and the vLLM command line it runs.

export interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: {
    containers: {
      args: string[];
      command?: string[];
      securityContext: Record<string, unknown>;
      resources: { requests: Record<string, string>; limits: Record<string, string> };
    }[];
  };
}

type Rendered = Record<string, unknown> & { kind?: unknown; metadata?: unknown; spec?: unknown };

export function servingPod(objects: readonly Rendered[]): PodTemplate {
  const workload = objects.find(
    (o) =>
      (o.kind === 'Deployment' || o.kind === 'LeaderWorkerSet' || o.kind === 'Rollout') &&
      /-vllm(-[a-z0-9-]+)?$/.test((o.metadata as { name: string }).name),
  );
  const spec = workload?.spec as
    { template?: PodTemplate; leaderWorkerTemplate?: { leaderTemplate: PodTemplate } } | undefined;
  const template = spec?.template ?? spec?.leaderWorkerTemplate?.leaderTemplate;
  if (template === undefined) throw new Error('no vLLM workload rendered');
  return template;
}

/** vLLM's arguments: the container args, or the `vllm serve …` a multi-node leader runs through its shell. */
export function vllmArgs(template: PodTemplate): string[] {
  const container = template.spec.containers[0];
  if (container?.command === undefined) return container?.args ?? [];
  const script = container.args[0] ?? '';
  const serve = script.slice(script.indexOf('vllm serve') + 'vllm serve'.length);
  return [...serve.matchAll(/'([^']*)'/g)].map((match) => match[1] ?? '');
}
