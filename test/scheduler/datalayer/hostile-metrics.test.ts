// A model server's /metrics can be huge or drip-fed. Before the scrape limits a 512 MiB body took the router
// from 250 MB to 1.78 GB and blocked the event loop 2.4 s, and a drip-fed body pinned its scrape for ever.
// Stated bounds (loopback, 8 MiB body cap, 1 s scrape deadline), two rounds of scrapes: RSS grows by less
// than 128 MiB, the process spends less than 1.5 s of CPU (the event loop cannot have been blocked longer;
// event-loop delay itself is not asserted, since a busy machine delays every process), each round ends
// within 5 s, the server sends less than 64 MiB of the 512 MiB body per round, and a healthy endpoint
// scraped alongside keeps fresh metrics. On an idle machine the event loop was blocked 74 ms at most.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EndpointRegistry } from '../../../scheduler/datalayer/endpoint-registry.ts';
import { MetricsScraper, type ScrapeEvent } from '../../../scheduler/datalayer/metrics-scraper.ts';
import { parseStaticEndpoints } from '../../../scheduler/datalayer/static-endpoints.ts';
import { writeWithBackpressure } from '../write-with-backpressure.ts';

const MiB = 1024 * 1024;
const HEALTHY = [
  'vllm:num_requests_waiting{model_name="m"} 2',
  'vllm:num_requests_running{model_name="m"} 1',
  'vllm:kv_cache_usage_perc{model_name="m"} 0.25',
  '',
].join('\n');

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

async function serve(handler: (res: ServerResponse) => void): Promise<number> {
  const server = createServer((_req, res) => handler(res));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('scrapes of hostile /metrics bodies', () => {
  it('bounds memory, event-loop delay and time against a 512 MiB and a drip-fed body', async () => {
    let hugeBytesSent = 0;
    const line = Buffer.from(`vllm:some_histogram_bucket{le="0.5",model_name="${'x'.repeat(60)}"} 12345\n`);
    const chunk = Buffer.concat(Array.from({ length: Math.ceil((64 * 1024) / line.length) }, () => line));
    const hugePort = await serve((res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(512 * MiB) });
      writeWithBackpressure(res, chunk, 512 * MiB, (bytes) => (hugeBytesSent = bytes));
    });
    const timers = new Set<NodeJS.Timeout>();
    const dripPort = await serve((res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      let at = 0;
      const timer = setInterval(() => {
        if (res.destroyed || at >= HEALTHY.length) {
          clearInterval(timer);
          res.end();
          return;
        }
        res.write(HEALTHY[at++] ?? '');
      }, 100);
      timers.add(timer);
      res.on('close', () => clearInterval(timer));
    });
    const healthyPort = await serve((res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(HEALTHY);
    });

    const registry = new EndpointRegistry();
    registry.setTargets(
      parseStaticEndpoints(`127.0.0.1:${hugePort},127.0.0.1:${dripPort},127.0.0.1:${healthyPort}`),
    );
    const events: ScrapeEvent[] = [];
    const scraper = new MetricsScraper({
      registry,
      intervalMs: 50,
      timeoutMs: 1000,
      maxBodyBytes: 8 * MiB,
      stalenessMs: 2000,
      now: Date.now,
      onEvent: (event) => events.push(event),
    });
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }, 20);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    try {
      for (let round = 0; round < 2; round++) {
        await scraper.tick();
      }
    } finally {
      clearInterval(sampler);
      for (const timer of timers) clearInterval(timer);
      await scraper.stop();
    }
    const elapsedMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const errors = events.filter((e) => e.kind === 'error');
    const hugeErrors = errors.filter((e) => e.key === `127.0.0.1:${hugePort}`);
    const dripErrors = errors.filter((e) => e.key === `127.0.0.1:${dripPort}`);
    // Stopped at the body cap, or (on a busy machine, before 8 MiB arrived) at the deadline.
    expect(hugeErrors).toHaveLength(2);
    for (const e of hugeErrors) {
      expect(e.kind === 'error' && e.message).toMatch(
        new RegExp(`^GET /metrics (body exceeds ${8 * MiB} bytes|took longer than 1000 ms)$`),
      );
    }
    expect(dripErrors.map((e) => e.kind === 'error' && e.message)).toEqual([
      'GET /metrics took longer than 1000 ms',
      'GET /metrics took longer than 1000 ms',
    ]);
    // Two rounds, each bounded by the 1 s deadline of the drip-fed scrape.
    expect(elapsedMs).toBeLessThan(2 * 5000);
    expect(hugeBytesSent).toBeLessThan(2 * 64 * MiB);
    expect(rssPeak - rssBefore).toBeLessThan(128 * MiB);
    expect(cpuMs).toBeLessThan(1500);
    expect(registry.metricsOf(`127.0.0.1:${healthyPort}`)?.waitingRequests).toBe(2);
    expect(registry.metricsOf(`127.0.0.1:${hugePort}`)).toBeUndefined();
    expect(registry.metricsOf(`127.0.0.1:${dripPort}`)).toBeUndefined();
  }, 30_000);
});
