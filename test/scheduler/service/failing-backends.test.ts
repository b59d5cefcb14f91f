// Failing model servers, with real sockets on loopback: simulated vLLM replicas, the routing service, the
// HTTP proxy and the ext_proc server (driven by a client that plays Envoy and really forwards to the picked
// endpoint). Before outlier ejection a replica that failed fast looked idle and drew the traffic: one dead
// replica of three got 81% of ext_proc picks, one replica answering 500s made 85% of proxied requests fail.
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimServer } from '../../../scheduler/sim/server.ts';
import { EnvoyStream, connectExtProc, mutatedHeader } from '../extproc/envoy-client.ts';
import { MODEL, eventually, startStack, type Stack } from '../proxy/stack.ts';

let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

function completionBody(prompt: string, maxTokens = 4): Buffer {
  return Buffer.from(JSON.stringify({ model: MODEL, prompt, max_tokens: maxTokens }));
}

/** One request through the proxy: the status and the endpoint that served it. */
async function viaProxy(s: Stack, prompt: string): Promise<{ status: number; servedBy: string | null }> {
  const res = await fetch(`${s.url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: completionBody(prompt),
  });
  await res.arrayBuffer();
  return { status: res.status, servedBy: res.headers.get('x-gateway-destination-endpoint-served') };
}

/**
 * One request through ext_proc as Envoy runs it: the router picks, the "gateway" forwards to the pick and
 * reports the upstream answer (503 when the connection is refused, as Envoy's local reply) on the response
 * path. Returns the pick and the status.
 */
async function viaExtProc(
  client: ReturnType<typeof connectExtProc>,
  prompt: string,
): Promise<{ picked: string | undefined; status: number }> {
  const stream = new EnvoyStream(client);
  const body = completionBody(prompt);
  stream.requestHeaders(
    { ':method': 'POST', ':path': '/v1/completions', 'content-type': 'application/json' },
    false,
  );
  stream.requestBody(body, true);
  const [first] = await stream.waitFor(1);
  const immediate = first?.immediateResponse;
  if (immediate != null) {
    await stream.ended;
    return { picked: undefined, status: immediate.status?.code ?? 0 };
  }
  const picked = mutatedHeader(first, 'x-gateway-destination-endpoint');
  let status = 503;
  let answer = Buffer.from('upstream connect error or disconnect/reset before headers');
  try {
    const res = await request(`http://${picked ?? ''}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    status = res.statusCode;
    answer = Buffer.from(await res.body.arrayBuffer());
  } catch {
    // Refused: Envoy answers 503 itself, and the ext_proc filter sees that answer.
  }
  stream.responseHeaders({ ':status': String(status), 'content-type': 'application/json' }, false, picked);
  stream.responseBody(answer, true);
  stream.end();
  await stream.ended;
  return { picked, status };
}

/** Runs `total` calls, `concurrency` at a time. */
async function run<T>(total: number, concurrency: number, call: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        results.push(await call(i));
      }
    }),
  );
  return results;
}

describe('failing model servers', () => {
  it('ext_proc: a dead replica of three gets under 5% of picks once ejected, and picks again once healed', async () => {
    stack = await startStack({
      replicas: 3,
      extproc: true,
      scrape: true,
      outlier: { consecutiveFailures: 3, baseEjectionMs: 1000, maxEjectionMs: 2000 },
    });
    const s = stack;
    const client = connectExtProc(s.extproc?.port ?? 0);
    try {
      const dead = s.sims[0];
      if (dead === undefined) throw new Error('no replica');
      const deadPort = dead.port;
      const deadKey = `127.0.0.1:${deadPort}`;
      await eventually(() => expect(s.registry.metricsOf(deadKey)).toBeDefined());
      await dead.close();
      // Refused scrapes and refused requests eject it.
      await run(30, 3, (i) => viaExtProc(client, `warm-up ${i}`));
      await eventually(() => expect(s.service.ejectedEndpoints()).toContain(deadKey));

      const after = await run(200, 4, (i) => viaExtProc(client, `request ${i}`));
      const toDead = after.filter((r) => r.picked === deadKey).length;
      expect(toDead / after.length).toBeLessThan(0.05);
      expect(after.filter((r) => r.status !== 200).length).toBe(toDead);

      // Heal: a replica comes back on the same address; a recovery probe readmits it.
      const healed = await startSimServer({
        host: '127.0.0.1',
        port: deadPort,
        model: MODEL,
        profile: 'qwen2.5-0.5b-l4',
        seed: 9,
      });
      s.sims[0] = healed;
      await eventually(async () => {
        const batch = await run(30, 3, (i) => viaExtProc(client, `healing ${i}`));
        expect(batch.filter((r) => r.picked === deadKey && r.status === 200).length).toBeGreaterThan(3);
      }, 15_000);
      expect(s.service.ejectedEndpoints()).not.toContain(deadKey);
    } finally {
      client.close();
    }
  }, 60_000);

  it('proxy: a replica answering 500s costs under 5% failed requests (retried elsewhere, then ejected)', async () => {
    stack = await startStack({
      replicas: 3,
      faults: [undefined, undefined, { errorRate: 1, errorStatus: 500 }],
      scrape: true,
    });
    const s = stack;
    const failingKey = `127.0.0.1:${s.sims[2]?.port ?? 0}`;
    const results = await run(200, 4, (i) => viaProxy(s, `prompt number ${i}`));
    const failed = results.filter((r) => r.status !== 200);
    expect(failed.length / results.length).toBeLessThan(0.05);
    expect(results.filter((r) => r.servedBy === failingKey)).toEqual([]);
    // Every attempt on the failing replica was retried elsewhere; ejection keeps them few (a third of the
    // picks went there before), recovery probes aside.
    const exposition = await s.metrics.registry.metrics();
    const retried = Number(
      /switchyard_router_upstream_retries_total\{reason="server-error"\} (\d+)/.exec(exposition)?.[1] ?? '0',
    );
    expect(retried).toBeGreaterThanOrEqual(3);
    expect(retried).toBeLessThan(20);
    expect(s.service.inFlightCount()).toBe(0);
  }, 60_000);

  it('proxy: huge prompts that the engine rejects fast leave the traffic split within 10 points of even', async () => {
    stack = await startStack({ replicas: 3, policy: 'switchyard', scrape: true });
    const s = stack;
    await eventually(() => expect(s.registry.snapshot().every((e) => e.metrics !== undefined)).toBe(true));
    // About a million estimated tokens each, over the engine's 32k context: answered 400 at once.
    const poison = 'A'.repeat(4 * 1024 * 1024 - 1024);
    for (let i = 0; i < 3; i++) {
      expect((await viaProxy(s, `${i} ${poison}`)).status).toBe(400);
    }
    const results = await run(240, 6, (i) => viaProxy(s, `ordinary prompt ${i} ${'words '.repeat(i % 20)}`));
    expect(results.every((r) => r.status === 200)).toBe(true);
    for (const sim of s.sims) {
      const share = results.filter((r) => r.servedBy === `127.0.0.1:${sim.port}`).length / results.length;
      expect(Math.abs(share - 1 / 3)).toBeLessThan(0.1);
    }
  }, 60_000);

  it('proxy: with 3 of 4 endpoints refusing connections every request is served by the healthy one', async () => {
    stack = await startStack({
      replicas: 1,
      deadEndpoints: ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3'],
    });
    const s = stack;
    const results = await run(60, 4, (i) => viaProxy(s, `prompt ${i}`));
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(s.service.inFlightCount()).toBe(0);
  }, 60_000);

  it('answers 503 rejected-no-endpoints whatever the pool size, and /readyz follows', async () => {
    for (const deadCount of [1, 2, 4]) {
      stack = await startStack({
        replicas: 0,
        scrape: true,
        deadEndpoints: Array.from({ length: deadCount }, (_, i) => `127.0.0.1:${1 + i}`),
      });
      const s = stack;
      const first = await fetch(`${s.url}/v1/completions`, { method: 'POST', body: completionBody('hi') });
      expect(first.status).toBe(503);
      expect(first.headers.get('x-llm-d-request-dropped-reason')).toBe('rejected-no-endpoints');
      expect(await first.json()).toMatchObject({
        error: { type: 'service_unavailable', code: 'rejected-no-endpoints' },
      });
      await eventually(async () => expect((await fetch(`${s.url}/readyz`)).status).toBe(503));
      await stack.close();
      stack = undefined;
    }
  }, 60_000);
});
