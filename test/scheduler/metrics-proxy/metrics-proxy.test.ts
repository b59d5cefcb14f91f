// The vLLM metrics proxy on loopback, against a fake vLLM that serves its API and /metrics on one port: only
// GET /metrics gets through, bodies and time are bounded, and with TLS both sides verify certificates from the
// cluster CA (made with openssl, as cert-manager's CA issuer signs them).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMetricsProxy, type MetricsProxy } from '../../../scheduler/metrics-proxy/app.ts';
import { parseMetricsProxyArgs } from '../../../scheduler/metrics-proxy/flags.ts';
import type { Logger } from '../../../scheduler/service/log.ts';
import { createTestPki, hasOpenssl, scrapeOverTls } from '../test-pki.ts';

const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
const METRICS = '# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name="m"} 3\n';

type Behaviour = 'normal' | 'huge' | 'drip';

/** A fake vLLM: /metrics in one of three behaviours, and an API that records every call it gets. */
function fakeVllm(): {
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  calls: string[];
  behaviour: { current: Behaviour };
} {
  const calls: string[] = [];
  const behaviour = { current: 'normal' as Behaviour };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    calls.push(`${req.method ?? ''} ${req.url ?? ''}`);
    if (req.url !== '/metrics') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"choices":[]}');
      return;
    }
    if (behaviour.current === 'huge') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const line = `${'x'.repeat(1023)}\n`;
      let sent = 0;
      const more = (): void => {
        while (sent < 64 * 1024 && res.write(line)) sent++;
        if (sent < 64 * 1024) res.once('drain', more);
        else res.end();
      };
      res.on('error', () => undefined);
      more();
      return;
    }
    if (behaviour.current === 'drip') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('# still here\n'), 50);
      res.on('close', () => clearInterval(timer));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(METRICS);
  };
  return { handle, calls, behaviour };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

async function get(
  port: number,
  path: string,
  method = 'GET',
): Promise<{ status: number; body: string; type: string | undefined }> {
  const response = await fetch(`http://127.0.0.1:${String(port)}${path}`, { method });
  return {
    status: response.status,
    body: await response.text(),
    type: response.headers.get('content-type') ?? undefined,
  };
}

describe('the vLLM metrics proxy over plain HTTP', () => {
  const vllm = fakeVllm();
  const vllmServer = createHttpServer(vllm.handle);
  let proxy: MetricsProxy;
  let vllmPort = 0;

  beforeAll(async () => {
    vllmPort = await listen(vllmServer);
    proxy = await startMetricsProxy(
      parseMetricsProxyArgs([
        '--port',
        '0',
        '--vllm-port',
        String(vllmPort),
        '--timeout',
        '1s',
        '--max-body-bytes',
        '1Mi',
      ]),
      quiet,
    );
  });
  afterEach(() => {
    vllm.behaviour.current = 'normal';
  });
  afterAll(async () => {
    await proxy.close();
    vllmServer.closeAllConnections();
    vllmServer.close();
  });

  it('passes GET /metrics through, with vLLM’s media type', async () => {
    const answer = await get(proxy.port, '/metrics');
    expect(answer).toEqual({ status: 200, body: METRICS, type: 'text/plain; version=0.0.4; charset=utf-8' });
  });

  it('serves nothing else: the inference API never reaches vLLM', async () => {
    const before = vllm.calls.length;
    expect((await get(proxy.port, '/v1/completions', 'POST')).status).toBe(404);
    expect((await get(proxy.port, '/v1/models')).status).toBe(404);
    expect((await get(proxy.port, '/metrics/../v1/models')).status).toBe(404);
    expect((await get(proxy.port, '/metrics', 'POST')).status).toBe(405);
    expect(vllm.calls.slice(before)).toEqual([]);
  });

  it('fails a body over the cap with 502 instead of holding it', async () => {
    vllm.behaviour.current = 'huge';
    const answer = await get(proxy.port, '/metrics');
    expect(answer.status).toBe(502);
    expect(answer.body).toContain('larger than 1048576 bytes');
  });

  it('fails a drip-fed body at the deadline with 504', async () => {
    vllm.behaviour.current = 'drip';
    const started = performance.now();
    const answer = await get(proxy.port, '/metrics');
    expect(answer.status).toBe(504);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('answers 503 while vLLM does not listen', async () => {
    const down = createHttpServer();
    const port = await listen(down);
    await new Promise<void>((resolve) => down.close(() => resolve()));
    const orphan = await startMetricsProxy(
      parseMetricsProxyArgs(['--port', '0', '--vllm-port', String(port)]),
      quiet,
    );
    try {
      expect((await get(orphan.port, '/metrics')).status).toBe(503);
    } finally {
      await orphan.close();
    }
  });
});

describe.skipIf(!hasOpenssl())('the vLLM metrics proxy with TLS on both sides', () => {
  const pki = createTestPki('metrics-proxy-');
  const vllm = fakeVllm();
  let vllmServer: Server;
  let proxy: MetricsProxy;

  beforeAll(async () => {
    pki.ca('cluster-ca');
    pki.ca('other-ca');
    // vLLM's certificate names the Service, as the model chart's Certificate does; the proxy checks that name.
    pki.server('vllm', 'cluster-ca', ['DNS:m-vllm.llm.svc']);
    const client = ['extendedKeyUsage=clientAuth'];
    pki.leaf('switchyard-prometheus', 'cluster-ca', client);
    pki.leaf('stranger', 'other-ca', client);
    const certDir = join(pki.dir, 'vllm-tls');
    mkdirSync(certDir);
    copyFileSync(join(pki.dir, 'vllm.crt'), join(certDir, 'tls.crt'));
    copyFileSync(join(pki.dir, 'vllm.key'), join(certDir, 'tls.key'));
    copyFileSync(join(pki.dir, 'cluster-ca.crt'), join(certDir, 'ca.crt'));
    vllmServer = createHttpsServer(
      { cert: readFileSync(join(certDir, 'tls.crt')), key: readFileSync(join(certDir, 'tls.key')) },
      vllm.handle,
    );
    const vllmPort = await listen(vllmServer);
    proxy = await startMetricsProxy(
      parseMetricsProxyArgs([
        '--port',
        '0',
        '--vllm-port',
        String(vllmPort),
        '--model-server-scheme',
        'https',
        '--model-server-ca-file',
        join(certDir, 'ca.crt'),
        '--model-server-server-name',
        'm-vllm.llm.svc',
        '--cert-path',
        certDir,
        '--client-ca-file',
        join(certDir, 'ca.crt'),
        '--client-names',
        'switchyard-prometheus',
      ]),
      quiet,
    );
  });
  afterAll(async () => {
    await proxy.close();
    vllmServer.closeAllConnections();
    vllmServer.close();
    pki.cleanup();
  });

  const scrape = (client: string | undefined): Promise<{ status: number; body: string }> =>
    scrapeOverTls(pki, {
      port: proxy.port,
      ca: 'cluster-ca',
      servername: 'm-vllm.llm.svc',
      ...(client === undefined ? {} : { client }),
    });

  it('scrapes vLLM over verified TLS for Prometheus’s client certificate', async () => {
    expect(await scrape('switchyard-prometheus')).toEqual({ status: 200, body: METRICS });
  });

  it('refuses a client without a certificate from the cluster CA', async () => {
    await expect(scrape(undefined)).rejects.toThrow();
    await expect(scrape('stranger')).rejects.toThrow();
  });
});

describe('metrics-proxy flags', () => {
  const main = fileURLToPath(new URL('../../../scheduler/main.ts', import.meta.url));

  it.each([
    [['--model-server-scheme', 'https'], '--model-server-scheme https needs --model-server-ca-file'],
    [['--model-server-ca-file', 'ca.crt'], 'only with --model-server-scheme https'],
    [['--cert-path', '/tls'], '--cert-path and --client-ca-file go together'],
    [['--port', '70000'], '--port: expected a port number'],
  ])('%j exits 2 naming the flag', (args, message) => {
    const run = spawnSync(process.execPath, [main, 'metrics-proxy', ...args], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(message);
  });
});
