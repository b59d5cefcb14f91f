// The simulator as a real-time HTTP server on loopback: vLLM's OpenAI-compatible API, /health, /v1/models and
// /metrics, backed by one engine driven by the wall clock, with fault injection for router tests. With `tls`
// it serves HTTPS, as vLLM does with --ssl-certfile and --ssl-keyfile.

import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { dirname } from 'node:path';
import { Engine, EngineRequestError, type SequenceView } from './engine.ts';
import { createSimMetrics } from './metrics.ts';
import {
  ApiError,
  errorBody,
  fullResponse,
  parseGenerationRequest,
  parseTokenizeRequest,
  streamChunk,
  usageChunk,
  usageOf,
  type ApiKind,
  type ParsedGenerationRequest,
  type ResponseIdentity,
} from './openai.ts';
import { getEngineProfile, type EngineProfile } from './profiles.ts';
import { enginePrompt } from './prompt.ts';
import { createRandom } from './random.ts';
import { RealtimeReplica } from './realtime-replica.ts';
import { KvEventRecorder, startKvEventPublisher, type KvEventPublisher } from './kv-publisher.ts';
import { kvEventTopic } from '../datalayer/kv-events/codec.ts';
import { reloadOnChange, type ChangeWatch } from '../reload-on-change.ts';

export interface SimFaults {
  /** Probability in [0, 1] that a generation request fails at once with `errorStatus`. */
  readonly errorRate?: number;
  /** HTTP status of injected errors (default 500). */
  readonly errorStatus?: number;
  /** Multiplies every engine step's duration (≥ 1 slows the replica down). */
  readonly slowdown?: number;
  /** The server crashes when generation request number `crashAfterRequests + 1` arrives. */
  readonly crashAfterRequests?: number;
  /** The server crashes this many milliseconds after it started listening. */
  readonly crashAtMs?: number;
}

export interface SimServerOptions {
  readonly host?: string;
  readonly port?: number;
  /** Base model name (vLLM's --model). */
  readonly model: string;
  /** Engine profile name (see profiles.ts). */
  readonly profile: string;
  readonly seed?: number;
  /** vLLM's --served-model-name; the first one labels metrics. Defaults to [model]. */
  readonly servedModelNames?: readonly string[];
  readonly faults?: SimFaults;
  /** Overrides of the profile's capacity limits (vLLM's --max-num-seqs, --num-gpu-blocks-override, ...). */
  readonly engineLimits?: EngineLimits;
  /** Output length when a request gives no max_tokens: uniform in [min, max] from the seeded generator. */
  readonly defaultOutputTokens?: { readonly min: number; readonly max: number };
  /**
   * Publish KV-cache events as vLLM's ZMQ publisher does, on a PUB socket bound to this port of `host`
   * (0: any free port), topic `kv@<host>:<port>@<model>`. Undefined: no events.
   */
  readonly kvEventsPort?: number;
  /** Serve HTTPS with this PEM pair instead of HTTP. */
  readonly tls?: SimTls;
}

export interface SimTls {
  /** vLLM's --ssl-certfile: the server certificate (and its chain). */
  readonly certFile: string;
  /** vLLM's --ssl-keyfile. */
  readonly keyFile: string;
  /** vLLM's --enable-ssl-refresh: new connections get the pair as it is on disk now. */
  readonly refresh?: boolean;
}

export interface SimServer {
  /** `http://host:port`, or `https://…` with `tls`. */
  readonly url: string;
  readonly port: number;
  readonly engine: Engine;
  /** The KV-event publisher, with --kv-events-port. */
  readonly kvEvents: KvEventPublisher | undefined;
  /** Stops accepting connections, aborts requests in flight and resolves when the socket is closed. */
  close(): Promise<void>;
  /** Simulates a process crash: every open connection is destroyed and the port stops listening. */
  crash(): void;
}

export interface EngineLimits {
  readonly maxNumSeqs?: number;
  readonly maxNumBatchedTokens?: number;
  readonly numGpuBlocks?: number;
}

function applyLimits(profile: EngineProfile, limits: EngineLimits): EngineProfile {
  for (const [field, value] of Object.entries(limits)) {
    if (value !== undefined && !(Number.isInteger(value) && (value as number) > 0)) {
      throw new RangeError(`engineLimits.${field} must be a positive integer, got ${String(value)}`);
    }
  }
  return { ...profile, ...limits };
}

const WORDS = ['the', 'model', 'serves', 'tokens', 'quickly', 'and', 'routes', 'prefix', 'cache', 'blocks'];

function validateFaults(faults: SimFaults): void {
  const { errorRate, errorStatus, slowdown, crashAfterRequests, crashAtMs } = faults;
  if (errorRate !== undefined && !(errorRate >= 0 && errorRate <= 1)) {
    throw new RangeError(`faults.errorRate must be in [0, 1], got ${String(errorRate)}`);
  }
  if (
    errorStatus !== undefined &&
    !(Number.isInteger(errorStatus) && errorStatus >= 400 && errorStatus <= 599)
  ) {
    throw new RangeError(
      `faults.errorStatus must be an HTTP error status (400-599), got ${String(errorStatus)}`,
    );
  }
  if (slowdown !== undefined && !(slowdown > 0)) {
    throw new RangeError(`faults.slowdown must be a positive number, got ${String(slowdown)}`);
  }
  if (
    crashAfterRequests !== undefined &&
    !(Number.isInteger(crashAfterRequests) && crashAfterRequests >= 0)
  ) {
    throw new RangeError(
      `faults.crashAfterRequests must be a non-negative integer, got ${String(crashAfterRequests)}`,
    );
  }
  if (crashAtMs !== undefined && !(crashAtMs >= 0)) {
    throw new RangeError(`faults.crashAtMs must be a non-negative number, got ${String(crashAtMs)}`);
  }
}

function readBody(request: IncomingMessage, limitBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        reject(new ApiError(413, 'BadRequestError', `request body exceeds ${String(limitBytes)} bytes`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    request.on('error', reject);
  });
}

function readKeyPair(tls: SimTls): { cert: Buffer; key: Buffer } {
  return { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) };
}

/** With `refresh`, swaps in the pair on disk whenever it changes and loads; a half-written one is skipped. */
function refreshKeyPair(server: HttpsServer, tls: SimTls): ChangeWatch {
  let current = readKeyPair(tls);
  const reload = (): void => {
    try {
      const next = readKeyPair(tls);
      if (next.cert.equals(current.cert) && next.key.equals(current.key)) return;
      server.setSecureContext(next);
      current = next;
    } catch {
      // Keep serving the previous pair until the next change or poll.
    }
  };
  return reloadOnChange(dirname(tls.certFile), reload, 1_000);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

export async function startSimServer(options: SimServerOptions): Promise<SimServer> {
  const host = options.host ?? '127.0.0.1';
  const faults = options.faults ?? {};
  validateFaults(faults);
  const profile = applyLimits(getEngineProfile(options.profile), options.engineLimits ?? {});
  const servedModelNames = options.servedModelNames?.length ? [...options.servedModelNames] : [options.model];
  const metricsModelName = servedModelNames[0] ?? options.model;
  const acceptedModels = new Set([options.model, ...servedModelNames]);
  const random = createRandom(options.seed ?? 0);
  const defaultOutput = options.defaultOutputTokens ?? { min: 16, max: 128 };
  const engine = new Engine(profile, { slowdown: faults.slowdown ?? 1 });
  const replica = new RealtimeReplica(engine);
  const metrics = createSimMetrics(engine, metricsModelName);
  const sockets = new Set<Socket>();
  let generationRequests = 0;
  let nextId = 0;
  let crashed = false;
  let crashTimer: NodeJS.Timeout | undefined;
  let kvEvents: KvEventPublisher | undefined;

  const outputWord = (requestNumber: number, index: number): string =>
    `${WORDS[(requestNumber * 7 + index * 3) % WORDS.length] ?? 'token'} `;

  const handleGeneration = async (kind: ApiKind, request: IncomingMessage, response: ServerResponse) => {
    const body = await readBody(request, 64 * 1024 * 1024);
    generationRequests++;
    if (faults.crashAfterRequests !== undefined && generationRequests > faults.crashAfterRequests) {
      crash();
      return;
    }
    const forced = request.headers['x-sim-error'];
    if (typeof forced === 'string') {
      const status = Number(forced);
      if (Number.isInteger(status) && status >= 400 && status <= 599) {
        throw new ApiError(status, 'InjectedError', `error injected by the x-sim-error header (${forced})`);
      }
    }
    if (faults.errorRate !== undefined && random.next() < faults.errorRate) {
      const status = faults.errorStatus ?? 500;
      throw new ApiError(
        status,
        'InjectedError',
        `error injected by the simulator's fault configuration (${String(status)})`,
      );
    }
    const parsed: ParsedGenerationRequest = parseGenerationRequest(kind, body);
    if (!acceptedModels.has(parsed.model)) {
      throw new ApiError(404, 'NotFoundError', `The model \`${parsed.model}\` does not exist.`);
    }
    const outputTokens = parsed.maxTokens ?? random.int(defaultOutput.min, defaultOutput.max);
    const finishReason = parsed.maxTokens === undefined ? 'stop' : 'length';
    const requestNumber = nextId++;
    const headerId = request.headers['x-request-id'];
    const requestId =
      typeof headerId === 'string' && headerId !== '' ? headerId : `sim-${String(requestNumber)}`;
    const identity: ResponseIdentity = {
      id: `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${String(requestNumber)}`,
      created: Math.floor(Date.now() / 1000),
      model: parsed.model,
    };
    const engineId = `${String(requestNumber)}:${requestId}`;
    let text = '';
    let started = false;
    let done = false;

    const usage = (sequence: SequenceView) =>
      usageOf(sequence.promptTokens, sequence.generatedTokens, sequence.cachedTokens);
    const writeEvent = (payload: unknown) => {
      response.write(`data: ${JSON.stringify(payload)}\n\n`);
    };

    response.on('close', () => {
      if (!done) replica.cancel(engineId);
    });

    try {
      replica.submit(
        {
          id: engineId,
          prompt: enginePrompt(parsed.promptTokens, profile.blockSize, {
            keepTokens: kvEvents !== undefined,
          }),
          outputTokens,
        },
        {
          onToken(sequence, finished) {
            const word = outputWord(requestNumber, sequence.generatedTokens - 1);
            if (parsed.stream) {
              if (!started) {
                started = true;
                response.writeHead(200, {
                  'content-type': 'text/event-stream',
                  'cache-control': 'no-cache',
                  'x-request-id': requestId,
                });
                if (kind === 'chat')
                  writeEvent(streamChunk(kind, identity, { role: 'assistant', text: '' }, null));
              }
              writeEvent(streamChunk(kind, identity, { text: word }, null));
              if (finished) {
                writeEvent(streamChunk(kind, identity, kind === 'chat' ? {} : { text: '' }, finishReason));
                if (parsed.includeUsage) writeEvent(usageChunk(kind, identity, usage(sequence)));
                response.end('data: [DONE]\n\n');
              }
            } else {
              text += word;
              if (finished) {
                response.setHeader('x-request-id', requestId);
                sendJson(response, 200, fullResponse(kind, identity, text, finishReason, usage(sequence)));
              }
            }
            if (finished) {
              done = true;
              metrics.observeFinished(sequence, finishReason);
            }
          },
          onAbort(reason) {
            done = true;
            if (crashed || response.headersSent) response.destroy();
            else sendJson(response, 503, errorBody(503, 'ServiceUnavailableError', reason));
          },
        },
      );
    } catch (error) {
      if (error instanceof EngineRequestError) throw new ApiError(400, 'BadRequestError', error.message);
      throw error;
    }
  };

  const route = async (request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0];
    const method = request.method ?? 'GET';
    if (method === 'POST' && path === '/v1/completions')
      return handleGeneration('completion', request, response);
    if (method === 'POST' && path === '/v1/chat/completions')
      return handleGeneration('chat', request, response);
    if (method === 'POST' && path === '/tokenize') {
      const parsed = parseTokenizeRequest(await readBody(request, 64 * 1024 * 1024));
      if (!acceptedModels.has(parsed.model)) {
        throw new ApiError(404, 'NotFoundError', `The model \`${parsed.model}\` does not exist.`);
      }
      sendJson(response, 200, {
        count: parsed.tokens.length,
        max_model_len: profile.maxModelLen,
        tokens: Array.from(parsed.tokens),
      });
      return;
    }
    if (method === 'GET' && path === '/health') {
      response.writeHead(200).end();
      return;
    }
    if (method === 'GET' && path === '/v1/models') {
      const created = Math.floor(Date.now() / 1000);
      sendJson(response, 200, {
        object: 'list',
        data: servedModelNames.map((id) => ({
          id,
          object: 'model',
          created,
          owned_by: 'vllm',
          root: options.model,
          parent: null,
          max_model_len: profile.maxModelLen,
        })),
      });
      return;
    }
    if (method === 'GET' && path === '/metrics') {
      const text = await metrics.registry.metrics();
      response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text);
      return;
    }
    throw new ApiError(404, 'NotFoundError', `no route for ${method} ${path ?? '/'}`);
  };

  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    route(request, response).catch((error: unknown) => {
      if (crashed || response.destroyed) return;
      const apiError =
        error instanceof ApiError
          ? error
          : new ApiError(500, 'InternalServerError', (error as Error).message);
      if (response.headersSent) response.destroy();
      else sendJson(response, apiError.status, errorBody(apiError.status, apiError.type, apiError.message));
    });
  };
  const tls = options.tls;
  const httpsServer = tls === undefined ? undefined : createHttpsServer(readKeyPair(tls), handle);
  const server = httpsServer ?? createServer(handle);
  const keyPairWatch =
    httpsServer !== undefined && tls?.refresh === true ? refreshKeyPair(httpsServer, tls) : undefined;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  function crash(): void {
    if (crashed) return;
    crashed = true;
    if (crashTimer !== undefined) clearTimeout(crashTimer);
    keyPairWatch?.close();
    server.close();
    for (const socket of sockets) socket.destroy();
    replica.stop('the engine crashed');
    void kvEvents?.close();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((error: unknown) => {
    keyPairWatch?.close();
    throw error;
  });
  const address = server.address();
  if (address === null || typeof address === 'string')
    throw new Error('the simulator did not bind a TCP port');
  if (faults.crashAtMs !== undefined) {
    crashTimer = setTimeout(crash, faults.crashAtMs);
    crashTimer.unref();
  }
  const urlHost = host.includes(':') ? `[${host}]` : host;
  if (options.kvEventsPort !== undefined) {
    try {
      kvEvents = await startKvEventPublisher({
        host,
        port: options.kvEventsPort,
        topic: kvEventTopic(host, address.port, metricsModelName),
      });
    } catch (error) {
      crash();
      throw error;
    }
    const publisher = kvEvents;
    const recorder = new KvEventRecorder(profile.blockSize);
    // One batch per engine operation: everything a step's planning or completion stored or evicted.
    recorder.onFirstEvent = () => queueMicrotask(() => publisher.publish(recorder.take()));
    engine.pool.listener = recorder;
  }

  return {
    url: `${tls === undefined ? 'http' : 'https'}://${urlHost}:${String(address.port)}`,
    port: address.port,
    engine,
    kvEvents,
    crash,
    close: async () => {
      await new Promise<void>((resolve) => {
        if (crashTimer !== undefined) clearTimeout(crashTimer);
        keyPairWatch?.close();
        if (!crashed) replica.stop('the server is shutting down');
        crashed = true;
        for (const socket of sockets) socket.destroy();
        if (!server.listening) {
          resolve();
          return;
        }
        server.close(() => {
          resolve();
        });
      });
      await kvEvents?.close();
    },
  };
}
