// OpenAI-compatible HTTP proxy: the router's face outside a mesh (local use, tests, clusters without Istio).
// POST /v1/completions, /v1/chat/completions and /v1/responses are parsed, routed by the RoutingService and
// forwarded with undici; responses (server-sent events or JSON) are streamed back chunk by chunk with
// backpressure. A request is retried on another endpoint only when the chosen one refused the connection,
// which guarantees that no byte of it reached a model server.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { estimatePromptTokens } from '../core/index.ts';
import type { Endpoint, PickResult } from '../core/types.ts';
import { PLAIN_HTTP, type ModelServerTransport } from '../datalayer/model-server-transport.ts';
import { RequestBodyError } from '../extproc/request-body.ts';
import type { ResponseRewriter, UsageReader } from '../extproc/response-body.ts';
import {
  prepareRequest,
  rejectEarly,
  type LifecycleDeps,
  type RequestLifecycle,
} from '../lifecycle/request-lifecycle.ts';
import { rejectionAnswer, type RejectionAnswer } from '../lifecycle/rejections.ts';
import type { RequestHeaderEdits } from '../lifecycle/request-headers.ts';
import type { RoutingService } from '../routing-service.ts';
import type { RouterMetrics } from '../telemetry/metrics.ts';
import { Cancellation } from './cancellation.ts';
import { sendOpenAIError } from './openai-error.ts';
import { readRequestBody } from './read-body.ts';
import { callUpstream, type ResponseSink } from './upstream-call.ts';
import { isConnectionRefusal } from '../lifecycle/connection-errors.ts';

export interface ProxyServerOptions {
  readonly host: string;
  readonly port: number;
  readonly service: RoutingService;
  /** Largest request body accepted; larger ones get 413 (default 8 MiB). */
  readonly maxBodyBytes?: number;
  /** Longest wait for upstream response headers, and longest silence between body chunks (default 10 min). */
  readonly upstreamTimeoutMs?: number;
  /** Deadline to connect to a model server (default 5 s); a timeout counts as a refusal. */
  readonly connectTimeoutMs?: number;
  /**
   * Endpoints tried per request when an attempt fails before anything reached the client (refused
   * connection, reset before the response, 5xx answer; default 3). Refused connections are tried further, on
   * every endpoint of the pool, since nothing of the request reached a model server.
   */
  readonly maxConnectAttempts?: number;
  /** Longest time to receive a request's headers (default 10 s). */
  readonly headersTimeoutMs?: number;
  /** Longest time to receive a whole request (default 300 s). */
  readonly requestTimeoutMs?: number;
  /** Routing ids in use, shared with the ext_proc face (one set per router). */
  readonly activeIds?: Set<string>;
  readonly metrics?: RouterMetrics;
  /** Uniform in [0, 1): weighted model rewrites; defaults to Math.random. */
  readonly random?: () => number;
  /** Plain HTTP (the default) or HTTPS with the model servers' certificates verified. */
  readonly transport?: ModelServerTransport;
}

export interface ProxyServer {
  readonly port: number;
  /** Requests being read, routed or streamed right now. */
  activeRequests(): number;
  /** Stops accepting, lets requests in flight finish for up to graceMs, then cuts the rest. */
  close(graceMs: number): Promise<void>;
}

export const GENERATION_PATHS: ReadonlySet<string> = new Set([
  '/v1/completions',
  '/v1/chat/completions',
  '/v1/responses',
]);

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function firstOf(req: IncomingMessage, names: readonly string[]): string | undefined {
  for (const n of names) {
    const v = headerValue(req, n);
    if (v !== undefined && v !== '') {
      return v;
    }
  }
  return undefined;
}

function upstreamHeaders(
  req: IncomingMessage,
  requestId: string,
  bodyLength: number,
  edits: RequestHeaderEdits,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || edits.remove.includes(name)) {
      continue;
    }
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  for (const [name, value] of edits.set) {
    out[name] = value;
  }
  out['x-request-id'] = requestId;
  out['content-length'] = String(bodyLength);
  return out;
}

/** The upstream response headers to relay, as the flat [name, value, …] list that writeHead takes as is. */
function relayedResponseHeaders(
  headers: Record<string, string | string[] | undefined>,
  dropLength: boolean,
): (string | string[])[] {
  const out: (string | string[])[] = [];
  for (const name in headers) {
    const value = headers[name];
    const keepLength = name === 'content-length' && !dropLength;
    if (value === undefined || (HOP_BY_HOP.has(name) && !keepLength)) {
      continue;
    }
    out.push(name, value);
  }
  return out;
}

/** Sends what the response's socket holds now instead of at the end of the tick. */
function flushSocket(res: ServerResponse): void {
  const socket = res.socket;
  if (socket !== null && socket.writableCorked > 0) {
    socket.uncork();
  }
}

/** 502 for a model server that failed after accepting the connection. */
function sendUpstreamFailure(res: ServerResponse, endpoint: Endpoint, err: unknown): void {
  sendRejection(
    res,
    rejectionAnswer('upstream-failed', `model server ${endpoint.key} failed: ${errorMessage(err)}`),
  );
}

/** Frames one rejection of the shared table as an HTTP answer. */
function sendRejection(res: ServerResponse, answer: RejectionAnswer): void {
  sendOpenAIError(res, answer.status, answer.body, answer.headers);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function startProxyServer(options: ProxyServerOptions): Promise<ProxyServer> {
  const service = options.service;
  const maxBodyBytes = options.maxBodyBytes ?? 8 * 1024 * 1024;
  const maxAttempts = Math.max(1, options.maxConnectAttempts ?? 3);
  const random = options.random ?? Math.random;
  const metrics = options.metrics;
  const upstreamTimeout = options.upstreamTimeoutMs ?? 600_000;
  const transport = options.transport ?? PLAIN_HTTP;
  const agent = new Agent({
    headersTimeout: upstreamTimeout,
    bodyTimeout: upstreamTimeout,
    keepAliveTimeout: 4_000,
    connect: transport.connect(options.connectTimeoutMs ?? 5_000),
  });
  /** One per request being read, routed or streamed. */
  const active = new Set<Cancellation>();
  const lifecycleDeps: LifecycleDeps = {
    service,
    metrics,
    tokenize: estimatePromptTokens,
    activeIds: options.activeIds ?? new Set(),
  };
  let closing = false;

  async function handleGeneration(
    req: IncomingMessage,
    res: ServerResponse,
    cancel: Cancellation,
  ): Promise<void> {
    const startedAt = performance.now();
    let raw: Buffer;
    try {
      raw = await readRequestBody(req, maxBodyBytes);
    } catch (err) {
      if (err instanceof RequestBodyError) {
        // The rest of an oversize body is not read: close the connection after answering.
        res.setHeader('connection', 'close');
        sendRejection(res, rejectEarly(lifecycleDeps, 'payload-too-large', err.message));
        res.once('finish', () => req.destroy());
      } else {
        res.destroy();
      }
      return;
    }
    const prepared = prepareRequest(lifecycleDeps, {
      body: raw,
      header: (names) => firstOf(req, typeof names === 'string' ? [names] : names),
      rewritePick: random(),
      startedAt,
    });
    if (prepared.kind === 'rejected') {
      sendRejection(res, prepared.answer);
      return;
    }
    const lifecycle = prepared.lifecycle;
    try {
      await forward(lifecycle);
    } finally {
      lifecycle.ensureEnded();
    }

    async function forward(lifecycle: RequestLifecycle): Promise<void> {
      const body = lifecycle.forwardedBody();
      const tried = new Set<string>();

      // First attempt: admission, which may wait in the flow-control queue until the client goes away.
      let result: PickResult;
      const admitted = lifecycle.admit(cancel);
      if (admitted instanceof Promise) {
        try {
          result = await admitted;
        } catch (err) {
          if (!cancel.aborted) {
            throw err;
          }
          lifecycle.cancelledBeforeRouting();
          return;
        }
      } else {
        result = admitted;
      }
      for (let attempt = 1; ; attempt++) {
        const schedulingSeconds = lifecycle.schedulingSeconds();
        const decision = lifecycle.decide(result, tried);
        if (decision.kind === 'rejected') {
          sendRejection(res, decision.answer);
          return;
        }
        const endpoint = decision.endpoints[0] as Endpoint;
        const routedSeconds = (performance.now() - startedAt) / 1000;
        if (cancel.aborted) {
          lifecycle.recordRouted(routedSeconds, schedulingSeconds);
          lifecycle.finish({ complete: false, cancelled: true, responseBytes: 0 }, undefined);
          return;
        }
        tried.add(endpoint.key);
        // A failed attempt is tried again elsewhere only while nothing reached the client and another
        // endpoint is left to try.
        const mayRetry = (): boolean =>
          attempt < maxAttempts &&
          !cancel.aborted &&
          service.routableEndpoints().some((e) => !tried.has(e.key));
        const relay = responseRelay(res, endpoint, lifecycle, cancel, mayRetry);
        const call = callUpstream(
          agent,
          {
            origin: transport.origin(endpoint.address, endpoint.port),
            path: req.url ?? '/',
            method: 'POST',
            headers: upstreamHeaders(req, lifecycle.id, body.length, decision.headers),
            body,
          },
          cancel,
          relay.sink,
        );
        // undici writes a request on a reused connection from a setImmediate of its own; the metrics go in
        // one queued after it, so that they run once the request has left.
        if (metrics !== undefined) {
          setImmediate(() => lifecycle.recordRouted(routedSeconds, schedulingSeconds));
        }
        try {
          await call;
        } catch (err) {
          // Failed before response headers: a refused connection (nothing reached the model server) or a
          // reset (the server died with the request).
          const outcome = isConnectionRefusal(err) ? 'connect-failure' : 'reset';
          if (mayRetry()) {
            metrics?.upstreamRetried(outcome);
            result = lifecycle.retry(tried, outcome);
            continue;
          }
          if (cancel.aborted) {
            lifecycle.finish({ complete: false, cancelled: true, responseBytes: 0 }, undefined);
            return;
          }
          if (outcome === 'connect-failure') {
            // Every endpoint tried refused: the same answer as for an empty pool.
            result = lifecycle.retry(tried, outcome);
            continue;
          }
          lifecycle.finish({ complete: false, cancelled: false, outcome, responseBytes: 0 }, undefined);
          sendRejection(
            res,
            rejectionAnswer('upstream-failed', `model server ${endpoint.key} failed: ${errorMessage(err)}`),
          );
          return;
        }
        if (relay.held()) {
          // The model server answered 5xx and nothing went to the client: try another endpoint.
          metrics?.upstreamRetried('server-error');
          result = lifecycle.retry(tried, 'server-error');
          continue;
        }
        relay.finish();
        return;
      }
    }
  }

  /**
   * Relays one upstream response to the client as its parts arrive: headers, then each body chunk written in
   * the same event-loop turn it was received (pausing the upstream while the client's socket is full). A 5xx
   * answer is held back (and its body dropped) when `mayRetry` says another endpoint can be tried.
   */
  function responseRelay(
    res: ServerResponse,
    endpoint: Endpoint,
    lifecycle: RequestLifecycle,
    cancel: Cancellation,
    mayRetry: () => boolean,
  ): { sink: ResponseSink; held: () => boolean; finish: () => void } {
    let statusCode = 0;
    let streaming = false;
    let usage: UsageReader | undefined;
    let restorer: ResponseRewriter | undefined;
    let bytes = 0;
    let complete = false;
    let broken = false;
    let held = false;
    let resumeUpstream = (): void => undefined;
    const sink: ResponseSink = {
      start(status, headers, resume) {
        statusCode = status;
        if (status >= 500 && mayRetry()) {
          held = true;
          return;
        }
        const contentType = headers['content-type'];
        streaming = typeof contentType === 'string' && contentType.includes('text/event-stream');
        const readers = lifecycle.responseReaders(streaming);
        restorer = readers.restorer;
        const relayed = relayedResponseHeaders(headers, restorer !== undefined);
        relayed.push('x-gateway-destination-endpoint-served', endpoint.key);
        if (closing) {
          relayed.push('connection', 'close');
        }
        res.writeHead(status, relayed);
        resumeUpstream = resume;
        usage = readers.usage;
      },
      data(chunk) {
        if (held) {
          return true;
        }
        bytes += chunk.length;
        const out = restorer === undefined ? chunk : restorer.push(chunk);
        let writable = true;
        if (out.length > 0) {
          writable = res.write(out);
          // Node corks the socket on every write until the next tick to join the chunk framing; flush now so
          // the bytes (the first token above all) leave before usage parsing and the rest of this turn.
          flushSocket(res);
        }
        lifecycle.firstBytes(streaming, statusCode);
        usage?.push(chunk);
        if (!writable) {
          res.once('drain', resumeUpstream);
          return false;
        }
        return true;
      },
      end() {
        if (held) {
          return;
        }
        if (restorer === undefined) {
          res.end();
        } else {
          res.end(restorer.end());
        }
        complete = true;
      },
      error() {
        if (!held) {
          res.destroy();
        }
        broken = true;
      },
    };
    return {
      sink,
      held: () => held,
      finish() {
        const cancelled = !complete && cancel.aborted;
        lifecycle.finish(
          {
            status: statusCode,
            complete,
            cancelled,
            ...(broken && !cancelled ? { outcome: 'reset' as const } : {}),
            responseBytes: bytes,
          },
          usage?.finish(),
        );
      },
    };
  }

  async function handleModels(res: ServerResponse, cancel: Cancellation): Promise<void> {
    const served = service.servedModels();
    if (served.length > 0) {
      const body = JSON.stringify({
        object: 'list',
        data: served.map((id) => ({ id, object: 'model', owned_by: 'switchyard' })),
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    // No configured list: ask model servers, starting at a random one, until one answers.
    const endpoints = [...service.endpoints()];
    const start = Math.floor(random() * endpoints.length);
    for (let i = 0; i < endpoints.length; i++) {
      const endpoint = endpoints[(start + i) % endpoints.length];
      if (endpoint === undefined) {
        continue;
      }
      try {
        const upstream = await agent.request({
          origin: transport.origin(endpoint.address, endpoint.port),
          path: '/v1/models',
          method: 'GET',
          signal: cancel.signal(),
        });
        const text = await upstream.body.text();
        res.writeHead(upstream.statusCode, {
          'content-type': String(upstream.headers['content-type'] ?? 'application/json'),
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
        return;
      } catch (err) {
        if (!isConnectionRefusal(err)) {
          sendUpstreamFailure(res, endpoint, err);
          return;
        }
      }
    }
    sendRejection(res, rejectionAnswer('rejected-no-endpoints'));
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    const cancel = new Cancellation();
    active.add(cancel);
    res.once('close', () => {
      active.delete(cancel);
      if (!res.writableFinished) {
        // The client went away: stop the upstream request too.
        cancel.abort(new Error('the client closed the connection'));
      }
    });
    if (closing) {
      res.setHeader('connection', 'close');
    }
    const fail = (err: unknown): void => {
      sendRejection(res, rejectionAnswer('internal', `internal error: ${errorMessage(err)}`));
    };
    if (GENERATION_PATHS.has(path)) {
      if (req.method !== 'POST') {
        sendRejection(
          res,
          rejectionAnswer('method-not-allowed', `${req.method ?? ''} is not allowed on ${path}; use POST`),
        );
        return;
      }
      handleGeneration(req, res, cancel).catch(fail);
      return;
    }
    if (path === '/v1/models' && req.method === 'GET') {
      handleModels(res, cancel).catch(fail);
      return;
    }
    if ((path === '/healthz' || path === '/readyz') && req.method === 'GET') {
      const ok = path === '/healthz' || service.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'not ready\n');
      return;
    }
    sendRejection(res, rejectionAnswer('route-not-found', `no route for ${req.method ?? ''} ${path}`));
  }

  const server: Server = createServer(
    {
      keepAliveTimeout: 5_000,
      // A client that drips its headers is cut off (408) instead of holding a descriptor.
      headersTimeout: options.headersTimeoutMs ?? 10_000,
      requestTimeout: options.requestTimeoutMs ?? 300_000,
      // How often those two timeouts are checked (Node's default is every 30 s).
      connectionsCheckingInterval: 1_000,
    },
    handle,
  );
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // Answer a malformed request if the socket can still take it, then destroy the socket: end() alone
    // leaves it half open (FIN-WAIT-2) while a slow-loris client keeps writing.
    if (socket.writable && err.code !== 'ECONNRESET') {
      const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
      socket.write(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    }
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    activeRequests: () => active.size,
    async close(graceMs: number): Promise<void> {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = performance.now() + graceMs;
      while (active.size > 0 && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
        server.closeIdleConnections();
      }
      for (const cancel of active) {
        cancel.abort(new Error('the router is shutting down'));
      }
      server.closeAllConnections();
      await closed;
      await agent.close().catch(() => agent.destroy());
    },
  };
}
