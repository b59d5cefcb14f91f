// KServe mode (serving: kserve), rendered by real helm from the generated Applications: each model becomes a
// KServe LLMInferenceService of the release's API version running vLLM with the spec's arguments, and the model
// chart's router, InferencePool, policies and monitors select the pods KServe's controller labels.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { llmInferenceServicePods } from '../../generator/verify/kserve-pods.ts';
import { validateObject } from '../../generator/verify/objects.ts';
import type { JsonObject } from '../../generator/verify/openapi-schema.ts';
import { parseSchedulerConfig } from '../../scheduler/core/config.ts';
import { createScheduler } from '../../scheduler/core/scheduler.ts';
import type { Endpoint } from '../../scheduler/core/types.ts';
import { metrics } from '../scheduler/core/helpers.ts';
import { formatProblem, validateRepository } from '../../generator/verify/run.ts';
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
  components: { kserve: true, keda: true, leaderWorkerSet: true },
  cloud: { provider: 'generic' },
  accelerators: {
    'nvidia-gpu': {
      resourceName: 'nvidia.com/gpu',
      gpusPerNode: 4,
      groupTopologyKey: 'example.com/node-group',
    },
  },
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
  // Two nodes of four GPUs per replica: one pipeline stage per node.
  'ks-groups': {
    model: { uri: 'hf://example/ks-groups' },
    parallelism: { tensor: 4, pipeline: 2 },
    autoscaling: { maxReplicas: 2 },
  },
  'ks-precise': { router: { prefixCache: 'precise' } },
  // Mixture of experts: experts sharded over the tensor-parallel ranks of one node.
  'ks-moe': { parallelism: { tensor: 4, expert: true } },
  'ks-pvc': { model: { uri: 'pvc://models/qwen' } },
  'ks-pd': { disaggregation: { kvConnector: 'nixl', prefill: { replicas: 2 } } },
  // Disaggregated, each stage a group across nodes.
  'ks-pd-groups': {
    parallelism: { tensor: 4, pipeline: 2 },
    disaggregation: { kvConnector: 'nixl', prefill: { replicas: 1 } },
  },
  // Groups across nodes, two versions of them.
  'ks-groups-split': {
    parallelism: { tensor: 4, pipeline: 2 },
    versions: {
      split: [
        { name: 'a', weight: 50 },
        { name: 'b', weight: 50, revision: 'v2' },
      ],
    },
  },
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
const older = generatedDevRepo(platform('2026.05'), {
  'ks-basic': models['ks-basic'],
  'ks-groups': models['ks-groups'],
});
afterAll(() => {
  current.cleanup();
  older.cleanup();
});

/** What the one KEDA ScaledObject among a model's objects scales. */
const scaleTargetOf = (objects: readonly KubeObject[]): unknown =>
  (
    objects.find((o) => o.kind === 'ScaledObject') as
      | (KubeObject & { spec: { scaleTargetRef: { apiVersion: string; kind: string; name: string } } })
      | undefined
  )?.spec.scaleTargetRef;

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
    // Every pod of the service (the workers of a group too), not only its workload pods.
    const { 'kserve.io/component': _workload, ...servicePods } = podLabels;
    expect(vllmPolicy?.spec.podSelector.matchLabels).toEqual(servicePods);
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
    expect(monitor.spec.podMetricsEndpoints[0]?.port).toBe('metrics');
    expect(service.spec.template.containers.map((c) => c.name)).toEqual(['main', 'metrics-proxy']);
  });

  it('autoscales KServe’s Deployment and leaves its replicas to the autoscaler', () => {
    const scaled = renderedApplication(current.root, 'dev', 'dev-ks-scaled');
    const llmisvc = scaled.find((o) => o.kind === 'LLMInferenceService') as LlmInferenceService;
    expect(llmisvc.spec.replicas).toBeUndefined();
    expect(scaleTargetOf(scaled)).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'ks-scaled-kserve',
    });
  });
});

describe('a model whose replicas span nodes, in KServe mode', () => {
  const objects = renderedApplication(current.root, 'dev', 'dev-ks-groups');
  const service = objects.find((o) => o.kind === 'LLMInferenceService') as LlmInferenceService & {
    spec: { parallelism: { tensor: number; pipeline: number }; worker: { containers: Container[] } };
  };
  const leader = service.spec.template.containers[0];
  const worker = service.spec.worker.containers[0];
  // The labels KServe's controller gives a group's pods (the leader is the workload pod that serves HTTP).
  const group = { 'app.kubernetes.io/name': 'ks-groups', 'app.kubernetes.io/part-of': 'llminferenceservice' };
  const leaderPod = {
    ...group,
    'app.kubernetes.io/component': 'llminferenceservice-workload-leader',
    'kserve.io/component': 'workload',
    'llm-d.ai/role': 'both',
  };
  const workerPod = { ...group, 'app.kubernetes.io/component': 'llminferenceservice-workload-worker' };
  const selectorOf = (kind: string, name: string): Record<string, string> => {
    const found = objects.find((o) => o.kind === kind && o.metadata.name === name) as KubeObject & {
      spec: { selector: Record<string, string> | { matchLabels: Record<string, string> } };
    };
    const { selector } = found.spec;
    // A Service's selector is the labels themselves; the others' are label selectors.
    return kind === 'Service'
      ? (selector as Record<string, string>)
      : (selector as { matchLabels: Record<string, string> }).matchLabels;
  };

  it('is a leader and workers whose group KServe sizes by the pipeline stages, one per node', () => {
    expect(validateObject(service)).toEqual([]);
    // KServe's LeaderWorkerSet size is spec.parallelism.pipeline; each pod holds one node's GPUs.
    expect(service.spec.parallelism).toEqual({ tensor: 4, pipeline: 2 });
    expect(leader?.resources.limits['nvidia.com/gpu']).toBe('4');
    expect(worker?.resources.limits['nvidia.com/gpu']).toBe('4');
    expect(service.metadata.annotations?.['leaderworkerset.sigs.k8s.io/exclusive-topology']).toBe(
      'example.com/node-group',
    );
  });

  it('starts the leader’s Ray head and vLLM with the spec’s parallelism, and the workers into its cluster', () => {
    expect(leader?.command).toEqual(['/bin/sh', '-c']);
    const script = leader?.args.join(' ') ?? '';
    expect(script).toContain('ray start --head --port=6379');
    expect(script).toContain('"$LWS_GROUP_SIZE"');
    expect(script).toMatch(/exec vllm serve '\/mnt\/models'/);
    expect(script).toContain("'--tensor-parallel-size' '4'");
    expect(script).toContain("'--pipeline-parallel-size' '2'");
    expect(worker?.args).toEqual([
      'exec ray start --address=$(LWS_LEADER_ADDRESS):6379 --block --disable-usage-stats',
    ]);
    expect(leader?.ports.map((p) => p.name)).toEqual(['http', 'ray']);
    expect(worker?.ports.map((p) => p.name)).toEqual(['ray']);
  });

  it('routes to the leaders only, and lets a group’s pods reach one another', () => {
    for (const [kind, name] of [
      ['InferencePool', 'ks-groups'],
      ['Service', 'ks-groups-vllm'],
      ['PodMonitor', 'ks-groups-vllm'],
    ] as const) {
      expect(selects(selectorOf(kind, name), leaderPod), `${kind} ${name}`).toBe(true);
      expect(selects(selectorOf(kind, name), workerPod), `${kind} ${name}`).toBe(false);
    }
    const policy = objects.find(
      (o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'ks-groups-vllm',
    ) as KubeObject & {
      spec: {
        podSelector: { matchLabels: Record<string, string> };
        ingress: { from?: { podSelector?: { matchLabels: Record<string, string> } }[] }[];
      };
    };
    for (const pod of [leaderPod, workerPod]) {
      expect(selects(policy.spec.podSelector.matchLabels, pod)).toBe(true);
      const admitted = policy.spec.ingress.some((rule) =>
        (rule.from ?? []).some(
          (peer) => peer.podSelector !== undefined && selects(peer.podSelector.matchLabels, pod),
        ),
      );
      expect(admitted).toBe(true);
    }
  });

  it('autoscales KServe’s LeaderWorkerSet by whole groups', () => {
    expect(scaleTargetOf(objects)).toEqual({
      apiVersion: 'leaderworkerset.x-k8s.io/v1',
      kind: 'LeaderWorkerSet',
      name: 'ks-groups-kserve-mn',
    });
  });

  it('has the pipeline-parallel preset KServe looks up, from the platform, in KServe’s namespace', () => {
    for (const [repo, apiVersion] of [
      [current, 'serving.kserve.io/v1alpha2'],
      [older, 'serving.kserve.io/v1alpha1'],
    ] as const) {
      const presets = renderedApplication(repo.root, 'dev', 'dev-platform-kserve-presets');
      expect(presets.map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.name}`)).toEqual(
        ['worker', 'decode-worker', 'prefill-worker'].map(
          (workload) =>
            `${apiVersion} LLMInferenceServiceConfig kserve-config-llm-${workload}-pipeline-parallel`,
        ),
      );
      for (const preset of presets) expect(validateObject(preset)).toEqual([]);
    }
  });
});

describe('other models in KServe mode', () => {
  const serviceOf = (name: string): LlmInferenceService =>
    renderedApplication(current.root, 'dev', `dev-${name}`).find(
      (o) => o.kind === 'LLMInferenceService',
    ) as LlmInferenceService;

  it('shards a mixture of experts over the tensor-parallel ranks, on one node’s GPUs', () => {
    const main = serviceOf('ks-moe').spec.template.containers[0];
    expect(main?.args).toContain('--enable-expert-parallel');
    expect(main?.args[(main.args.indexOf('--tensor-parallel-size') ?? 0) + 1]).toBe('4');
    expect(main?.resources.limits['nvidia.com/gpu']).toBe('4');
  });

  it('reads pvc:// weights where KServe mounts the claim’s path', () => {
    const service = serviceOf('ks-pvc');
    expect(service.spec.model.uri).toBe('pvc://models/qwen');
    expect(service.spec.template.containers[0]?.args[0]).toBe('/mnt/models');
  });
});

describe('the precise prefix cache in KServe mode', () => {
  const objects = renderedApplication(current.root, 'dev', 'dev-ks-precise');
  const service = objects.find((o) => o.kind === 'LLMInferenceService') as LlmInferenceService;
  const main = service.spec.template.containers[0];

  it('publishes vLLM’s KV-cache events from each pod, on a port the router may reach', () => {
    const args = main?.args ?? [];
    const config = args[args.indexOf('--kv-events-config') + 1] ?? '';
    expect(config).toContain('tcp://*:5557');
    expect(config).toContain('$(POD_IP)');
    expect(main?.env.find((e) => e.name === 'POD_IP')).toEqual({
      name: 'POD_IP',
      valueFrom: { fieldRef: { fieldPath: 'status.podIP' } },
    });
    expect(main?.ports).toContainEqual({ name: 'kv-events', containerPort: 5557, protocol: 'TCP' });
    const policy = objects.find(
      (o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'ks-precise-vllm',
    ) as KubeObject & {
      spec: { ingress: { ports?: { port: number }[] }[] };
    };
    expect(policy.spec.ingress.some((rule) => (rule.ports ?? []).some((p) => p.port === 5557))).toBe(true);
  });
});

describe('a disaggregated model in KServe mode', () => {
  const objects = renderedApplication(current.root, 'dev', 'dev-ks-pd');
  const service = objects.find((o) => o.kind === 'LLMInferenceService') as LlmInferenceService & {
    spec: {
      template: { serviceAccountName?: string; initContainers?: (Container & { livenessProbe: unknown })[] };
      prefill: { replicas: number; template: { containers: Container[] } };
    };
  };
  const decode = service.spec.template;
  const decodeMain = decode.containers[0];
  const prefillMain = service.spec.prefill.template.containers[0];
  // The labels KServe gives the decode and the prefill pods of a disaggregated service.
  const decodePod = {
    ...KSERVE_POD,
    'app.kubernetes.io/name': 'ks-pd',
    'app.kubernetes.io/component': 'llminferenceservice-workload',
    'llm-d.ai/role': 'decode',
  };
  const prefillPod = {
    ...decodePod,
    'app.kubernetes.io/component': 'llminferenceservice-workload-prefill',
    'llm-d.ai/role': 'prefill',
  };

  it('is a decode workload and spec.prefill, each running vLLM with the KV connector', () => {
    expect(validateObject(service)).toEqual([]);
    expect(service.spec.prefill.replicas).toBe(2);
    for (const main of [decodeMain, prefillMain]) {
      expect(main?.args[0]).toBe('/mnt/models');
      expect(main?.args).toContain('--kv-transfer-config');
      expect(main?.env.map((e) => e.name)).toContain('VLLM_NIXL_SIDE_CHANNEL_HOST');
    }
    // Decode vLLM listens behind the sidecar; prefill vLLM on the pool's port.
    const portOf = (args: readonly string[] = []): string | undefined => args[args.indexOf('--port') + 1];
    expect(portOf(decodeMain?.args)).toBe('8200');
    expect(portOf(prefillMain?.args)).toBe('8000');
  });

  it('puts the routing sidecar in front of decode vLLM under KServe’s name for it, with the chart’s identity', () => {
    expect(decode.initContainers?.map((c) => c.name)).toEqual(['llm-d-routing-sidecar']);
    const sidecar = decode.initContainers?.[0];
    expect(sidecar?.args).toContain('--inference-pool=llm/ks-pd');
    expect(sidecar?.args).toContain('--model-server-port=8200');
    expect(sidecar?.ports).toContainEqual({ name: 'http', containerPort: 8000, protocol: 'TCP' });
    expect(sidecar?.livenessProbe).toBeDefined();
    expect(decode.serviceAccountName).toBe('ks-pd-pd-sidecar');
    expect(objects.some((o) => o.kind === 'RoleBinding' && o.metadata.name === 'ks-pd-pd-sidecar')).toBe(
      true,
    );
  });

  it('gives the router both stages in one pool, told apart by llm-d’s role label', () => {
    const pool = objects.find((o) => o.kind === 'InferencePool') as KubeObject & {
      spec: { selector: { matchLabels: Record<string, string> } };
    };
    expect(selects(pool.spec.selector.matchLabels, decodePod)).toBe(true);
    expect(selects(pool.spec.selector.matchLabels, prefillPod)).toBe(true);
    const sidecarPolicy = objects.find(
      (o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'ks-pd-pd-sidecar',
    ) as KubeObject & { spec: { podSelector: { matchLabels: Record<string, string> } } };
    expect(selects(sidecarPolicy.spec.podSelector.matchLabels, decodePod)).toBe(true);
    expect(selects(sidecarPolicy.spec.podSelector.matchLabels, prefillPod)).toBe(false);
  });

  it('has a router that picks a decode pod and a prefill pod among the pods KServe labels', () => {
    const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'ks-pd-router') as
      (KubeObject & { data: Record<string, string> }) | undefined;
    const config = parseSchedulerConfig(
      Object.values(configMap?.data ?? {})[0] ?? '',
      'ks-pd-router ConfigMap',
    );
    let now = 0;
    const scheduler = createScheduler(config, { now: () => now, random: () => 0.5 });
    const [decodeLabels, prefillLabels] = llmInferenceServicePods(service as unknown as JsonObject).map(
      (template) => (template.metadata as { labels: Record<string, string> }).labels,
    );
    const endpoint = (address: string, labels: Record<string, string> | undefined): Endpoint => ({
      key: `${address}:8000`,
      address,
      port: 8000,
      labels: labels ?? {},
      metrics: metrics(),
    });
    const endpoints = [
      endpoint('10.0.0.1', decodeLabels),
      endpoint('10.0.0.2', decodeLabels),
      endpoint('10.0.1.1', prefillLabels),
    ];
    now = 10;
    const picked = scheduler.pick(
      {
        id: 'long',
        model: 'example/ks-pd',
        priority: 0,
        fairnessId: 'default-flow',
        promptTokens: Uint32Array.from({ length: 4096 }, (_, i) => i + 1),
      },
      endpoints,
    );
    expect(picked.kind).toBe('picked');
    if (picked.kind !== 'picked') return;
    expect(picked.endpoints[0]?.labels['llm-d.ai/role']).toBe('decode');
    expect(picked.prefill?.address).toBe('10.0.1.1');
  });

  it('runs each stage across nodes as its own group when the spec says so', () => {
    const groups = renderedApplication(current.root, 'dev', 'dev-ks-pd-groups').find(
      (o) => o.kind === 'LLMInferenceService',
    ) as LlmInferenceService & {
      spec: {
        parallelism: unknown;
        worker?: unknown;
        template: { initContainers?: { name: string }[] };
        prefill: { parallelism: unknown; worker?: unknown };
      };
    };
    expect(validateObject(groups)).toEqual([]);
    expect(groups.spec.parallelism).toEqual({ tensor: 4, pipeline: 2 });
    expect(groups.spec.prefill.parallelism).toEqual({ tensor: 4, pipeline: 2 });
    expect(groups.spec.worker).toBeDefined();
    expect(groups.spec.prefill.worker).toBeDefined();
    expect(groups.spec.template.initContainers?.map((c) => c.name)).toEqual(['llm-d-routing-sidecar']);
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

// The upstream CRDs next to the repository, where present (not on a fresh clone).
const referenceCrds = join(import.meta.dirname, '../../../shared/reference/crds');

describe('the KServe-mode environments as a whole', () => {
  it.each([
    ['2026.11', current],
    ['2026.05', older],
  ])(
    'validate on release %s: the models project allows the services, and pools and Services find their pods',
    async (_release, repo) => {
      const report = await validateRepository({
        root: repo.root,
        envs: ['dev'],
        ...(existsSync(referenceCrds) ? { crdsDir: referenceCrds } : {}),
      });
      expect(report.problems.map(formatProblem)).toEqual([]);
      expect(report.objects).toBeGreaterThan(50);
    },
    120_000,
  );
});

describe('KServe mode on a release whose KServe serves v1alpha1', () => {
  it('renders a v1alpha1 LLMInferenceService valid against that version’s schema', () => {
    const service = renderedApplication(older.root, 'dev', 'dev-ks-basic').find(
      (o) => o.kind === 'LLMInferenceService',
    ) as LlmInferenceService;
    expect(service.apiVersion).toBe('serving.kserve.io/v1alpha1');
    expect(validateObject(service)).toEqual([]);
  });

  it('renders a group across nodes valid against that version’s schema', () => {
    const service = renderedApplication(older.root, 'dev', 'dev-ks-groups').find(
      (o) => o.kind === 'LLMInferenceService',
    ) as LlmInferenceService;
    expect(validateObject(service)).toEqual([]);
  });
});
