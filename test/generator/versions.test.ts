// A version split, rendered by real helm from prod's generated Application for llama-70b (LeaderWorkerSet
// replicas, two model sources): one workload, pool and router container per version, the route's weights as
// git has them, pinned requests reaching their version, and a PostSync AnalysisRun gating each version that
// gets traffic.
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers.ts';
import { split, type HttpRoute } from './gateway-routing.ts';
import {
  generatedArgoObjects,
  isApplication,
  renderedApplication,
  type ApplicationObject,
  type KubeObject,
} from './platform/platform-helpers.ts';

interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: { containers: { name: string; args: string[] }[] };
}
interface LeaderWorkerSet extends KubeObject {
  spec: {
    replicas: number;
    leaderWorkerTemplate: { size: number; leaderTemplate: PodTemplate; workerTemplate: PodTemplate };
  };
}
interface InferencePool extends KubeObject {
  spec: {
    selector: { matchLabels: Record<string, string> };
    endpointPickerRef: { port: { number: number } };
  };
}

const application = generatedArgoObjects(repoRoot, 'prod')
  .filter(isApplication)
  .find((app) => app.metadata.name === 'prod-llama-70b') as ApplicationObject;
const objects = renderedApplication(repoRoot, 'prod', 'prod-llama-70b');
const ofKind = <T extends KubeObject>(kind: string): T[] => objects.filter((o) => o.kind === kind) as T[];
const named = <T extends KubeObject>(kind: string, name: string): T =>
  objects.find((o) => o.kind === kind && o.metadata.name === name) as T;

const selects = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

describe('a version split renders one serving stack per version', () => {
  it('has a LeaderWorkerSet per version, each loading its own weights under the shared served name', () => {
    const sets = ofKind<LeaderWorkerSet>('LeaderWorkerSet');
    expect(sets.map((set) => set.metadata.name)).toEqual(['llama-70b-vllm-bf16', 'llama-70b-vllm-fp8']);
    expect(ofKind('Deployment').map((d) => d.metadata.name)).toEqual(['llama-70b-router']);
    const leaderArgs = (set: LeaderWorkerSet): string =>
      set.spec.leaderWorkerTemplate.leaderTemplate.spec.containers[0]?.args.join(' ') ?? '';
    const [bf16, fp8] = sets as [LeaderWorkerSet, LeaderWorkerSet];
    expect(leaderArgs(bf16)).toContain("vllm serve 'meta-llama/Llama-3.3-70B-Instruct'");
    expect(leaderArgs(fp8)).toContain("vllm serve 'RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic'");
    for (const set of sets) {
      expect(leaderArgs(set)).toContain("'--served-model-name' 'meta-llama/Llama-3.3-70B-Instruct'");
      expect(set.spec.leaderWorkerTemplate.size).toBe(2);
      expect(set.spec.replicas).toBe(1);
    }
  });

  it("has a pool per version that selects exactly that version's serving (leader) pods", () => {
    const pools = ofKind<InferencePool>('InferencePool');
    const sets = ofKind<LeaderWorkerSet>('LeaderWorkerSet');
    expect(pools.map((pool) => pool.metadata.name)).toEqual(['llama-70b-bf16', 'llama-70b-fp8']);
    for (const pool of pools) {
      const version = pool.metadata.name.replace('llama-70b-', '');
      for (const set of sets) {
        const template = set.spec.leaderWorkerTemplate;
        // LeaderWorkerSet adds the worker index to each pod: 0 on leaders, which serve HTTP.
        const leader = {
          ...template.leaderTemplate.metadata.labels,
          'leaderworkerset.sigs.k8s.io/worker-index': '0',
        };
        const worker = {
          ...template.workerTemplate.metadata.labels,
          'leaderworkerset.sigs.k8s.io/worker-index': '1',
        };
        expect(selects(pool.spec.selector.matchLabels, leader)).toBe(
          set.metadata.name.endsWith(`-${version}`),
        );
        expect(selects(pool.spec.selector.matchLabels, worker)).toBe(false);
      }
    }
  });

  it('gives each pool its own picker container in the router, on the port the pool names', () => {
    const router = named<
      KubeObject & {
        spec: {
          template: {
            spec: { containers: { name: string; args: string[]; ports: { containerPort: number }[] }[] };
          };
        };
      }
    >('Deployment', 'llama-70b-router');
    const service = named<KubeObject & { spec: { ports: { port: number }[] } }>(
      'Service',
      'llama-70b-router',
    );
    for (const pool of ofKind<InferencePool>('InferencePool')) {
      const container = router.spec.template.spec.containers.find(
        (c) => c.args[c.args.indexOf('--pool-name') + 1] === pool.metadata.name,
      );
      expect(container, pool.metadata.name).toBeDefined();
      const grpcPort = Number(container?.args[container.args.indexOf('--grpc-port') + 1]);
      expect(grpcPort).toBe(pool.spec.endpointPickerRef.port.number);
      expect(service.spec.ports.map((port) => port.port)).toContain(grpcPort);
    }
  });
});

describe("the version split's traffic", () => {
  const route = named<HttpRoute>('HTTPRoute', 'llama-70b');
  const pinned = named<HttpRoute>('HTTPRoute', 'llama-70b-pinned');
  const path = '/llm/llama-70b/v1/chat/completions';

  it('follows the weights in git, which Argo CD does not ignore', () => {
    expect(split([route, pinned], path, {})).toEqual({ 'llama-70b-bf16': 0.9, 'llama-70b-fp8': 0.1 });
    expect(application.spec).not.toHaveProperty('ignoreDifferences');
  });

  it('sends a request with the version header to that version whatever the weights', () => {
    expect(split([route, pinned], path, { 'x-model-version': 'fp8' })).toEqual({ 'llama-70b-fp8': 1 });
    expect(split([route, pinned], path, { 'x-model-version': 'bf16' })).toEqual({ 'llama-70b-bf16': 1 });
    expect(split([route, pinned], path, { 'x-model-version': 'other' })).toEqual({
      'llama-70b-bf16': 0.9,
      'llama-70b-fp8': 0.1,
    });
  });
});

describe('the PostSync gate', () => {
  const run = named<
    KubeObject & {
      metadata: { annotations: Record<string, string> };
      spec: { metrics: { name: string; provider: { prometheus: { query: string } } }[] };
    }
  >('AnalysisRun', 'llama-70b-split-gate');

  it('runs after every sync, replacing the previous run', () => {
    expect(run.metadata.annotations).toEqual({
      'argocd.argoproj.io/hook': 'PostSync',
      'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation',
    });
  });

  it("checks each version that gets traffic on its own pool's and pods' series", () => {
    expect(run.spec.metrics.map((metric) => metric.name)).toEqual([
      'bf16-ttft-p95',
      'bf16-inter-token-latency-p95',
      'bf16-error-ratio',
      'fp8-ttft-p95',
      'fp8-inter-token-latency-p95',
      'fp8-error-ratio',
    ]);
    for (const metric of run.spec.metrics) {
      const version = metric.name.split('-')[0] ?? '';
      const query = metric.provider.prometheus.query;
      expect(query).not.toContain('{{');
      expect(query).toMatch(
        metric.name.includes('inter-token')
          ? new RegExp(`namespace="llm",model_name="meta-llama/Llama-3.3-70B-Instruct",track="${version}"`)
          : new RegExp(`namespace="llm",pool="llama-70b-${version}"`),
      );
    }
  });
});
