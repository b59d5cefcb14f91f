// Prefill/decode disaggregation on the HTTP proxy face, with real model-server stand-ins on loopback: the
// request reaches the decode pod with x-prefiller-host-port naming the prefill pod, or without any such header.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createScheduler, policyPresets, type SchedulerConfig } from '../../../scheduler/core/index.ts';
import { EndpointRegistry, type EndpointTarget } from '../../../scheduler/datalayer/endpoint-registry.ts';
import { startProxyServer, type ProxyServer } from '../../../scheduler/proxy/server.ts';
import { PoolRoutingService } from '../../../scheduler/service/pool-routing-service.ts';
import { RouterMetrics } from '../../../scheduler/telemetry/metrics.ts';
import { PD_NON_CACHED_TOKENS, pdConfig, tokenPrompt } from '../pd-config.ts';

const HEADER = 'x-prefiller-host-port';

/** A model server that answers every completion and remembers the headers it got. */
interface Upstream {
  readonly server: Server;
  readonly port: number;
  readonly seen: IncomingHttpHeaders[];
}

async function startUpstream(): Promise<Upstream> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c', choices: [], usage: { prompt_tokens: 20, completion_tokens: 1 } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

interface Running {
  readonly decode: Upstream;
  readonly prefill: Upstream;
  readonly service: PoolRoutingService;
  readonly metrics: RouterMetrics;
  readonly proxy: ProxyServer;
}

let running: Running | undefined;

afterEach(async () => {
  if (running === undefined) return;
  await running.proxy.close(100);
  for (const upstream of [running.decode, running.prefill]) {
    upstream.server.closeAllConnections();
    await new Promise<void>((resolve) => upstream.server.close(() => resolve()));
  }
  running = undefined;
});

async function start(config: SchedulerConfig): Promise<Running> {
  const decode = await startUpstream();
  const prefill = await startUpstream();
  const target = (port: number, role: string): EndpointTarget => ({
    key: `127.0.0.1:${port}`,
    address: '127.0.0.1',
    port,
    labels: { 'llm-d.ai/role': role },
  });
  const registry = new EndpointRegistry();
  registry.setTargets([target(decode.port, 'decode'), target(prefill.port, 'prefill')]);
  registry.markSynced();
  const service = new PoolRoutingService({
    scheduler: createScheduler(config, { now: Date.now, random: Math.random }),
    registry,
  });
  const metrics = new RouterMetrics({ poolName: 'pd' });
  const proxy = await startProxyServer({ host: '127.0.0.1', port: 0, service, metrics });
  running = { decode, prefill, service, metrics, proxy };
  return running;
}

async function complete(tokens: number, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${running?.proxy.port ?? 0}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'qwen', prompt: tokenPrompt(tokens), max_tokens: 1 }),
  });
  await res.arrayBuffer();
  return res.status;
}

describe('HTTP proxy with a disagg-profile-handler', () => {
  it('sends a long uncached prompt to the decode pod with the prefill pod in x-prefiller-host-port', async () => {
    const { decode, prefill, service, metrics } = await start(pdConfig);
    expect(await complete(200)).toBe(200);
    expect(decode.seen).toHaveLength(1);
    expect(decode.seen[0]?.[HEADER]).toBe(`127.0.0.1:${prefill.port}`);
    // The decode pod's sidecar calls the prefill pod; the router never does.
    expect(prefill.seen).toHaveLength(0);
    expect(service.inFlightCount()).toBe(0);
    expect(await metrics.registry.metrics()).toContain(
      'llm_d_epp_disagg_decision_total{model_name="qwen",decision_type="prefill-decode"} 1',
    );
  });

  it('strips a client-supplied header below nonCachedTokens and replaces it from nonCachedTokens on', async () => {
    const { decode, prefill, metrics } = await start(pdConfig);
    const spoofed = { [HEADER]: '203.0.113.9:8000' };
    expect(await complete(PD_NON_CACHED_TOKENS - 1, spoofed)).toBe(200);
    expect(decode.seen[0]).toBeDefined();
    expect(decode.seen[0]?.[HEADER]).toBeUndefined();
    expect(await complete(PD_NON_CACHED_TOKENS, spoofed)).toBe(200);
    expect(decode.seen[1]?.[HEADER]).toBe(`127.0.0.1:${prefill.port}`);
    expect(await metrics.registry.metrics()).toContain(
      'llm_d_epp_disagg_decision_total{model_name="qwen",decision_type="decode-only"} 1',
    );
  });
});

describe('HTTP proxy without disaggregation', () => {
  it('strips a client-supplied x-prefiller-host-port', async () => {
    const { decode, prefill } = await start(policyPresets['least-request']);
    for (let i = 0; i < 4; i++) expect(await complete(300, { [HEADER]: '203.0.113.9:8000' })).toBe(200);
    const seen = [...decode.seen, ...prefill.seen];
    expect(seen).toHaveLength(4);
    for (const headers of seen) expect(headers[HEADER]).toBeUndefined();
  });
});
