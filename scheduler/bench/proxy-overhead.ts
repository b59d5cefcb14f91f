// How much time to first token the HTTP proxy adds. One simulated replica runs in a worker thread and the
// router (routing service + HTTP proxy over the same replica) in another; the main thread sends streaming
// requests one at a time, alternating direct and proxied, so both series see the same engine state and
// machine load. TTFT is measured from sending the request to the first server-sent event with content.
//
// `node scheduler/bench/proxy-overhead.ts [--requests N]` prints the figures; `npm run bench:router` imports
// measureProxyOverhead and adds them to its report.
import { request as httpRequest, Agent as HttpAgent } from 'node:http';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

export interface ProxyOverheadFigures {
  readonly directTtftP50Ms: number;
  readonly proxiedTtftP50Ms: number;
}

interface WorkerSetup {
  /** Marks this module's own workers (other benchmarks that import it may run workers of their own). */
  readonly proxyOverheadRole: 'sim' | 'router';
  readonly simPort?: number;
}

const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';

async function runWorker(setup: WorkerSetup): Promise<void> {
  const port = parentPort;
  if (port === null) {
    return;
  }
  let close: () => Promise<void>;
  let listening: number;
  if (setup.proxyOverheadRole === 'sim') {
    const { startSimServer } = await import('../sim/server.ts');
    const sim = await startSimServer({
      host: '127.0.0.1',
      port: 0,
      model: MODEL,
      profile: 'qwen2.5-0.5b-l4',
      seed: 7,
    });
    listening = sim.port;
    close = () => sim.close();
  } else {
    const { createScheduler, policyPresets } = await import('../core/index.ts');
    const { EndpointRegistry } = await import('../datalayer/endpoint-registry.ts');
    const { MetricsScraper } = await import('../datalayer/metrics-scraper.ts');
    const { parseStaticEndpoints } = await import('../datalayer/static-endpoints.ts');
    const { PoolRoutingService } = await import('../service/pool-routing-service.ts');
    const { startProxyServer } = await import('../proxy/server.ts');
    const { RouterMetrics } = await import('../telemetry/metrics.ts');
    const registry = new EndpointRegistry();
    registry.setTargets(parseStaticEndpoints(`127.0.0.1:${setup.simPort ?? 0}`));
    registry.markSynced();
    const scheduler = createScheduler(policyPresets.switchyard, { now: Date.now, random: Math.random });
    const service = new PoolRoutingService({ scheduler, registry });
    // Scraping runs as in production, off the request path.
    const scraper = new MetricsScraper({ registry, intervalMs: 50, stalenessMs: 2000, now: Date.now });
    scraper.start();
    // Metrics on, as in a deployment: recording them is part of the proxy's work.
    const metrics = new RouterMetrics({ poolName: 'bench', endpoints: () => service.endpoints() });
    const proxy = await startProxyServer({ host: '127.0.0.1', port: 0, service, metrics });
    listening = proxy.port;
    close = async () => {
      await proxy.close(1000);
      await scraper.stop();
    };
  }
  port.postMessage({ port: listening });
  port.once('message', () => {
    void close().then(() => port.close());
  });
}

function startWorker(setup: WorkerSetup): Promise<{ worker: Worker; port: number }> {
  const worker = new Worker(new URL(import.meta.url), { workerData: setup });
  return new Promise((resolve, reject) => {
    worker.once('message', (m: { port: number }) => resolve({ worker, port: m.port }));
    worker.once('error', reject);
  });
}

async function stopWorker(worker: Worker): Promise<void> {
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  worker.postMessage('stop');
  await exited;
}

/** Time from sending the request to the first `data:` event, in ms; the rest of the stream is drained. */
function ttftOnce(agent: HttpAgent, port: number, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let first: number | undefined;
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/completions',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`HTTP ${res.statusCode ?? 0} from port ${port}`));
          res.resume();
          return;
        }
        res.on('data', (chunk: Buffer) => {
          if (first === undefined && chunk.includes('data:')) {
            first = performance.now() - started;
          }
        });
        res.once('end', () =>
          first === undefined ? reject(new Error('no event received')) : resolve(first),
        );
        res.once('error', reject);
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Measures direct and proxied TTFT side by side; `requests` pairs after `warmup` pairs. */
export async function measureProxyOverhead(
  options: { requests?: number; warmup?: number } = {},
): Promise<ProxyOverheadFigures> {
  const requests = options.requests ?? 500;
  // A router in service runs with its request path compiled; a few hundred pairs get V8 there, so the
  // figures measure the proxy rather than the JIT's first passes (both arms are warmed alike).
  const warmup = options.warmup ?? 300;
  const sim = await startWorker({ proxyOverheadRole: 'sim' });
  const router = await startWorker({ proxyOverheadRole: 'router', simPort: sim.port });
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 2 });
  const direct: number[] = [];
  const proxied: number[] = [];
  try {
    for (let i = 0; i < warmup + requests; i++) {
      // A distinct prompt per pair; both members of a pair send the same one. Alternate who goes first.
      const body = JSON.stringify({
        model: MODEL,
        prompt: `benchmark prompt ${i}`,
        max_tokens: 2,
        stream: true,
      });
      const order = i % 2 === 0 ? [sim.port, router.port] : [router.port, sim.port];
      for (const port of order) {
        const ttft = await ttftOnce(agent, port, body);
        if (i >= warmup) {
          (port === sim.port ? direct : proxied).push(ttft);
        }
      }
    }
  } finally {
    agent.destroy();
    await stopWorker(router.worker);
    await stopWorker(sim.worker);
  }
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  return { directTtftP50Ms: round(median(direct)), proxiedTtftP50Ms: round(median(proxied)) };
}

const setup = workerData as Partial<WorkerSetup> | null;
if (!isMainThread && setup?.proxyOverheadRole !== undefined) {
  await runWorker(setup as WorkerSetup);
} else if (import.meta.main) {
  const { values } = parseArgs({ options: { requests: { type: 'string', default: '500' } } });
  const requests = Number(values.requests);
  if (!Number.isInteger(requests) || requests < 1) {
    console.error('--requests must be a positive integer');
    process.exit(2);
  }
  const figures = await measureProxyOverhead({ requests });
  console.log(
    `HTTP proxy TTFT p50: direct ${figures.directTtftP50Ms} ms, through the router ${figures.proxiedTtftP50Ms} ms ` +
      `(added ${(figures.proxiedTtftP50Ms - figures.directTtftP50Ms).toFixed(3)} ms over ${requests} pairs)`,
  );
  console.log(JSON.stringify(figures));
}
