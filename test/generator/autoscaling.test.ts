// Autoscaling, rendered by real helm from the generated Applications and checked against a real Prometheus
// (Debian's `prometheus`, which .ci/run installs) scraping vLLM-shaped /metrics on loopback with the labels the
// model's PodMonitor gives them: the workloads leave their replica count to the autoscaler; KEDA's queries and
// prometheus-adapter's rules select exactly the pods of the scaled workload and yield the replica count the spec
// asks for.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VLLM_CUSTOM_METRICS } from '../../generator/platform/components.ts';
import { defaultPrometheusUrl } from '../../generator/platform/settings.ts';
import { validateObject } from '../../generator/verify/objects.ts';
import { startPrometheus, type PrometheusServer } from './analysis/prometheus.ts';
import { generatedDevRepo } from './helpers.ts';
import {
  generatedArgoObjects,
  isApplication,
  renderedApplication,
  sourcesOf,
  type ApplicationObject,
  type KubeObject,
} from './platform/platform-helpers.ts';

interface ScaleTarget {
  apiVersion: string;
  kind: string;
  name: string;
}
interface ScaledObject extends KubeObject {
  spec: {
    scaleTargetRef: ScaleTarget;
    minReplicaCount: number;
    maxReplicaCount: number;
    advanced: { horizontalPodAutoscalerConfig: { behavior: Record<string, unknown> } };
    triggers: { type: string; name: string; metricType?: string; metadata: Record<string, string> }[];
  };
}
interface Hpa extends KubeObject {
  spec: {
    scaleTargetRef: ScaleTarget;
    minReplicas: number;
    maxReplicas: number;
    metrics: { type: string; pods: { metric: { name: string }; target: { averageValue: string } } }[];
    behavior: { scaleDown: { stabilizationWindowSeconds: number } };
  };
}
interface Workload extends KubeObject {
  spec: { replicas?: number };
}

const models = {
  // Single-node replicas, the KV-cache trigger too.
  'scaled-basic': {
    autoscaling: { minReplicas: 2, maxReplicas: 6, waitingRequestsPerReplica: 4, kvCacheUsage: 0.8 },
  },
  // Replicas span two nodes: whole LeaderWorkerSet groups are scaled.
  'scaled-groups': { parallelism: { tensor: 8 }, autoscaling: { maxReplicas: 3 } },
  // Disaggregated, with a version split: each version's decode workload scales on its own decode pods.
  'scaled-split': {
    disaggregation: { kvConnector: 'nixl' },
    versions: {
      split: [
        { name: 'blue', weight: 50 },
        { name: 'green', weight: 50, uri: 'hf://example/scaled-split-green' },
      ],
    },
    autoscaling: { maxReplicas: 4, waitingRequestsPerReplica: 2.5, scaleDownDelaySeconds: 900 },
  },
} as const;

function repoWith(components: Record<string, boolean>): { root: string; cleanup: () => void } {
  return generatedDevRepo(
    {
      cloud: { provider: 'generic' },
      components,
      accelerators: { 'nvidia-gpu': { resourceName: 'nvidia.com/gpu', gpusPerNode: 4 } },
    },
    models,
  );
}

const keda = repoWith({ keda: true });
const hpa = repoWith({ prometheusAdapter: true });
afterAll(() => {
  keda.cleanup();
  hpa.cleanup();
});

const ofKind = <T extends KubeObject>(objects: readonly KubeObject[], kind: string): T[] =>
  objects.filter((o) => o.kind === kind) as T[];

/** vLLM-shaped /metrics of one pod: its queue and KV-cache use under the served name. */
interface FakeVllm {
  readonly pod: string;
  readonly labels: Record<string, string>;
  readonly waiting: number;
  readonly kvCache: number;
}

async function serveMetrics(pods: readonly FakeVllm[]): Promise<{ servers: Server[]; addresses: string[] }> {
  const servers: Server[] = [];
  const addresses: string[] = [];
  for (const pod of pods) {
    const server = createServer((_req, res) => {
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end(
        [
          '# TYPE vllm:num_requests_waiting gauge',
          `vllm:num_requests_waiting{model_name="${pod.labels['model_name'] ?? ''}"} ${pod.waiting}`,
          '# TYPE vllm:kv_cache_usage_perc gauge',
          `vllm:kv_cache_usage_perc{model_name="${pod.labels['model_name'] ?? ''}"} ${pod.kvCache}`,
          '',
        ].join('\n'),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    addresses.push(`127.0.0.1:${(server.address() as AddressInfo).port}`);
  }
  return { servers, addresses };
}

/** What an HPA computes from an AverageValue target over the metric's total: ceil(total / target), bounded. */
function desiredReplicas(total: number, target: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.ceil(total / target)));
}

describe('the workloads leave their replica count to the autoscaler', () => {
  it.each([
    ['scaled-basic', 'Deployment', 'scaled-basic-vllm'],
    ['scaled-groups', 'LeaderWorkerSet', 'scaled-groups-vllm'],
    ['scaled-split', 'Deployment', 'scaled-split-vllm-blue-decode'],
    ['scaled-split', 'Deployment', 'scaled-split-vllm-green-decode'],
  ])('%s: %s %s has no replicas and one autoscaler per engine targets it', (model, kind, name) => {
    for (const [repo, autoscalerKind] of [
      [keda, 'ScaledObject'],
      [hpa, 'HorizontalPodAutoscaler'],
    ] as const) {
      const objects = renderedApplication(repo.root, 'dev', `dev-${model}`);
      const workload = ofKind<Workload>(objects, kind).find((o) => o.metadata.name === name);
      expect(workload, name).toBeDefined();
      expect(workload?.spec.replicas).toBeUndefined();
      const scalers = ofKind<ScaledObject | Hpa>(objects, autoscalerKind).filter(
        (s) => s.spec.scaleTargetRef.name === name,
      );
      expect(scalers).toHaveLength(1);
      expect(scalers[0]?.spec.scaleTargetRef.kind).toBe(kind);
      expect(scalers[0]?.metadata.name).toBe(name);
      // Valid against the kind's schema (kubernetes-models; @kubernetes-models/keda for the ScaledObject).
      expect(validateObject(scalers[0])).toEqual([]);
    }
  });

  it('labels the scraped series with the track and stage the queries select on', () => {
    const objects = renderedApplication(keda.root, 'dev', 'dev-scaled-split');
    const monitor = objects.find((o) => o.kind === 'PodMonitor') as KubeObject & {
      spec: { podMetricsEndpoints: { relabelings: { sourceLabels: string[]; targetLabel: string }[] }[] };
    };
    const relabelings = monitor.spec.podMetricsEndpoints[0]?.relabelings ?? [];
    expect(relabelings.map((r) => [r.sourceLabels[0], r.targetLabel])).toEqual([
      ['__meta_kubernetes_pod_label_switchyard_dev_track', 'track'],
      ['__meta_kubernetes_pod_label_llm_d_ai_role', 'role'],
    ]);
  });

  it('keeps the prefill workloads at their own fixed replicas', () => {
    const objects = renderedApplication(keda.root, 'dev', 'dev-scaled-split');
    const prefill = ofKind<Workload>(objects, 'Deployment').filter((d) =>
      d.metadata.name.endsWith('-prefill'),
    );
    expect(prefill.map((d) => d.spec.replicas)).toEqual([1, 1]);
    expect(ofKind(objects, 'ScaledObject')).toHaveLength(2);
  });

  it('scales down one replica at a time after the delay, and allows the autoscaler kind only where used', () => {
    const objects = renderedApplication(hpa.root, 'dev', 'dev-scaled-split');
    for (const scaler of ofKind<Hpa>(objects, 'HorizontalPodAutoscaler')) {
      expect(scaler.spec.behavior.scaleDown.stabilizationWindowSeconds).toBe(900);
      expect(scaler.spec.minReplicas).toBe(1);
      expect(scaler.spec.maxReplicas).toBe(4);
    }
    const project = generatedArgoObjects(hpa.root, 'dev').find(
      (o) => o.kind === 'AppProject' && o.metadata.name === 'dev-models',
    ) as KubeObject & { spec: { namespaceResourceWhitelist: { group: string; kind: string }[] } };
    const kinds = project.spec.namespaceResourceWhitelist.map((k) => `${k.group}/${k.kind}`);
    expect(kinds).toContain('autoscaling/HorizontalPodAutoscaler');
    expect(kinds).not.toContain('keda.sh/ScaledObject');
  });
});

describe('KEDA and prometheus-adapter read the scaled pods from a real Prometheus', () => {
  // Pods as the PodMonitor labels them: namespace and pod from Kubernetes, track and role relabelled from the
  // pod's labels, model_name from vLLM itself.
  const served = 'example/scaled-split';
  const pods: FakeVllm[] = [
    { pod: 'blue-decode-a', labels: { track: 'blue', role: 'decode' }, waiting: 3, kvCache: 0.5 },
    { pod: 'blue-decode-b', labels: { track: 'blue', role: 'decode' }, waiting: 4, kvCache: 0.7 },
    { pod: 'blue-prefill', labels: { track: 'blue', role: 'prefill' }, waiting: 40, kvCache: 0.9 },
    { pod: 'green-decode', labels: { track: 'green', role: 'decode' }, waiting: 30, kvCache: 0.9 },
  ].map((p) => ({
    ...p,
    labels: { ...p.labels, namespace: 'llm', pod: `scaled-split-vllm-${p.pod}`, model_name: served },
  }));
  // Another model's pod in the same namespace, which no query may count.
  pods.push({
    pod: 'other',
    labels: {
      namespace: 'llm',
      pod: 'other-vllm-x',
      model_name: 'example/other',
      track: 'blue',
      role: 'decode',
    },
    waiting: 100,
    kvCache: 1,
  });
  let prometheus: PrometheusServer;
  let servers: Server[] = [];

  beforeAll(async () => {
    const served = await serveMetrics(pods);
    servers = served.servers;
    prometheus = await startPrometheus(
      pods.map((pod, i) => ({
        job: 'llm/scaled-split-vllm',
        address: served.addresses[i] ?? '',
        labels: {
          namespace: pod.labels['namespace'] ?? '',
          pod: pod.labels['pod'] ?? '',
          track: pod.labels['track'] ?? '',
          role: pod.labels['role'] ?? '',
        },
      })),
    );
    await prometheus.waitForScrapes(2);
  }, 60_000);
  afterAll(async () => {
    await prometheus?.close();
    for (const server of servers) server.close();
  });

  it('KEDA sums the queue of the version’s decode pods only, and asks for the replicas the target implies', async () => {
    const objects = renderedApplication(keda.root, 'dev', 'dev-scaled-split');
    const blue = ofKind<ScaledObject>(objects, 'ScaledObject').find(
      (s) => s.metadata.name === 'scaled-split-vllm-blue-decode',
    );
    const trigger = blue?.spec.triggers.find((t) => t.name === 'waiting-requests');
    // The chart's default Prometheus is the one the generator's platform components use.
    expect(trigger?.metadata['serverAddress']).toBe(defaultPrometheusUrl('monitoring'));
    const [total] = await prometheus.query(trigger?.metadata['query'] ?? '');
    expect(total).toBe(3 + 4);
    const threshold = Number(trigger?.metadata['threshold']);
    expect(threshold).toBe(2.5);
    expect(
      desiredReplicas(
        total ?? 0,
        threshold,
        blue?.spec.minReplicaCount ?? 0,
        blue?.spec.maxReplicaCount ?? 0,
      ),
    ).toBe(3);
  });

  it('KEDA’s KV-cache trigger averages the scaled pods’ use', async () => {
    const objects = renderedApplication(keda.root, 'dev', 'dev-scaled-basic');
    const scaler = ofKind<ScaledObject>(objects, 'ScaledObject')[0];
    const trigger = scaler?.spec.triggers.find((t) => t.name === 'kv-cache-usage');
    expect(trigger?.metricType).toBe('Value');
    expect(Number(trigger?.metadata['threshold'])).toBe(0.8);
    // The same query shape, pointed at the split model's blue decode pods.
    const query = (trigger?.metadata['query'] ?? '').replace(
      'model_name="example/scaled-basic"',
      `model_name="${served}",track="blue",role="decode"`,
    );
    expect(await prometheus.query(query)).toEqual([0.6]);
  });

  it('prometheus-adapter serves the per-pod metric the HorizontalPodAutoscaler names', async () => {
    const adapter = generatedArgoObjects(hpa.root, 'dev')
      .filter(isApplication)
      .find((app) => app.metadata.name === 'dev-platform-prometheus-adapter') as ApplicationObject;
    const values = sourcesOf(adapter)[0]?.helm?.valuesObject as {
      rules: {
        default: boolean;
        custom: { seriesQuery: string; name: { as: string }; metricsQuery: string }[];
      };
    };
    expect(values.rules.default).toBe(false);
    const objects = renderedApplication(hpa.root, 'dev', 'dev-scaled-split');
    const scaler = ofKind<Hpa>(objects, 'HorizontalPodAutoscaler').find(
      (s) => s.metadata.name === 'scaled-split-vllm-blue-decode',
    );
    const metric = scaler?.spec.metrics[0]?.pods;
    expect(metric?.metric.name).toBe(VLLM_CUSTOM_METRICS.waitingRequests);
    expect(metric?.target.averageValue).toBe('2500m');
    const rule = values.rules.custom.find((r) => r.name.as === metric?.metric.name);
    expect(rule).toBeDefined();
    // The adapter's query for the pods the HPA's selector picks (the blue decode Deployment's pods).
    const series = rule?.seriesQuery.slice(0, rule.seriesQuery.indexOf('{')) ?? '';
    const perPod = await prometheus.query(
      (rule?.metricsQuery ?? '')
        .replace('<<.Series>>', series)
        .replace(
          '<<.LabelMatchers>>',
          'namespace="llm",pod=~"scaled-split-vllm-blue-decode-a|scaled-split-vllm-blue-decode-b"',
        )
        .replace('<<.GroupBy>>', 'pod'),
    );
    expect(perPod.sort()).toEqual([3, 4]);
    const average = perPod.reduce((a, b) => a + b, 0) / perPod.length;
    expect(
      desiredReplicas(
        average * perPod.length,
        2.5,
        scaler?.spec.minReplicas ?? 0,
        scaler?.spec.maxReplicas ?? 0,
      ),
    ).toBe(3);
  });
});
