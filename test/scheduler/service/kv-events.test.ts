/* eslint-disable @typescript-eslint/no-non-null-assertion -- fixtures index arrays whose length the test fixes */
// The KV-event data path end to end, on real sockets: two real-time simulated vLLM replicas publishing their
// KV-cache events over ZMQ (--kv-events-port) and serving /tokenize, found through (fake) Kubernetes
// discovery, and a router with --kv-events-port and the llm-d-precise policy (token-producer backend vllm,
// precise-prefix-cache-producer, prefix-cache-scorer with queue and kv-cache-utilization scorers).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRouter } from '../../../scheduler/service/router-app.ts';
import { startSimServer, type SimServer } from '../../../scheduler/sim/server.ts';
import { FakeKubeApi } from '../datalayer/fake-kube-api.ts';
import { startLoopbackRouter } from './loopback-router.ts';

const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';
const HOSTS = ['127.0.0.1', '127.0.0.2'] as const;
const PODS = '/api/v1/namespaces/llm/pods';

/** A TCP port free on every loopback address used here (the pods share their ports, as pods do). */
async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, HOSTS[0], () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
      });
    });
    const freeOnSecond = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, HOSTS[1], () => server.close(() => resolve(true)));
    });
    if (freeOnSecond) return port;
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('KV-cache events from simulated vLLM replicas to the router', () => {
  let httpPort: number;
  let kvPort: number;
  const sims: (SimServer | undefined)[] = [undefined, undefined];
  let api: FakeKubeApi;
  let router: RunningRouter;
  let dir: string;

  const startSim = async (i: 0 | 1): Promise<SimServer> => {
    const sim = await startSimServer({
      host: HOSTS[i],
      port: httpPort,
      kvEventsPort: kvPort,
      model: MODEL,
      profile: 'qwen2.5-0.5b-l4',
      seed: i + 1,
    });
    sims[i] = sim;
    return sim;
  };
  const pod = (i: 0 | 1) => ({
    metadata: { name: `qwen-${String(i)}`, namespace: 'llm', labels: { app: 'qwen' } },
    status: { phase: 'Running', podIP: HOSTS[i], conditions: [{ type: 'Ready', status: 'True' }] },
  });
  const key = (i: 0 | 1): string => `${HOSTS[i]}:${String(httpPort)}`;

  const metricsText = async (): Promise<string> =>
    (await fetch(`http://127.0.0.1:${String(router.ports.metrics)}/metrics`)).text();
  const metric = async (name: string, labels: string): Promise<number | undefined> => {
    const line = (await metricsText()).split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
    return line === undefined ? undefined : Number(line.split(' ').at(-1));
  };
  const indexedBlocks = (i: 0 | 1): Promise<number | undefined> =>
    metric('switchyard_prefix_index_blocks', `model_server_endpoint="${key(i)}"`);

  /** A chat whose prompt is a few hundred tokens long and starts with `group`'s shared prefix. */
  const chat = (group: string, question: string) => ({
    model: MODEL,
    max_tokens: 2,
    messages: [
      {
        role: 'system',
        content: `${group}: ${'you answer questions about the shared document. '.repeat(40)}`,
      },
      { role: 'user', content: question },
    ],
  });
  const send = async (body: unknown): Promise<string> => {
    const res = await fetch(`http://127.0.0.1:${String(router.ports.http)}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    return res.headers.get('x-gateway-destination-endpoint-served') ?? '';
  };

  /**
   * Blocks of replica `i` in the router's index, from a prompt sent to its engine directly: the router may have
   * sent every earlier prompt to the other replica, and a test about dropping an index needs one to drop.
   */
  const giveBlocks = async (i: 0 | 1, group: string): Promise<void> => {
    await fetch(`${sims[i]!.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chat(group, 'warm up')),
    }).then((res) => res.arrayBuffer());
    await waitFor(`blocks of replica ${String(i)} in the index`, async () =>
      ((await indexedBlocks(i)) ?? 0) > 0 ? true : undefined,
    );
  };

  beforeAll(async () => {
    httpPort = await freePort();
    kvPort = await freePort();
    await startSim(0);
    await startSim(1);
    api = new FakeKubeApi();
    await api.start();
    api.apply('/apis/inference.networking.k8s.io/v1/namespaces/llm/inferencepools', {
      metadata: { name: 'qwen', namespace: 'llm' },
      spec: { selector: { matchLabels: { app: 'qwen' } }, targetPorts: [{ number: httpPort }] },
    });
    api.apply(PODS, pod(0));
    api.apply(PODS, pod(1));
    dir = await mkdtemp(join(tmpdir(), 'kv-events-'));
    const kubeconfig = join(dir, 'kubeconfig.yaml');
    await writeFile(kubeconfig, api.kubeconfigText('llm'));
    router = await startLoopbackRouter(
      [
        '--pool-name',
        'qwen',
        '--pool-namespace',
        'llm',
        '--kubeconfig',
        kubeconfig,
        '--policy',
        'llm-d-precise',
        '--kv-events-port',
        String(kvPort),
      ],
      (line) => process.env['KV_DEBUG'] && console.log(line),
    );
    await waitFor('both endpoints', async () =>
      router.service.routableEndpoints().length === 2 ? true : undefined,
    );
  }, 30_000);

  afterAll(async () => {
    await router.shutdown(100);
    await api.close();
    await Promise.all(sims.map((s) => s?.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('sends a prompt sharing a cached prefix to the replica whose events reported it', async () => {
    const groups = ['alpha', 'bravo', 'charlie', 'delta'];
    const homes = new Map<string, string>();
    for (const group of groups) {
      const before = (await indexedBlocks(0)) ?? 0;
      const before1 = (await indexedBlocks(1)) ?? 0;
      const home = await send(chat(group, 'What is the first point?'));
      homes.set(group, home);
      // The engine's BlockStored events reach the router's precise index.
      await waitFor(`${group}'s blocks in the index`, async () => {
        const after = ((await indexedBlocks(0)) ?? 0) + ((await indexedBlocks(1)) ?? 0);
        return after >= before + before1 + 20 ? true : undefined;
      });
    }
    expect(await metric('switchyard_kv_events_total', 'outcome="stored"')).toBeGreaterThan(0);
    for (const group of groups) {
      for (const question of ['And the second?', 'Summarise it in one line.']) {
        expect(await send(chat(group, question)), `${group}: ${question}`).toBe(homes.get(group));
      }
    }
    // Chat prompts were tokenized by the replicas (/tokenize): the router's own estimate of a chat prompt
    // differs from the engine's chat template, and would have matched nothing.
    expect(await metric('switchyard_tokenize_fallbacks_total', 'reason="error"')).toBeUndefined();
    expect(await metric('switchyard_tokenize_fallbacks_total', 'reason="timeout"')).toBeUndefined();
    expect(await metric('switchyard_kv_events_total', 'outcome="unknown-parent"')).toBeUndefined();
    expect(await metric('switchyard_kv_events_total', 'outcome="malformed"')).toBeUndefined();
  }, 30_000);

  it('reconnects to a publisher that restarted, after dropping what it knew of that replica', async () => {
    const restarted = 1;
    await giveBlocks(restarted, 'before-restart');
    await sims[restarted]!.close();
    await waitFor('the index of the stopped replica to be dropped', async () =>
      (await indexedBlocks(restarted)) === 0 ? true : undefined,
    );
    const sim = await startSim(restarted);
    // Blocks the new engine stores (from requests sent to it directly, a new prompt each time, since ZMQ
    // drops what is published before the subscriber has reconnected) come through the new connection.
    let attempt = 0;
    const group = await waitFor(
      'events from the restarted publisher',
      async () => {
        const group = `echo-${String(attempt++)}`;
        const res = await fetch(`${sim.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(chat(group, 'warm up')),
        });
        await res.arrayBuffer();
        await new Promise((r) => setTimeout(r, 50));
        return ((await indexedBlocks(restarted)) ?? 0) > 20 ? group : undefined;
      },
      10_000,
    );
    expect(await send(chat(group, 'Now through the router.'))).toBe(key(restarted));
    const resets =
      ((await metric('switchyard_kv_event_resets_total', 'reason="disconnected"')) ?? 0) +
      ((await metric('switchyard_kv_event_resets_total', 'reason="restart"')) ?? 0);
    expect(resets).toBeGreaterThan(0);
  }, 30_000);

  it('clears the entries of an endpoint that leaves the pool, and starts it empty when it comes back', async () => {
    const leaving = 0;
    await giveBlocks(leaving, 'leaving');
    api.delete(PODS, `qwen-${String(leaving)}`);
    await waitFor('the endpoint to leave', async () =>
      router.service.endpoints().length === 1 ? true : undefined,
    );
    expect(await metric('switchyard_kv_event_resets_total', 'reason="endpoint-removed"')).toBe(1);
    // Back in the pool: its engine still holds the blocks, but the router cannot know that any more.
    api.apply(PODS, pod(leaving));
    await waitFor('the endpoint to return', async () =>
      router.service.endpoints().length === 2 ? true : undefined,
    );
    expect(await indexedBlocks(leaving)).toBe(0);
  }, 30_000);
});
