// KServe mode (serving: kserve), rendered by real helm from the generated Applications: each model becomes a
// KServe LLMInferenceService of the release's API version running vLLM with the spec's arguments, and the model
// chart's router, InferencePool, policies and monitors select the pods KServe's controller labels.
import { afterAll, describe, expect, it } from 'vitest';
import { validateObject } from '../../generator/verify/objects.ts';
import { generatedDevRepo } from './helpers.ts';
import { renderedApplication, type KubeObject } from './platform/platform-helpers.ts';

interface Container {
  name: string;
  command: string[];
  args: string[];
  ports: { name: string; containerPort: number }[];
  env: { name: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[];
  resources: { requests: Record<string, string>; limits: Record<string, string> };
}
interface LlmInferenceService extends KubeObject {
  apiVersion: string;
  spec: {
    model: { uri: string; name: string };
    replicas?: number;
    template: { containers: Container[] };
  };
}

const KSERVE_POD = {
  'app.kubernetes.io/part-of': 'llminferenceservice',
  'kserve.io/component': 'workload',
};

const platform = (release: string) => ({
  release,
  serving: 'kserve',
  components: { kserve: true, keda: true },
  cloud: { provider: 'generic' },
  accelerators: { 'nvidia-gpu': { resourceName: 'nvidia.com/gpu', gpusPerNode: 4 } },
});
const models = {
  'ks-basic': {
    model: { uri: 'hf://example/ks-basic', revision: 'v2', hfTokenSecret: { name: 'hf-token' } },
    replicas: 2,
    parallelism: { tensor: 2 },
    vllm: { maxModelLen: 4096 },
    lora: { adapters: [{ name: 'sql', source: 'hf://example/sql-lora' }] },
    aliases: [{ name: 'basic' }],
  },
  'ks-scaled': { autoscaling: { maxReplicas: 3 } },
};
const current = generatedDevRepo(platform('2026.11'), models);
const older = generatedDevRepo(platform('2026.05'), { 'ks-basic': models['ks-basic'] });
afterAll(() => {
  current.cleanup();
  older.cleanup();
});

const selects = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

describe('a model in KServe mode', () => {
  const objects = renderedApplication(current.root, 'dev', 'dev-ks-basic');
  const service = objects.find((o) => o.kind === 'LLMInferenceService') as LlmInferenceService;
  const main = service.spec.template.containers[0];
  const podLabels = { ...KSERVE_POD, 'app.kubernetes.io/name': 'ks-basic' };

  it('is an LLMInferenceService of the release’s API version, valid against its schema', () => {
    expect(service.apiVersion).toBe('serving.kserve.io/v1alpha2');
    expect(validateObject(service)).toEqual([]);
    expect(service.spec.model).toEqual({ uri: 'hf://example/ks-basic:v2', name: 'example/ks-basic' });
    expect(service.spec.replicas).toBe(2);
    expect(service.metadata.annotations?.['serving.kserve.io/storageSecretName']).toBe('hf-token');
  });

  it('runs vLLM with the spec’s arguments on the weights KServe provides, and the GPUs they need', () => {
    expect(main?.name).toBe('main');
    expect(main?.command).toEqual(['vllm', 'serve']);
    const args = main?.args ?? [];
    expect(args[0]).toBe('/mnt/models');
    expect(args).not.toContain('--revision');
    expect(args[args.indexOf('--tensor-parallel-size') + 1]).toBe('2');
    expect(args[args.indexOf('--served-model-name') + 1]).toBe('example/ks-basic');
    expect(args).toContain('--enable-lora');
    expect(main?.resources.limits['nvidia.com/gpu']).toBe('2');
    expect(main?.ports).toContainEqual({ name: 'http', containerPort: 8000, protocol: 'TCP' });
    expect(main?.env.find((e) => e.name === 'HF_TOKEN')?.valueFrom?.secretKeyRef).toEqual({
      name: 'hf-token',
      key: 'HF_TOKEN',
    });
  });

  it('renders no workload of its own, and points its pool, policies and monitor at KServe’s pods', () => {
    expect(
      objects
        .filter((o) => ['Deployment', 'LeaderWorkerSet', 'Rollout'].includes(o.kind))
        .map((o) => o.metadata.name),
    ).toEqual(['ks-basic-router']);
    const pool = objects.find((o) => o.kind === 'InferencePool') as KubeObject & {
      spec: { selector: { matchLabels: Record<string, string> }; targetPorts: { number: number }[] };
    };
    expect(pool.spec.selector.matchLabels).toEqual(podLabels);
    expect(pool.spec.targetPorts).toEqual([{ number: 8000 }]);
    const vllmPolicy = objects.find(
      (o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'ks-basic-vllm',
    ) as (KubeObject & { spec: { podSelector: { matchLabels: Record<string, string> } } }) | undefined;
    expect(vllmPolicy?.spec.podSelector.matchLabels).toEqual(podLabels);
    const routerPolicy = objects.find(
      (o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'ks-basic-router',
    ) as KubeObject & {
      spec: { egress: { to?: { podSelector?: { matchLabels: Record<string, string> } }[] }[] };
    };
    const scrapeTargets = routerPolicy.spec.egress
      .flatMap((rule) => rule.to ?? [])
      .map((to) => to.podSelector?.matchLabels);
    expect(scrapeTargets.some((labels) => labels !== undefined && selects(labels, podLabels))).toBe(true);
    const monitor = objects.find((o) => o.kind === 'PodMonitor') as KubeObject & {
      spec: { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: { port: string }[] };
    };
    expect(monitor.spec.selector.matchLabels).toEqual(podLabels);
    expect(monitor.spec.podMetricsEndpoints[0]?.port).toBe('http');
  });

  it('autoscales KServe’s Deployment and leaves its replicas to the autoscaler', () => {
    const scaled = renderedApplication(current.root, 'dev', 'dev-ks-scaled');
    const llmisvc = scaled.find((o) => o.kind === 'LLMInferenceService') as LlmInferenceService;
    expect(llmisvc.spec.replicas).toBeUndefined();
    const scaler = scaled.find((o) => o.kind === 'ScaledObject') as KubeObject & {
      spec: { scaleTargetRef: { apiVersion: string; kind: string; name: string } };
    };
    expect(scaler.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'ks-scaled-kserve',
    });
  });
});

describe('KServe mode on a release whose KServe serves v1alpha1', () => {
  it('renders a v1alpha1 LLMInferenceService valid against that version’s schema', () => {
    const service = renderedApplication(older.root, 'dev', 'dev-ks-basic').find(
      (o) => o.kind === 'LLMInferenceService',
    ) as LlmInferenceService;
    expect(service.apiVersion).toBe('serving.kserve.io/v1alpha1');
    expect(validateObject(service)).toEqual([]);
  });
});
