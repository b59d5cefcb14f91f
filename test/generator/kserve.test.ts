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
  'ks-split': {
    model: { uri: 'hf://example/ks-split', revision: 'v1' },
    autoscaling: { maxReplicas: 4 },
    versions: {
      split: [
        { name: 'stable', weight: 90 },
        { name: 'next', weight: 10, revision: 'v2' },
      ],
    },
  },
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

describe('a version split in KServe mode', () => {
  const objects = renderedApplication(current.root, 'dev', 'dev-ks-split');
  const services = objects.filter((o) => o.kind === 'LLMInferenceService') as (LlmInferenceService & {
    spec: { labels?: Record<string, string> };
  })[];
  // The labels KServe's controller gives the pods of an LLMInferenceService: its own, and spec.labels.
  const podsOf = (service: (typeof services)[number]): Record<string, string> => ({
    ...KSERVE_POD,
    'app.kubernetes.io/name': service.metadata.name,
    'app.kubernetes.io/component': 'llminferenceservice-workload',
    'llm-d.ai/role': 'both',
    ...service.spec.labels,
  });
  const matchLabels = (kind: string, name?: string): Record<string, string>[] =>
    objects
      .filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name))
      .map((o) => {
        const spec = (o as KubeObject & { spec: Record<string, { matchLabels?: Record<string, string> }> })
          .spec;
        const selector = spec.selector ?? spec.podSelector;
        return (selector?.matchLabels ?? selector) as Record<string, string>;
      });

  it('is one LLMInferenceService per version, each with its revision, valid against the schema', () => {
    expect(services.map((s) => s.metadata.name)).toEqual(['ks-split-stable', 'ks-split-next']);
    for (const service of services) expect(validateObject(service)).toEqual([]);
    expect(services.map((s) => s.spec.model.uri)).toEqual([
      'hf://example/ks-split:v1',
      'hf://example/ks-split:v2',
    ]);
    for (const service of services) {
      const args = service.spec.template.containers[0]?.args ?? [];
      expect(args[0]).toBe('/mnt/models');
      expect(args).not.toContain('--revision');
      expect(args[args.indexOf('--served-model-name') + 1]).toBe('example/ks-split');
      expect(service.spec.replicas).toBeUndefined();
    }
    expect(services.map((s) => s.spec.labels)).toEqual([
      { 'switchyard.dev/model': 'ks-split', 'switchyard.dev/track': 'stable' },
      { 'switchyard.dev/model': 'ks-split', 'switchyard.dev/track': 'next' },
    ]);
  });

  it('gives each version a pool that selects exactly that version’s pods, and the route the weights', () => {
    const pools = objects.filter((o) => o.kind === 'InferencePool');
    expect(pools.map((p) => p.metadata.name)).toEqual(['ks-split-stable', 'ks-split-next']);
    const poolSelectors = matchLabels('InferencePool');
    const pods = services.map(podsOf);
    poolSelectors.forEach((selector, i) => {
      pods.forEach((labels, j) => expect(selects(selector, labels)).toBe(i === j));
    });
    const route = objects.find(
      (o) => o.kind === 'HTTPRoute' && o.metadata.name === 'ks-split',
    ) as KubeObject & {
      spec: { rules: { backendRefs: { kind: string; name: string; weight: number }[] }[] };
    };
    const backends = route.spec.rules.flatMap((rule) => rule.backendRefs);
    expect(new Set(backends.map((b) => `${b.kind}/${b.name}=${b.weight}`))).toEqual(
      new Set(['InferencePool/ks-split-stable=90', 'InferencePool/ks-split-next=10']),
    );
  });

  it('holds every version’s pods, and only this model’s, in its Service, policy and monitor', () => {
    const pods = services.map(podsOf);
    const otherModel = { ...KSERVE_POD, 'app.kubernetes.io/name': 'ks-basic' };
    const selectors = [
      ...matchLabels('Service', 'ks-split-vllm'),
      ...matchLabels('NetworkPolicy', 'ks-split-vllm'),
      ...matchLabels('PodMonitor'),
    ];
    expect(selectors).toHaveLength(3);
    for (const selector of selectors) {
      for (const labels of pods) expect(selects(selector, labels)).toBe(true);
      expect(selects(selector, otherModel)).toBe(false);
    }
  });

  it('autoscales each version’s KServe Deployment on that version’s queue', () => {
    const scalers = objects.filter((o) => o.kind === 'ScaledObject') as (KubeObject & {
      spec: { scaleTargetRef: { name: string }; triggers: { metadata: { query: string } }[] };
    })[];
    expect(scalers.map((s) => s.spec.scaleTargetRef.name)).toEqual([
      'ks-split-stable-kserve',
      'ks-split-next-kserve',
    ]);
    expect(scalers.map((s) => s.spec.triggers[0]?.metadata.query)).toEqual([
      expect.stringContaining('track="stable"'),
      expect.stringContaining('track="next"'),
    ]);
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
