// Prefill/decode disaggregation, rendered by real helm from the generated Applications: the two workloads and
// their GPUs, vLLM's ports and KV-transfer settings, the decode pods' routing sidecar, the pools' selectors, the
// sidecar's identity and network reach, and the router profile, which the router itself parses and runs against
// the rendered pods' labels.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseSchedulerConfig } from '../../scheduler/core/config.ts';
import { createScheduler } from '../../scheduler/core/scheduler.ts';
import type { Endpoint } from '../../scheduler/core/types.ts';
import { metrics } from '../scheduler/core/helpers.ts';
import { generatedDevRepo, nodeShapePlatform } from './helpers.ts';
import { renderedApplication, type KubeObject } from './platform/platform-helpers.ts';
import { validateObject } from '../../generator/verify/objects.ts';

interface Container {
  name: string;
  args?: string[];
  command?: string[];
  restartPolicy?: string;
  ports?: { name: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  readinessProbe?: { httpGet?: { port: string } };
  startupProbe?: { httpGet?: { port: string } };
  livenessProbe?: { httpGet?: { port: string } };
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: {
    automountServiceAccountToken?: boolean;
    serviceAccountName?: string;
    initContainers?: Container[];
    containers: Container[];
    volumes: { name: string; projected?: unknown }[];
  };
}
interface Workload extends KubeObject {
  spec: {
    replicas: number;
    selector?: { matchLabels: Record<string, string> };
    template?: PodTemplate;
    leaderWorkerTemplate?: { size: number; leaderTemplate: PodTemplate; workerTemplate: PodTemplate };
  };
}

const GPUS_PER_NODE = 4;
const models = {
  'pd-basic': {
    parallelism: { tensor: 2 },
    replicas: 2,
    disaggregation: {
      kvConnector: 'nixl',
      prefill: { replicas: 3, parallelism: { tensor: 1 } },
      minUncachedTokens: 256,
    },
  },
  // Decode replicas span two nodes; a prefill replica fits on one.
  'pd-wide': {
    parallelism: { tensor: 8 },
    disaggregation: { kvConnector: 'nixl', prefill: { parallelism: { tensor: 4 } } },
  },
  // Prefill replicas span two nodes; a decode replica fits on one.
  'pd-wide-prefill': {
    parallelism: { tensor: 2 },
    disaggregation: { kvConnector: 'nixl', prefill: { parallelism: { tensor: 8 } } },
  },
  'pd-split': {
    disaggregation: { kvConnector: 'nixl' },
    versions: {
      split: [
        { name: 'base', weight: 80 },
        { name: 'tuned', weight: 20, uri: 'hf://example/pd-split-tuned' },
      ],
    },
  },
} as const;

const repo = generatedDevRepo(
  nodeShapePlatform(GPUS_PER_NODE),
  Object.fromEntries(
    Object.entries(models).map(([name, spec]) => [name, { vllm: { maxModelLen: 4096 }, ...spec }]),
  ),
);
afterAll(repo.cleanup);

const rendered = (name: string): KubeObject[] => renderedApplication(repo.root, 'dev', `dev-${name}`);
const workloads = (objects: readonly KubeObject[]): Workload[] =>
  objects.filter((o) => o.kind === 'Deployment' || o.kind === 'LeaderWorkerSet') as Workload[];
const named = (objects: readonly KubeObject[], kind: string, name: string): KubeObject => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name}`);
  return found;
};
const selects = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

/** The pod that serves HTTP (a Deployment's, a group's leader) and, for a group, its worker. */
function pods(workload: Workload): { serving: PodTemplate; worker?: PodTemplate } {
  const spec = workload.spec;
  if (spec.template !== undefined) return { serving: spec.template };
  const lwt = spec.leaderWorkerTemplate;
  if (lwt === undefined) throw new Error(`${workload.metadata.name} has no pod template`);
  return { serving: lwt.leaderTemplate, worker: lwt.workerTemplate };
}

function vllmArgs(template: PodTemplate): string[] {
  const container = template.spec.containers.find((c) => c.name === 'vllm');
  if (container?.command === undefined) return container?.args ?? [];
  const script = container.args?.[0] ?? '';
  return [...script.slice(script.indexOf('vllm serve')).matchAll(/'([^']*)'/g)].map((m) => m[1] ?? '');
}

const flag = (args: readonly string[], name: string): string | undefined => {
  const at = args.indexOf(name);
  return at < 0 ? undefined : args[at + 1];
};
const portNamed = (container: Container | undefined, name: string): number | undefined =>
  container?.ports?.find((p) => p.name === name)?.containerPort;

describe('a disaggregated model on one node per replica', () => {
  const objects = rendered('pd-basic');
  const decode = named(objects, 'Deployment', 'pd-basic-vllm-decode') as Workload;
  const prefill = named(objects, 'Deployment', 'pd-basic-vllm-prefill') as Workload;

  it('runs a decode and a prefill workload with the replicas and role labels of the spec', () => {
    expect(workloads(objects).map((w) => w.metadata.name)).toEqual([
      'pd-basic-router',
      'pd-basic-vllm-decode',
      'pd-basic-vllm-prefill',
    ]);
    expect(decode.spec.replicas).toBe(2);
    expect(prefill.spec.replicas).toBe(3);
    const decodePod = pods(decode).serving.metadata.labels;
    const prefillPod = pods(prefill).serving.metadata.labels;
    expect(decodePod['llm-d.ai/role']).toBe('decode');
    expect(prefillPod['llm-d.ai/role']).toBe('prefill');
    // Each workload owns its own pods only.
    expect(selects(decode.spec.selector?.matchLabels ?? {}, prefillPod)).toBe(false);
    expect(selects(prefill.spec.selector?.matchLabels ?? {}, decodePod)).toBe(false);
  });

  it('requests the GPUs each stage’s parallelism needs and passes vLLM the same sizes', () => {
    for (const [workload, tensor] of [
      [decode, 2],
      [prefill, 1],
    ] as const) {
      const template = pods(workload).serving;
      const vllm = template.spec.containers.find((c) => c.name === 'vllm');
      expect(vllm?.resources.requests['nvidia.com/gpu']).toBe(String(tensor));
      expect(vllm?.resources.limits['nvidia.com/gpu']).toBe(String(tensor));
      expect(flag(vllmArgs(template), '--tensor-parallel-size')).toBe(String(tensor));
    }
  });

  it('moves the KV cache over NIXL from both stages, each announcing its own pod IP', () => {
    for (const workload of [decode, prefill]) {
      const template = pods(workload).serving;
      expect(JSON.parse(flag(vllmArgs(template), '--kv-transfer-config') ?? '{}')).toEqual({
        kv_connector: 'NixlConnector',
        kv_role: 'kv_both',
      });
      const vllm = template.spec.containers.find((c) => c.name === 'vllm');
      const env = Object.fromEntries((vllm?.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));
      expect(env['VLLM_NIXL_SIDE_CHANNEL_HOST']).toEqual({ fieldRef: { fieldPath: 'status.podIP' } });
      expect(portNamed(vllm, 'nixl')).toBe(Number(env['VLLM_NIXL_SIDE_CHANNEL_PORT']));
    }
  });

  it('puts the routing sidecar in front of decode vLLM, on the port the pool targets', () => {
    const pool = named(objects, 'InferencePool', 'pd-basic') as KubeObject & {
      spec: { targetPorts: { number: number }[] };
    };
    const target = pool.spec.targetPorts[0]?.number;
    const decodePod = pods(decode).serving;
    const sidecar = decodePod.spec.initContainers?.find((c) => c.name === 'llm-d-routing-sidecar');
    const vllm = decodePod.spec.containers.find((c) => c.name === 'vllm');
    expect(sidecar?.restartPolicy).toBe('Always');
    expect(portNamed(sidecar, 'http')).toBe(target);
    const vllmPort = Number(flag(vllmArgs(decodePod), '--port'));
    expect(portNamed(vllm, 'vllm')).toBe(vllmPort);
    expect(vllmPort).not.toBe(target);
    expect(sidecar?.args).toEqual(
      expect.arrayContaining([
        `--port=${target}`,
        `--model-server-port=${vllmPort}`,
        '--kv-connector=nixlv2',
        '--enable-ssrf-protection=true',
        '--inference-pool=llm/pd-basic',
      ]),
    );
    for (const probe of [vllm?.startupProbe, vllm?.livenessProbe, vllm?.readinessProbe]) {
      expect(probe?.httpGet?.port).toBe('vllm');
    }
    // Prefill pods serve vLLM itself on the target port, with no sidecar.
    const prefillPod = pods(prefill).serving;
    expect(prefillPod.spec.initContainers).toBeUndefined();
    expect(portNamed(prefillPod.spec.containers[0], 'http')).toBe(target);
    expect(Number(flag(vllmArgs(prefillPod), '--port'))).toBe(target);
  });

  it('gives the Kubernetes token to the sidecar alone, with read access to pods and pools', () => {
    const spec = pods(decode).serving.spec;
    expect(spec.automountServiceAccountToken).toBe(false);
    const account = named(objects, 'ServiceAccount', spec.serviceAccountName ?? '');
    expect(
      (account as unknown as { automountServiceAccountToken: boolean }).automountServiceAccountToken,
    ).toBe(false);
    const tokenVolume = spec.volumes.find((v) => v.projected !== undefined)?.name;
    const mounts = (c: Container): string[] => (c.volumeMounts ?? []).map((m) => m.name);
    expect(mounts(spec.initContainers?.[0] as Container)).toContain(tokenVolume);
    for (const container of spec.containers) expect(mounts(container)).not.toContain(tokenVolume);
    const role = named(objects, 'Role', spec.serviceAccountName ?? '') as KubeObject & {
      rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    };
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
      {
        apiGroups: ['inference.networking.k8s.io'],
        resources: ['inferencepools'],
        verbs: ['get', 'list', 'watch'],
      },
    ]);
  });

  it('lets prefill and decode pods reach each other, and only decode pods reach the Kubernetes API', () => {
    const policy = named(objects, 'NetworkPolicy', 'pd-basic-vllm') as KubeObject & {
      spec: {
        ingress: { from: { podSelector?: { matchLabels: Record<string, string> } }[]; ports?: unknown }[];
        egress: { to?: { podSelector?: { matchLabels: Record<string, string> } }[]; ports?: unknown }[];
      };
    };
    const prefillLabels = pods(prefill).serving.metadata.labels;
    const decodeLabels = pods(decode).serving.metadata.labels;
    const peerIngress = policy.spec.ingress.find(
      (rule) => rule.ports === undefined && rule.from.some((f) => f.podSelector !== undefined),
    );
    const peerEgress = policy.spec.egress.find(
      (rule) => rule.ports === undefined && (rule.to ?? []).some((t) => t.podSelector !== undefined),
    );
    for (const labels of [prefillLabels, decodeLabels]) {
      expect(peerIngress?.from.some((f) => selects(f.podSelector?.matchLabels ?? {}, labels))).toBe(true);
      expect(peerEgress?.to?.some((t) => selects(t.podSelector?.matchLabels ?? {}, labels))).toBe(true);
    }
    const sidecarPolicy = named(objects, 'NetworkPolicy', 'pd-basic-pd-sidecar') as KubeObject & {
      spec: { podSelector: { matchLabels: Record<string, string> }; egress: { ports: { port: number }[] }[] };
    };
    expect(selects(sidecarPolicy.spec.podSelector.matchLabels, decodeLabels)).toBe(true);
    expect(selects(sidecarPolicy.spec.podSelector.matchLabels, prefillLabels)).toBe(false);
    expect(sidecarPolicy.spec.egress.flatMap((rule) => rule.ports.map((p) => p.port))).toEqual([443, 6443]);
  });
});

describe('every rendered object of a disaggregated model', () => {
  it.each(Object.keys(models))('%s validates against its kind’s schema', (name) => {
    const problems = rendered(name).flatMap((object) =>
      validateObject(object).map((problem) => `${object.kind} ${object.metadata.name}: ${problem}`),
    );
    expect(problems).toEqual([]);
  });
});

describe('a disaggregated model whose decode replicas span nodes', () => {
  const objects = rendered('pd-wide');
  const decode = named(objects, 'LeaderWorkerSet', 'pd-wide-vllm-decode') as Workload;
  const prefill = named(objects, 'Deployment', 'pd-wide-vllm-prefill') as Workload;
  const { serving: leader, worker } = pods(decode);

  it('sizes the decode group by the node shape and keeps the prefill replica on one node', () => {
    expect(decode.spec.leaderWorkerTemplate?.size).toBe(8 / GPUS_PER_NODE);
    for (const template of [leader, worker as PodTemplate]) {
      const vllm = template.spec.containers.find((c) => c.name === 'vllm');
      expect(vllm?.resources.requests['nvidia.com/gpu']).toBe(String(GPUS_PER_NODE));
    }
    expect(flag(vllmArgs(leader), '--tensor-parallel-size')).toBe('8');
    const prefillPod = pods(prefill).serving;
    expect(prefillPod.spec.containers[0]?.resources.requests['nvidia.com/gpu']).toBe('4');
    expect(flag(vllmArgs(prefillPod), '--tensor-parallel-size')).toBe('4');
  });

  it('runs the sidecar on the group leader only, and the pool selects exactly the pods that serve HTTP', () => {
    expect(leader.spec.initContainers?.map((c) => c.name)).toEqual(['llm-d-routing-sidecar']);
    expect(worker?.spec.initContainers).toBeUndefined();
    const pool = named(objects, 'InferencePool', 'pd-wide') as KubeObject & {
      spec: { selector: { matchLabels: Record<string, string> } };
    };
    const selector = pool.spec.selector.matchLabels;
    const index = 'leaderworkerset.sigs.k8s.io/worker-index';
    expect(selects(selector, { ...leader.metadata.labels, [index]: '0' })).toBe(true);
    expect(selects(selector, { ...worker?.metadata.labels, [index]: '1' })).toBe(false);
    expect(selects(selector, pods(prefill).serving.metadata.labels)).toBe(true);
  });
});

describe('a disaggregated model whose prefill replicas span nodes', () => {
  const objects = rendered('pd-wide-prefill');

  it('places each prefill group alone in a node group, and keeps decode pods on Deployments', () => {
    const prefill = named(objects, 'LeaderWorkerSet', 'pd-wide-prefill-vllm-prefill') as Workload;
    expect(prefill.spec.leaderWorkerTemplate?.size).toBe(2);
    expect((prefill.metadata as { annotations?: Record<string, string> }).annotations).toEqual({
      'leaderworkerset.sigs.k8s.io/exclusive-topology': 'example.com/node-group',
    });
    const decode = named(objects, 'Deployment', 'pd-wide-prefill-vllm-decode') as Workload;
    expect(pods(decode).serving.spec.initContainers?.map((c) => c.name)).toEqual(['llm-d-routing-sidecar']);
  });
});

describe('a version split of a disaggregated model', () => {
  const objects = rendered('pd-split');

  it('renders a decode and a prefill workload per version, each in its version’s pool', () => {
    expect(workloads(objects).map((w) => w.metadata.name)).toEqual([
      'pd-split-router',
      'pd-split-vllm-base-decode',
      'pd-split-vllm-base-prefill',
      'pd-split-vllm-tuned-decode',
      'pd-split-vllm-tuned-prefill',
    ]);
    for (const version of ['base', 'tuned']) {
      const decode = pods(
        named(objects, 'Deployment', `pd-split-vllm-${version}-decode`) as Workload,
      ).serving;
      const prefill = pods(
        named(objects, 'Deployment', `pd-split-vllm-${version}-prefill`) as Workload,
      ).serving;
      const source = version === 'base' ? 'example/pd-split' : 'example/pd-split-tuned';
      expect(vllmArgs(decode)[0]).toBe(source);
      expect(vllmArgs(prefill)[0]).toBe(source);
      const pool = named(objects, 'InferencePool', `pd-split-${version}`) as KubeObject & {
        spec: { selector: { matchLabels: Record<string, string> } };
      };
      expect(selects(pool.spec.selector.matchLabels, decode.metadata.labels)).toBe(true);
      expect(selects(pool.spec.selector.matchLabels, prefill.metadata.labels)).toBe(true);
      const other = version === 'base' ? 'tuned' : 'base';
      const otherPool = named(objects, 'InferencePool', `pd-split-${other}`) as KubeObject & {
        spec: { selector: { matchLabels: Record<string, string> } };
      };
      expect(selects(otherPool.spec.selector.matchLabels, prefill.metadata.labels)).toBe(false);
      expect(decode.spec.initContainers?.[0]?.args).toContain(`--inference-pool=llm/pd-split-${version}`);
    }
  });
});

describe('the router profile of a disaggregated model', () => {
  const values = parse(readFileSync(join(repo.root, 'apps/dev/values/models/pd-basic.yaml'), 'utf8')) as {
    router: { config: unknown };
  };
  const objects = rendered('pd-basic');
  const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'pd-basic-router') as
    (KubeObject & { data: Record<string, string> }) | undefined;
  const configText = Object.values(configMap?.data ?? {})[0] ?? '';

  it('asks for a prefill pod past the spec’s threshold of uncached tokens', () => {
    expect(values.router.config).toMatchObject({
      plugins: expect.arrayContaining([
        { type: 'disagg-profile-handler', parameters: { deciders: { prefill: 'prefix-based-pd-decider' } } },
        { type: 'prefix-based-pd-decider', parameters: { nonCachedTokens: 256 } },
      ]) as unknown,
    });
  });

  it('parses in the router, and picks a decode pod and a prefill pod among the rendered pods', () => {
    const config = parseSchedulerConfig(configText, 'pd-basic-router ConfigMap');
    let now = 0;
    const scheduler = createScheduler(config, { now: () => now, random: () => 0.5 });
    const labelsOf = (name: string): Record<string, string> =>
      pods(named(objects, 'Deployment', name) as Workload).serving.metadata.labels;
    const endpoint = (address: string, labels: Record<string, string>): Endpoint => ({
      key: `${address}:8000`,
      address,
      port: 8000,
      labels,
      metrics: metrics(),
    });
    const endpoints = [
      endpoint('10.0.0.1', labelsOf('pd-basic-vllm-decode')),
      endpoint('10.0.0.2', labelsOf('pd-basic-vllm-decode')),
      endpoint('10.0.1.1', labelsOf('pd-basic-vllm-prefill')),
    ];
    const request = (id: string, tokens: number) => ({
      id,
      model: 'example/pd-basic',
      priority: 0,
      fairnessId: 'default-flow',
      promptTokens: Uint32Array.from({ length: tokens }, (_, i) => i + 1),
    });
    now = 10;
    const long = scheduler.pick(request('long', 1024), endpoints);
    expect(long.kind).toBe('picked');
    if (long.kind !== 'picked') return;
    expect(long.endpoints[0]?.labels['llm-d.ai/role']).toBe('decode');
    expect(long.prefill?.address).toBe('10.0.1.1');
    // Below the threshold the decode pod prefills itself.
    const short = scheduler.pick(request('short', 100), endpoints);
    expect(short.kind === 'picked' && short.prefill).toBeFalsy();
  });
});
