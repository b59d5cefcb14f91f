import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EndpointRegistry } from '../../../scheduler/datalayer/endpoint-registry.ts';
import { KubeDiscovery } from '../../../scheduler/datalayer/kube-discovery.ts';
import { applyRewrite, type RewriteRule } from '../../../scheduler/datalayer/objectives.ts';
import { FakeKubeApi } from './fake-kube-api.ts';

const NS = 'llm';
const PODS = `/api/v1/namespaces/${NS}/pods`;
const POOLS = `/apis/inference.networking.k8s.io/v1/namespaces/${NS}/inferencepools`;
const OBJECTIVES = `/apis/llm-d.ai/v1alpha2/namespaces/${NS}/inferenceobjectives`;
const REWRITES = `/apis/llm-d.ai/v1alpha2/namespaces/${NS}/inferencemodelrewrites`;

function pool(name: string, matchLabels: Record<string, string>, ports: number[]) {
  return {
    apiVersion: 'inference.networking.k8s.io/v1',
    kind: 'InferencePool',
    metadata: { name, namespace: NS },
    spec: {
      selector: { matchLabels },
      targetPorts: ports.map((number) => ({ number })),
      endpointPickerRef: { name: `${name}-epp`, port: { number: 9002 } },
    },
  };
}

function pod(
  name: string,
  ip: string,
  opts: { ready?: boolean; labels?: Record<string, string>; terminating?: boolean } = {},
) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: NS,
      labels: opts.labels ?? { app: 'qwen' },
      ...(opts.terminating ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: { containers: [{ name: 'vllm', image: 'vllm' }] },
    status: {
      phase: 'Running',
      podIP: ip,
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }],
    },
  };
}

async function eventually(check: () => void, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        throw err;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

const keys = (registry: EndpointRegistry): string[] => registry.snapshot().map((e) => e.key);

describe('KubeDiscovery against a list/watch API server', () => {
  let api: FakeKubeApi;
  let registry: EndpointRegistry;
  let discovery: KubeDiscovery | undefined;
  let priorities: ReadonlyMap<string, number>;
  let rules: readonly RewriteRule[];
  const events: string[] = [];

  beforeEach(async () => {
    api = new FakeKubeApi();
    await api.start();
    registry = new EndpointRegistry();
    priorities = new Map();
    rules = [];
    events.length = 0;
  });

  afterEach(async () => {
    await discovery?.stop();
    discovery = undefined;
    await api.close();
  });

  function startDiscovery(extra: { watchStallTimeoutMs?: number } = {}): Promise<void> {
    discovery = new KubeDiscovery({
      kubeConfig: api.kubeConfig(),
      namespace: NS,
      poolName: 'qwen',
      registry,
      onObjectives: (p) => (priorities = p),
      onRewrites: (r) => (rules = r),
      onEvent: (m) => events.push(m),
      restartDelayMs: 20,
      maxRestartDelayMs: 100,
      watchReconnectDelay: () => new Promise((r) => setTimeout(r, 5)),
      ...extra,
    });
    return discovery.start();
  }

  it('turns ready, non-terminating pods into one endpoint per target port and follows changes', async () => {
    api.apply(POOLS, pool('qwen', { app: 'qwen' }, [8000]));
    api.apply(PODS, pod('a', '10.0.0.1'));
    api.apply(PODS, pod('b', '10.0.0.2', { ready: false }));
    api.apply(PODS, pod('other', '10.0.0.9', { labels: { app: 'llama' } }));
    await startDiscovery();
    await eventually(() => expect(keys(registry)).toEqual(['10.0.0.1:8000']));
    expect(registry.synced()).toBe(true);
    // The pod list/watch is scoped by the pool's selector.
    expect(api.requests.some((r) => r.startsWith(`GET ${PODS}?labelSelector=app%3Dqwen`))).toBe(true);

    api.apply(PODS, pod('b', '10.0.0.2'));
    await eventually(() => expect(keys(registry)).toEqual(['10.0.0.1:8000', '10.0.0.2:8000']));

    api.apply(PODS, pod('c', '10.0.0.3'));
    await eventually(() => expect(keys(registry)).toHaveLength(3));

    api.apply(PODS, pod('a', '10.0.0.1', { terminating: true }));
    await eventually(() => expect(keys(registry)).toEqual(['10.0.0.2:8000', '10.0.0.3:8000']));

    api.delete(PODS, 'b');
    await eventually(() => expect(keys(registry)).toEqual(['10.0.0.3:8000']));

    // A pod whose labels no longer match leaves the pool.
    api.apply(PODS, pod('c', '10.0.0.3', { labels: { app: 'qwen-old' } }));
    await eventually(() => expect(keys(registry)).toEqual([]));
  });

  it('follows InferencePool targetPorts and selector changes', async () => {
    api.apply(POOLS, pool('qwen', { app: 'qwen' }, [8000]));
    api.apply(PODS, pod('a', '10.0.0.1'));
    api.apply(PODS, pod('x', '10.0.1.1', { labels: { app: 'qwen', track: 'canary' } }));
    await startDiscovery();
    await eventually(() => expect(keys(registry)).toEqual(['10.0.0.1:8000', '10.0.1.1:8000']));

    api.apply(POOLS, pool('qwen', { app: 'qwen' }, [8000, 8001]));
    await eventually(() =>
      expect(keys(registry)).toEqual(['10.0.0.1:8000', '10.0.0.1:8001', '10.0.1.1:8000', '10.0.1.1:8001']),
    );

    api.apply(POOLS, pool('qwen', { app: 'qwen', track: 'canary' }, [8000]));
    await eventually(() => expect(keys(registry)).toEqual(['10.0.1.1:8000']));
    expect(registry.snapshot()[0]?.labels).toEqual({ app: 'qwen', track: 'canary' });

    // Another pool in the namespace is ignored; deleting ours empties the endpoint set.
    api.apply(POOLS, pool('other', { app: 'qwen' }, [9000]));
    api.delete(POOLS, 'qwen');
    await eventually(() => expect(keys(registry)).toEqual([]));
  });

  it('resumes after a watch ends and lists again after 410 Gone', async () => {
    api.apply(POOLS, pool('qwen', { app: 'qwen' }, [8000]));
    api.apply(PODS, pod('a', '10.0.0.1'));
    await startDiscovery();
    await eventually(() => expect(keys(registry)).toEqual(['10.0.0.1:8000']));
    await eventually(() => expect(api.watchCount(PODS)).toBe(1));

    // The server closes the watch (timeout); the client resumes from its last resourceVersion.
    const listsBefore = api.requests.filter(
      (r) => r.startsWith(`GET ${PODS}?`) && !r.includes('watch='),
    ).length;
    api.endWatches();
    api.apply(PODS, pod('b', '10.0.0.2'));
    await eventually(() => expect(keys(registry)).toEqual(['10.0.0.1:8000', '10.0.0.2:8000']));
    const listsAfter = api.requests.filter(
      (r) => r.startsWith(`GET ${PODS}?`) && !r.includes('watch='),
    ).length;
    expect(listsAfter).toBe(listsBefore);

    // History is compacted while the watch is down: resuming gets 410, the client lists again, and a pod
    // deleted in the meantime disappears even though no DELETED event was ever delivered.
    await eventually(() => expect(api.watchCount(PODS)).toBe(1));
    api.compact();
    api.endWatches();
    api.delete(PODS, 'a');
    api.compact();
    await eventually(() => expect(keys(registry)).toEqual(['10.0.0.2:8000']));
    const listsAfterExpiry = api.requests.filter(
      (r) => r.startsWith(`GET ${PODS}?`) && !r.includes('watch='),
    ).length;
    expect(listsAfterExpiry).toBeGreaterThan(listsAfter);
  });

  it('asks for bookmarks and restarts a watch that went silent, so a new pod is seen', async () => {
    api.apply(POOLS, pool('qwen', { app: 'qwen' }, [8000]));
    api.apply(PODS, pod('a', '10.0.0.1'));
    await startDiscovery({ watchStallTimeoutMs: 300 });
    await eventually(() => expect(keys(registry)).toEqual(['10.0.0.1:8000']));
    const watches = api.requests.filter((r) => r.includes('watch=true'));
    expect(watches.length).toBeGreaterThan(0);
    expect(watches.every((r) => r.includes('allowWatchBookmarks=true'))).toBe(true);
    const lists = api.requests.filter((r) => r.startsWith(`GET ${PODS}`) && !r.includes('watch=true')).length;

    // The connection hangs: nothing arrives, nothing closes. The pod added meanwhile is seen after a restart.
    await eventually(() => expect(api.watchCount(PODS)).toBe(1));
    api.stallWatches();
    api.apply(PODS, pod('b', '10.0.0.2'));
    await eventually(() => expect(keys(registry)).toEqual(['10.0.0.1:8000', '10.0.0.2:8000']), 10_000);
    expect(events.some((e) => e.includes('Pod watch was silent for too long'))).toBe(true);
    // Resumed from its resourceVersion, without listing again.
    expect(api.requests.filter((r) => r.startsWith(`GET ${PODS}`) && !r.includes('watch=true')).length).toBe(
      lists,
    );
  });

  it('keeps its endpoints while the API server is down and catches up when it is back', async () => {
    api.apply(POOLS, pool('qwen', { app: 'qwen' }, [8000]));
    api.apply(PODS, pod('a', '10.0.0.1'));
    await startDiscovery();
    await eventually(() => expect(keys(registry)).toEqual(['10.0.0.1:8000']));
    const port = api.port;
    await api.close();
    await eventually(() => expect(events.some((e) => e.startsWith('Pod watch failed'))).toBe(true));
    // Routing goes on with what was known.
    expect(keys(registry)).toEqual(['10.0.0.1:8000']);

    api = new FakeKubeApi({ initialResourceVersion: 5000 });
    await api.start(port);
    api.apply(POOLS, pool('qwen', { app: 'qwen' }, [8000]));
    api.apply(PODS, pod('b', '10.0.0.2'));
    await eventually(() => expect(keys(registry)).toEqual(['10.0.0.2:8000']), 10_000);
  });

  it('is not synced and has no endpoints until the InferencePool appears', async () => {
    await startDiscovery();
    expect(registry.synced()).toBe(false);
    expect(keys(registry)).toEqual([]);
    api.apply(PODS, pod('a', '10.0.0.1'));
    api.apply(POOLS, pool('qwen', { app: 'qwen' }, [8000]));
    await eventually(() => expect(keys(registry)).toEqual(['10.0.0.1:8000']));
    expect(registry.synced()).toBe(true);
  });

  it('reads InferenceObjective priorities and InferenceModelRewrite rules of its pool', async () => {
    api.apply(POOLS, pool('qwen', { app: 'qwen' }, [8000]));
    api.apply(OBJECTIVES, {
      apiVersion: 'llm-d.ai/v1alpha2',
      kind: 'InferenceObjective',
      metadata: { name: 'premium', namespace: NS },
      spec: { poolRef: { name: 'qwen' }, priority: 100 },
    });
    api.apply(OBJECTIVES, {
      apiVersion: 'llm-d.ai/v1alpha2',
      kind: 'InferenceObjective',
      metadata: { name: 'other-pool', namespace: NS },
      spec: { poolRef: { name: 'llama' }, priority: 5 },
    });
    api.apply(REWRITES, {
      apiVersion: 'llm-d.ai/v1alpha2',
      kind: 'InferenceModelRewrite',
      metadata: { name: 'alias', namespace: NS, creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: {
        poolRef: { name: 'qwen' },
        rules: [
          {
            matches: [{ model: { value: 'qwen' } }],
            targets: [
              { modelRewrite: 'Qwen/Qwen2.5-0.5B-Instruct', weight: 90 },
              { modelRewrite: 'qwen-canary', weight: 10 },
            ],
          },
        ],
      },
    });
    await startDiscovery();
    await eventually(() => expect([...priorities]).toEqual([['premium', 100]]));
    await eventually(() => expect(rules).toHaveLength(1));
    expect(applyRewrite(rules, 'qwen', 0.5)).toEqual({
      targetModel: 'Qwen/Qwen2.5-0.5B-Instruct',
      rewritten: true,
    });
    expect(applyRewrite(rules, 'qwen', 0.95)).toEqual({ targetModel: 'qwen-canary', rewritten: true });
    expect(applyRewrite(rules, 'unknown', 0.5)).toEqual({ targetModel: 'unknown', rewritten: false });

    api.apply(OBJECTIVES, {
      apiVersion: 'llm-d.ai/v1alpha2',
      kind: 'InferenceObjective',
      metadata: { name: 'batch', namespace: NS },
      spec: { poolRef: { name: 'qwen' }, priority: -10 },
    });
    await eventually(() => expect(priorities.get('batch')).toBe(-10));
    api.delete(OBJECTIVES, 'premium');
    await eventually(() => expect(priorities.has('premium')).toBe(false));
    api.delete(REWRITES, 'alias');
    await eventually(() => expect(rules).toHaveLength(0));
  });

  it('keeps routing when the objective CRDs are not installed', async () => {
    api.missing.add(OBJECTIVES);
    api.missing.add(REWRITES);
    api.apply(POOLS, pool('qwen', { app: 'qwen' }, [8000]));
    api.apply(PODS, pod('a', '10.0.0.1'));
    await startDiscovery();
    await eventually(() => expect(keys(registry)).toEqual(['10.0.0.1:8000']));
    expect(registry.synced()).toBe(true);
    await eventually(() =>
      expect(events.some((e) => e.startsWith('InferenceObjective watch failed'))).toBe(true),
    );
  });
});
