// The whole router in front of simulated vLLM replicas serving HTTPS (--ssl-certfile/--ssl-keyfile), with
// --model-server-metrics-scheme https: it scrapes their /metrics, asks their /tokenize and forwards requests
// over TLS, verified against --model-server-ca-file for --model-server-server-name, and keeps running (and
// says why) when a model server's certificate is refused.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRouter } from '../../../scheduler/service/router-app.ts';
import { startSimServer, type SimServer } from '../../../scheduler/sim/server.ts';
import { createTestPki, hasOpenssl, type Leaf, type TestPki } from '../test-pki.ts';
import { startLoopbackRouter } from './loopback-router.ts';

const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';
const SERVICE_NAME = 'my-model-vllm.ns.svc';

describe.skipIf(!hasOpenssl())('a router in front of model servers serving HTTPS', () => {
  let pki: TestPki;
  let clusterCa: string;
  let servingPair: Leaf;
  const sims: SimServer[] = [];
  const routers: RunningRouter[] = [];

  const sim = async (pair: Leaf, maxNumSeqs?: number): Promise<SimServer> => {
    const server = await startSimServer({
      host: '127.0.0.1',
      port: 0,
      model: MODEL,
      profile: 'qwen2.5-0.5b-l4',
      tls: { certFile: pair.certFile, keyFile: pair.keyFile },
      ...(maxNumSeqs !== undefined ? { engineLimits: { maxNumSeqs } } : {}),
    });
    sims.push(server);
    return server;
  };

  const router = async (
    endpoints: readonly SimServer[],
    flags: readonly string[],
    log?: (line: string) => void,
  ): Promise<RunningRouter> => {
    const started = await startLoopbackRouter(
      [
        '--static-endpoints',
        endpoints.map((s) => `127.0.0.1:${String(s.port)}`).join(','),
        '--model-server-metrics-scheme',
        'https',
        ...flags,
      ],
      log,
    );
    routers.push(started);
    return started;
  };

  beforeAll(() => {
    pki = createTestPki('router-model-server-tls-');
    clusterCa = pki.ca('cluster-ca');
    pki.ca('other-ca');
    servingPair = pki.server('vllm', 'cluster-ca', [`DNS:${SERVICE_NAME}`]);
  });

  afterAll(async () => {
    await Promise.all(routers.map((r) => r.shutdown(100)));
    await Promise.all(sims.map((s) => s.close()));
    pki.cleanup();
  });

  const complete = (r: RunningRouter, maxTokens: number) =>
    fetch(`http://127.0.0.1:${String(r.ports.http)}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, prompt: 'hello there', max_tokens: maxTokens }),
    });

  /**
   * Verify against the cluster CA and the Service name; llm-d-precise: queue and KV-cache scorers over the
   * scraped metrics, prompts tokenized by a model server.
   */
  const verifyingPrecise = (): string[] => [
    '--model-server-ca-file',
    clusterCa,
    '--model-server-server-name',
    SERVICE_NAME,
    '--policy',
    'llm-d-precise',
  ];

  const routerMetrics = async (r: RunningRouter): Promise<string> =>
    (await fetch(`http://127.0.0.1:${String(r.ports.metrics)}/metrics`)).text();

  it('routes by the metrics it scrapes over TLS, tokenizes and forwards requests over TLS', async () => {
    const busy = await sim(servingPair, 1);
    const idle = await sim(servingPair);
    const r = await router([busy, idle], verifyingPrecise());

    // Three long requests sent to one replica directly, over TLS: one runs, two wait.
    const client = new Agent({ connect: { ca: readFileSync(clusterCa), servername: SERVICE_NAME } });
    const load = [1, 2, 3].map(() =>
      request(`${busy.url}/v1/completions`, {
        dispatcher: client,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, prompt: 'long', max_tokens: 4000 }),
      }).then(
        (res) => res.body.text(),
        () => '',
      ),
    );
    const busyKey = `127.0.0.1:${String(busy.port)}`;
    const idleKey = `127.0.0.1:${String(idle.port)}`;
    await expect
      .poll(() => r.service.endpoints().find((e) => e.key === busyKey)?.metrics?.waitingRequests, {
        timeout: 5_000,
      })
      .toBe(2);

    for (let i = 0; i < 4; i++) {
      const res = await complete(r, 4);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-gateway-destination-endpoint-served')).toBe(idleKey);
      expect(((await res.json()) as { choices: unknown[] }).choices).toHaveLength(1);
    }
    const models = await fetch(`http://127.0.0.1:${String(r.ports.http)}/v1/models`);
    expect(((await models.json()) as { data: { id: string }[] }).data.map((m) => m.id)).toEqual([MODEL]);
    expect(await routerMetrics(r)).not.toContain('switchyard_tokenize_fallbacks_total{');

    await busy.close();
    await Promise.all(load);
    await client.close();
  });

  it('refuses a model server whose certificate comes from another CA, says so, and keeps running', async () => {
    const impostor = await sim(pki.server('impostor', 'other-ca', [`DNS:${SERVICE_NAME}`]));
    const lines: string[] = [];
    const r = await router([impostor], verifyingPrecise(), (line) => lines.push(line));
    const key = `127.0.0.1:${String(impostor.port)}`;
    await expect
      .poll(() => lines.find((line) => line.includes('model server TLS handshake failed')))
      .toContain(key);

    const res = await complete(r, 4);
    expect(res.status).toBe(502);
    const { message } = ((await res.json()) as { error: { message: string } }).error;
    expect(message).toContain(key);
    expect(message).toMatch(/certificate/);
    expect(await routerMetrics(r)).toContain('switchyard_tokenize_fallbacks_total{reason="error"} 1');
    expect(r.service.endpoints().find((e) => e.key === key)?.metrics).toBeUndefined();
  });

  it('refuses a certificate that does not name --model-server-server-name', async () => {
    const server = await sim(servingPair);
    const lines: string[] = [];
    await router(
      [server],
      ['--model-server-ca-file', clusterCa, '--model-server-server-name', 'other-model.ns.svc'],
      (line) => lines.push(line),
    );
    await expect
      .poll(() => lines.find((line) => line.includes('model server TLS handshake failed')))
      .toContain('other-model.ns.svc');
  });

  it('does not start with a CA bundle that is missing or does not parse, naming the flag and the file', async () => {
    const server = await sim(servingPair);
    const missing = join(pki.dir, 'missing-ca.crt');
    await expect(router([server], ['--model-server-ca-file', missing])).rejects.toThrow(
      `--model-server-ca-file ${missing}: cannot read it`,
    );
    const garbage = join(pki.dir, 'garbage-ca.crt');
    writeFileSync(garbage, 'this is not PEM\n');
    await expect(router([server], ['--model-server-ca-file', garbage])).rejects.toThrow(
      `--model-server-ca-file ${garbage}: no PEM certificate`,
    );
  });
});
