// A client that stops reading must stop the proxy from reading upstream, instead of the proxy buffering the
// whole response in memory.
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { createScheduler, policyPresets } from '../../../scheduler/core/index.ts';
import { EndpointRegistry } from '../../../scheduler/datalayer/endpoint-registry.ts';
import { parseStaticEndpoints } from '../../../scheduler/datalayer/static-endpoints.ts';
import { startProxyServer, type ProxyServer } from '../../../scheduler/proxy/server.ts';
import { PoolRoutingService } from '../../../scheduler/service/pool-routing-service.ts';
import { writeWithBackpressure } from '../write-with-backpressure.ts';
import { defined } from '../datalayer/defined.ts';

const TOTAL = 64 * 1024 * 1024;
// Server-sent events of 64 KiB each: `data: xxxx…\n\n`.
const CHUNK = Buffer.concat([Buffer.from('data: '), Buffer.alloc(64 * 1024 - 8, 'x'), Buffer.from('\n\n')]);

let upstream: Server | undefined;
let proxy: ProxyServer | undefined;

afterEach(async () => {
  await proxy?.close(100);
  upstream?.closeAllConnections();
  await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
});

it('pauses the upstream while the client does not read, then delivers everything', async () => {
  let written = 0;
  upstream = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    writeWithBackpressure(res, CHUNK, TOTAL, (bytes) => (written = bytes));
  });
  await new Promise<void>((r) => defined(upstream).listen(0, '127.0.0.1', r));
  const registry = new EndpointRegistry();
  registry.setTargets(parseStaticEndpoints(`127.0.0.1:${(upstream.address() as AddressInfo).port}`));
  registry.markSynced();
  const service = new PoolRoutingService({
    scheduler: createScheduler(policyPresets['least-request'], { now: Date.now, random: Math.random }),
    registry,
  });
  proxy = await startProxyServer({ host: '127.0.0.1', port: 0, service });

  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: defined(proxy).port,
        method: 'POST',
        path: '/v1/completions',
        headers: { 'content-type': 'application/json' },
      },
      resolve,
    );
    req.on('error', reject);
    req.end(JSON.stringify({ model: 'm', prompt: 'x', stream: true }));
  });
  response.pause();
  await new Promise((r) => setTimeout(r, 500));
  // Only what fits in the socket buffers on both hops has left the upstream.
  expect(written).toBeLessThan(32 * 1024 * 1024);

  let received = 0;
  response.on('data', (c: Buffer) => (received += c.length));
  response.resume();
  await new Promise((r) => response.once('end', r));
  expect(received).toBe(TOTAL);
  expect(service.inFlightCount()).toBe(0);
});
