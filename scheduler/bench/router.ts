// Router data-plane benchmark.
//   npm run bench:router -- [--json OUT] [--seconds 5] [--concurrency 64]
// ext_proc: the server runs alone in a worker thread (one core: Node runs it on one thread), with the real
// routing service (router core, endpoint registry) over 8 static endpoints; the main thread plays Envoy over
// one HTTP/2 connection, keeping `concurrency` streams open. Each stream is what Envoy sends in
// FULL_DUPLEX_STREAMED mode: request headers, the body in 16 KiB chunks, then response headers and a response
// body with usage. The added latency is the time from the request headers to the last echoed request-body
// chunk (what the gateway waits for before it can send the request upstream); requests/s counts whole
// streams.
// proxy: the HTTP proxy's time to first token against direct calls to the simulator (./proxy-overhead.ts).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as hdr from 'hdr-histogram-js';
import type { Client, ClientDuplexStream } from '@grpc/grpc-js';
import { ChannelCredentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import { createScheduler, policyPresets } from '../core/index.ts';
import { EndpointRegistry } from '../datalayer/endpoint-registry.ts';
import { parseStaticEndpoints } from '../datalayer/static-endpoints.ts';
import { externalProcessorService } from '../extproc/codec.ts';
import type { ProcessingRequest, ProcessingResponse } from '../extproc/messages.ts';
import { startExtProcServer } from '../extproc/server.ts';
import { PoolRoutingService } from '../service/pool-routing-service.ts';
import type { ProxyOverheadFigures } from './proxy-overhead.ts';
import { RouterMetrics } from '../telemetry/metrics.ts';

const ENDPOINT_COUNT = 8;
const ENVOY_CHUNK_BYTES = 16 * 1024;
const SIZES = { '4KB': 4 * 1024, '200KB': 200 * 1024 } as const;
type SizeName = keyof typeof SIZES;

interface ExtProcFigures {
  /** Whole streams per second of wall-clock time. */
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU time of the server thread per stream, and the streams one fully used core would carry. */
  readonly serverCpuMsPerRequest: number;
  readonly rpsPerServerCore: number;
}

/** CPU time (µs) the ext_proc server thread has used so far. */
function serverCpuMicros(worker: Worker): Promise<number> {
  return new Promise((resolve) => {
    worker.once('message', (message: { cpuMicros: number }) => resolve(message.cpuMicros));
    worker.postMessage('cpu');
  });
}

/**
 * The routing service the router deploys, over 8 static endpoints whose metrics are refreshed every 50 ms as
 * a scraper would (nothing listens on them: ext_proc only names the endpoint, Envoy makes the call).
 */
function benchRoutingService(): { service: PoolRoutingService; stop: () => void } {
  const registry = new EndpointRegistry();
  const targets = parseStaticEndpoints(
    Array.from({ length: ENDPOINT_COUNT }, (_, i) => `10.0.0.${String(i + 1)}:8000`).join(','),
  );
  registry.setTargets(targets);
  registry.markSynced();
  const scrape = (): void => {
    for (const { key } of targets) {
      registry.setMetrics(key, {
        waitingRequests: 0,
        runningRequests: 4,
        kvCacheUsage: 0.3,
        kvCacheCapacityBlocks: 19_208,
        kvBlockSize: 16,
        activeLoras: [],
        waitingLoras: [],
        maxLoras: 0,
        scrapedAtMs: Date.now(),
      });
    }
  };
  scrape();
  const timer = setInterval(scrape, 50);
  const scheduler = createScheduler(policyPresets.switchyard, { now: Date.now, random: Math.random });
  return { service: new PoolRoutingService({ scheduler, registry }), stop: () => clearInterval(timer) };
}

async function runServerWorker(): Promise<void> {
  const { service, stop } = benchRoutingService();
  // Metrics on, as in a deployment.
  const metrics = new RouterMetrics({ poolName: 'bench', endpoints: () => service.endpoints() });
  const server = await startExtProcServer({ host: '127.0.0.1', port: 0, service, metrics });
  parentPort?.postMessage({ port: server.port });
  parentPort?.on('message', (message: unknown) => {
    if (message === 'cpu') {
      const usage = process.threadCpuUsage();
      parentPort?.postMessage({ cpuMicros: usage.user + usage.system });
    } else if (message === 'stop') {
      stop();
      void server.close(1000).then(() => process.exit(0));
    }
  });
}

/** A chat request of about `size` bytes; prompts share a system prefix in groups, as real traffic does. */
function requestBody(size: number, index: number): Buffer {
  const system = `You are assistant number ${index % 16}. `.padEnd(Math.floor(size / 2), 'S');
  const user = `Question ${index}: `.padEnd(size - system.length - 120, 'q');
  return Buffer.from(
    JSON.stringify({
      model: 'qwen',
      max_tokens: 64,
      messages: [
        { role: 'system', content: system },
        { role: 'user', content: user },
      ],
    }),
  );
}

const RESPONSE = Buffer.from(
  JSON.stringify({
    id: 'cmpl-1',
    model: 'qwen',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Hello.' } }],
    usage: { prompt_tokens: 1000, completion_tokens: 2, prompt_tokens_details: { cached_tokens: 512 } },
  }),
);

const ProcessClient = makeGenericClientConstructor(externalProcessorService, 'ExternalProcessor');
type ProcessMethod = (this: Client) => ClientDuplexStream<ProcessingRequest, ProcessingResponse>;

function header(key: string, value: string): { key: string; rawValue: Buffer } {
  return { key, rawValue: Buffer.from(value) };
}

/** One full ext_proc stream; resolves with the request-path latency in microseconds. */
function oneStream(client: Client, body: Buffer, index: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const call = (client as unknown as { Process: ProcessMethod }).Process.call(client);
    const started = process.hrtime.bigint();
    let requestPathUs = 0;
    let phase: 'request' | 'response' = 'request';
    call.on('data', (response: ProcessingResponse) => {
      if (response.immediateResponse !== undefined && response.immediateResponse !== null) {
        reject(new Error(`router answered ${response.immediateResponse.status.code}`));
        call.cancel();
        return;
      }
      const streamed = response.requestBody?.response?.bodyMutation?.streamedResponse;
      if (phase === 'request' && streamed?.endOfStream === true) {
        requestPathUs = Number(process.hrtime.bigint() - started) / 1000;
        phase = 'response';
        call.write({
          responseHeaders: {
            headers: { headers: [header(':status', '200'), header('content-type', 'application/json')] },
            endOfStream: false,
          },
        });
        call.write({ responseBody: { body: RESPONSE, endOfStream: true } });
        return;
      }
      if (response.responseBody?.response?.bodyMutation?.streamedResponse?.endOfStream === true) {
        call.end();
      }
    });
    call.on('status', () => resolve(requestPathUs));
    call.on('error', reject);
    call.write({
      requestHeaders: {
        headers: {
          headers: [
            header(':method', 'POST'),
            header(':path', '/v1/chat/completions'),
            header('content-type', 'application/json'),
            header('x-request-id', `bench-${index}`),
          ],
        },
        endOfStream: false,
      },
    });
    for (let offset = 0; offset < body.length; offset += ENVOY_CHUNK_BYTES) {
      const end = Math.min(offset + ENVOY_CHUNK_BYTES, body.length);
      call.write({ requestBody: { body: body.subarray(offset, end), endOfStream: end === body.length } });
    }
  });
}

async function measureExtProc(
  server: Worker,
  port: number,
  size: number,
  seconds: number,
  concurrency: number,
): Promise<ExtProcFigures> {
  const client = new ProcessClient(`127.0.0.1:${port}`, ChannelCredentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    'grpc.enable_channelz': 0,
    // Envoy's HTTP/2 stream windows are large (256 MiB by default); do not let the client throttle echoes.
    'grpc-node.flow_control_window': 16 * 1024 * 1024,
  });
  const bodies = Array.from({ length: 64 }, (_, i) => requestBody(size, i));
  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  let next = 0;
  let completed = 0;
  let measuring = false;
  let stopAt = 0;
  const worker = async (): Promise<void> => {
    while (Date.now() < stopAt) {
      const index = next++;
      const latencyUs = await oneStream(client, bodies[index % bodies.length] ?? Buffer.alloc(0), index);
      if (measuring) {
        histogram.recordValue(Math.max(1, Math.round(latencyUs)));
        completed++;
      }
    }
  };
  // Warm-up: JIT, connection, scheduler state; not measured.
  stopAt = Date.now() + 1000;
  await Promise.all(Array.from({ length: concurrency }, worker));
  measuring = true;
  const cpuBefore = await serverCpuMicros(server);
  const start = process.hrtime.bigint();
  stopAt = Date.now() + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpuMicros = (await serverCpuMicros(server)) - cpuBefore;
  client.close();
  const figures = {
    rps: Math.round(completed / elapsedSeconds),
    p50Ms: round3(histogram.getValueAtPercentile(50) / 1000),
    p99Ms: round3(histogram.getValueAtPercentile(99) / 1000),
    serverCpuMsPerRequest: round3(cpuMicros / 1000 / completed),
    rpsPerServerCore: Math.round(completed / (cpuMicros / 1e6)),
  };
  histogram.destroy();
  return figures;
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/**
 * The HTTP proxy's time to first token against direct calls to the simulator (measured by
 * ./proxy-overhead.ts, which starts its own simulator and router workers). Imported here, in the main
 * thread only, because that module runs its worker role when loaded inside a worker thread.
 */
async function measureProxy(): Promise<ProxyOverheadFigures> {
  const { measureProxyOverhead } = await import('./proxy-overhead.ts');
  return measureProxyOverhead();
}

async function main(): Promise<void> {
  const args = new Command('bench:router')
    .description(
      "ext_proc requests/s and added latency of the routing service, and the HTTP proxy's added time to first token",
    )
    .option('--json <file>', 'also write the results as JSON')
    .option('--seconds <s>', 'seconds per measurement', '5')
    .option('--concurrency <n>', 'ext_proc streams kept open', '64')
    .parse()
    .opts<{ json?: string; seconds: string; concurrency: string }>();
  const seconds = Number(args.seconds);
  const concurrency = Number(args.concurrency);
  if (!(seconds > 0) || !Number.isInteger(concurrency) || concurrency < 1) {
    console.error('--seconds must be a positive number and --concurrency a positive integer');
    process.exit(2);
  }

  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { role: 'extproc-server' } });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (message: { port: number }) => resolve(message.port));
    worker.once('error', reject);
  });
  const extproc: Record<string, ExtProcFigures & { unloadedP50Ms: number }> = {};
  for (const name of Object.keys(SIZES) as SizeName[]) {
    const figures = await measureExtProc(worker, port, SIZES[name], seconds, concurrency);
    // At concurrency 64 the latency is mostly queueing; one stream at a time shows the router's own share.
    const unloaded = await measureExtProc(worker, port, SIZES[name], Math.min(seconds, 2), 1);
    extproc[name] = { ...figures, unloadedP50Ms: unloaded.p50Ms };
    console.log(
      `ext_proc ${name.padEnd(5)} concurrency ${concurrency}: ${figures.rps} req/s, added latency p50 ` +
        `${figures.p50Ms} ms, p99 ${figures.p99Ms} ms (p50 ${unloaded.p50Ms} ms one stream at a time); ` +
        `server CPU ${figures.serverCpuMsPerRequest} ms/request = ${figures.rpsPerServerCore} req/s per core`,
    );
  }
  worker.postMessage('stop');
  await new Promise((resolve) => worker.once('exit', resolve));

  const proxy = await measureProxy();
  console.log(
    `proxy: TTFT p50 direct ${proxy.directTtftP50Ms} ms, through the router ${proxy.proxiedTtftP50Ms} ms ` +
      `(added ${(proxy.proxiedTtftP50Ms - proxy.directTtftP50Ms).toFixed(3)} ms)`,
  );
  if (args.json !== undefined) {
    writeFileSync(args.json, JSON.stringify({ extproc, proxy }, null, 2) + '\n');
  }
}

if (isMainThread) {
  await main();
} else if ((workerData as { role?: string } | null)?.role === 'extproc-server') {
  await runServerWorker();
}
