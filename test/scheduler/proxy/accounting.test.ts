// Usage accounting, model rewrites and the Responses API through the proxy.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createScheduler, policyPresets } from '../../../scheduler/core/index.ts';
import { rewriteRules } from '../../../scheduler/datalayer/objectives.ts';
import { EndpointRegistry } from '../../../scheduler/datalayer/endpoint-registry.ts';
import { parseStaticEndpoints } from '../../../scheduler/datalayer/static-endpoints.ts';
import { startProxyServer, type ProxyServer } from '../../../scheduler/proxy/server.ts';
import { PoolRoutingService } from '../../../scheduler/service/pool-routing-service.ts';
import { RouterMetrics } from '../../../scheduler/telemetry/metrics.ts';
import { defined } from '../datalayer/defined.ts';
import { MODEL, startStack, type Stack } from './stack.ts';

/** Sum of a histogram's observations, read from the router's own exposition. */
async function histogramSum(metrics: RouterMetrics, name: string): Promise<number> {
  const text = await metrics.registry.metrics();
  let total = 0;
  for (const m of text.matchAll(new RegExp(`^${name}_sum\\{[^}]*\\} (\\S+)$`, 'gm'))) {
    total += Number(m[1]);
  }
  return total;
}

describe('proxy accounting', () => {
  let stack: Stack | undefined;
  let upstream: Server | undefined;
  let proxy: ProxyServer | undefined;

  afterEach(async () => {
    await stack?.close();
    stack = undefined;
    await proxy?.close(100);
    proxy = undefined;
    upstream?.closeAllConnections();
    await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
    upstream = undefined;
  });

  it('reports the usage of streamed and non-streamed responses to metrics and the scheduler', async () => {
    const metrics = new RouterMetrics({ poolName: 'test' });
    stack = await startStack({ replicas: 1, proxy: { metrics } });
    const streamed = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: MODEL,
        messages: [{ role: 'user', content: 'count to ten' }],
        max_tokens: 7,
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    await streamed.arrayBuffer();
    const plain = await fetch(`${stack.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, prompt: 'hello', max_tokens: 5 }),
    });
    const usage = ((await plain.json()) as { usage: { prompt_tokens: number } }).usage;
    expect(await histogramSum(metrics, 'llm_d_epp_request_output_tokens')).toBe(12);
    expect(await histogramSum(metrics, 'llm_d_epp_request_input_tokens')).toBeGreaterThanOrEqual(
      usage.prompt_tokens,
    );
    expect(stack.service.inFlightCount()).toBe(0);
  });

  it('asks for the usage of a stream whose client did not, and keeps it out of what the client sees', async () => {
    const metrics = new RouterMetrics({ poolName: 'test' });
    stack = await startStack({ replicas: 1, proxy: { metrics } });
    const completed: { completionTokens?: number; cachedTokens?: number }[] = [];
    const complete = stack.scheduler.complete.bind(stack.scheduler);
    stack.scheduler.complete = (id, completion) => {
      completed.push(completion);
      complete(id, completion);
    };
    for (const path of ['/v1/chat/completions', '/v1/completions']) {
      const body =
        path === '/v1/completions'
          ? { model: MODEL, prompt: 'count to ten', max_tokens: 6, stream: true }
          : {
              model: MODEL,
              messages: [{ role: 'user', content: 'count to ten' }],
              max_tokens: 6,
              stream: true,
            };
      const res = await fetch(`${stack.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      const events = text.split('\n').filter((line) => line.startsWith('data: '));
      // Six tokens, then [DONE]: the client sees the stream it asked for, without a usage event.
      expect(events.at(-1)).toBe('data: [DONE]');
      expect(events.filter((e) => e !== 'data: [DONE]').every((e) => !e.includes('"choices":[]'))).toBe(true);
      expect(text).not.toContain('"completion_tokens"');
      expect(text).not.toMatch(/\n\n\n/);
    }
    // The router read the usage all the same: the scheduler and the metrics got each answer's tokens.
    expect(completed.map((c) => c.completionTokens)).toEqual([6, 6]);
    expect(completed.every((c) => c.cachedTokens !== undefined)).toBe(true);
    expect(await histogramSum(metrics, 'llm_d_epp_request_output_tokens')).toBe(12);
  });

  it('rewrites the model upstream and restores the client-facing name in the response', async () => {
    stack = await startStack({ replicas: 1, servedModels: [MODEL] });
    stack.service.setRewriteRules(
      rewriteRules(
        [
          {
            metadata: { name: 'alias', namespace: 'ns' },
            spec: {
              poolRef: { name: 'pool' },
              rules: [{ matches: [{ model: { value: 'qwen-small' } }], targets: [{ modelRewrite: MODEL }] }],
            },
          },
        ],
        'pool',
      ),
    );
    const plain = await fetch(`${stack.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'qwen-small', prompt: 'hello', max_tokens: 3 }),
    });
    expect(plain.status).toBe(200);
    expect(((await plain.json()) as { model: string }).model).toBe('qwen-small');

    const streamed = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'qwen-small',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 3,
        stream: true,
      }),
    });
    const text = await streamed.text();
    expect(text).toContain('"model":"qwen-small"');
    expect(text).not.toContain(MODEL);

    // The rewrite header of the protocol wins over the tables.
    const forced = await fetch(`${stack.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-llm-d-model-name-rewrite': MODEL },
      body: JSON.stringify({ model: 'anything', prompt: 'hello', max_tokens: 2 }),
    });
    expect(forced.status).toBe(200);
    expect(((await forced.json()) as { model: string }).model).toBe('anything');
  });

  it('relays the Responses API and reads usage from response.completed', async () => {
    // vLLM's /v1/responses event stream, served by a minimal real HTTP server.
    const seen: unknown[] = [];
    upstream = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({
          path: req.url,
          body: JSON.parse(body) as unknown,
          requestId: req.headers['x-request-id'],
        });
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('event: response.created\ndata: {"type":"response.created","response":{"id":"r1"}}\n\n');
        res.write(
          'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"Hi"}\n\n',
        );
        res.end(
          'event: response.completed\ndata: {"type":"response.completed","response":{"id":"r1","usage":' +
            '{"input_tokens":30,"input_tokens_details":{"cached_tokens":16},"output_tokens":2,"total_tokens":32}}}\n\n',
        );
      });
    });
    await new Promise<void>((r) => defined(upstream).listen(0, '127.0.0.1', r));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    const registry = new EndpointRegistry();
    registry.setTargets(parseStaticEndpoints(`127.0.0.1:${upstreamPort}`));
    registry.markSynced();
    const service = new PoolRoutingService({
      scheduler: createScheduler(policyPresets.switchyard, { now: Date.now, random: Math.random }),
      registry,
    });
    const metrics = new RouterMetrics({ poolName: 'test' });
    proxy = await startProxyServer({ host: '127.0.0.1', port: 0, service, metrics });
    const res = await fetch(`http://127.0.0.1:${proxy.port}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-42' },
      body: JSON.stringify({ model: 'm', input: 'Say hi', stream: true }),
    });
    const text = await res.text();
    expect(text).toContain('response.completed');
    expect(seen).toEqual([
      { path: '/v1/responses', body: { model: 'm', input: 'Say hi', stream: true }, requestId: 'req-42' },
    ]);
    expect(await histogramSum(metrics, 'llm_d_epp_request_cached_tokens')).toBe(16);
    expect(await histogramSum(metrics, 'llm_d_epp_request_input_tokens')).toBe(30);
    expect(service.inFlightCount()).toBe(0);
  });
});

describe('proxy admission', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('sheds sheddable objectives with 429 when the pool has no fresh metrics, and serves the others', async () => {
    // No scraper runs here: every endpoint lacks fresh metrics, which the saturation detector counts as full.
    stack = await startStack({ replicas: 1 });
    stack.service.setObjectivePriorities(
      new Map([
        ['batch', -10],
        ['premium', 100],
      ]),
    );
    const send = (objective: string): Promise<Response> =>
      fetch(`${defined(stack).url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-llm-d-inference-objective': objective },
        body: JSON.stringify({ model: MODEL, prompt: 'x', max_tokens: 1 }),
      });
    const shed = await send('batch');
    expect(shed.status).toBe(429);
    expect(shed.headers.get('x-llm-d-request-dropped-reason')).toBe('rejected-saturated');
    expect(((await shed.json()) as { error: { type: string } }).error.type).toBe('rate_limit_error');
    const served = await send('premium');
    expect(served.status).toBe(200);
    await served.arrayBuffer();
    expect(stack.service.inFlightCount()).toBe(0);
  });
});
