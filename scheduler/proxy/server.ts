// OpenAI-compatible HTTP proxy: the router's face outside a mesh (local use, tests, clusters without Istio).
// POST /v1/completions, /v1/chat/completions and /v1/responses are parsed, routed by the RoutingService and
// forwarded with undici; responses (server-sent events or JSON) are streamed back chunk by chunk with
// backpressure. A request is retried on another endpoint only when the chosen one refused the connection,
// which guarantees that no byte of it reached a model server.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { estimatePromptTokens } from '../core/index.ts';
import type { Completion, Endpoint, PickResult, RoutingRequest } from '../core/types.ts';
import { HEADER } from '../extproc/headers.ts';
import {
  parseRequestBody,
  RequestBodyError,
  withModel,
  type ParsedRequestBody,
} from '../extproc/request-body.ts';
import { ModelNameRestorer, UsageReader } from '../extproc/response-body.ts';
import type { RoutingService } from '../routing-service.ts';
import type { RequestErrorCode, RequestLabels, RouterMetrics } from '../telemetry/metrics.ts';
import { Cancellation } from './cancellation.ts';
import { sendOpenAIError } from './openai-error.ts';
import { readRequestBody } from './read-body.ts';
import { callUpstream, type ResponseSink } from './upstream-call.ts';

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
  /** Endpoints tried per request when connections are refused (default 3). */
  readonly maxConnectAttempts?: number;
  readonly metrics?: RouterMetrics;
  /** Uniform in [0, 1): weighted model rewrites; defaults to Math.random. */
  readonly random?: () => number;
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

/** Connection-level failures that happen before any request byte is written. */
const REFUSAL_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export function isConnectionRefusal(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && REFUSAL_CODES.has(code)) {
      return true;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

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
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) {
      continue;
    }
    out[name] = Array.isArray(value) ? value.join(', ') : value;
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

function upstreamUrlHost(endpoint: Endpoint): string {
  return endpoint.address.includes(':') ? `[${endpoint.address}]` : endpoint.address;
}

/** 502 for a model server that failed after accepting the connection. */
function sendUpstreamFailure(res: ServerResponse, endpoint: Endpoint, err: unknown): void {
  sendOpenAIError(res, 502, `model server ${endpoint.key} failed: ${errorMessage(err)}`, 'upstream_error');
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
  const agent = new Agent({
    headersTimeout: upstreamTimeout,
    bodyTimeout: upstreamTimeout,
    keepAliveTimeout: 4_000,
    connect: { timeout: options.connectTimeoutMs ?? 5_000 },
  });
  /** One per request being read, routed or streamed. */
  const active = new Set<Cancellation>();
  /** Routing ids in use, so that clients reusing an x-request-id do not collide in accounting or queue. */
  const routingIds = new Set<string>();
  let closing = false;

  /** The client's x-request-id unless a request in flight uses it (accounting and queue need unique ids). */
  function uniqueRoutingId(clientId: string | undefined): string {
    let id = clientId ?? randomUUID();
    while (routingIds.has(id)) {
      id = `${clientId ?? ''}#${randomUUID()}`;
    }
    return id;
  }

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
        sendOpenAIError(res, err.status, err.message, 'request_too_large');
        res.once('finish', () => req.destroy());
      } else {
        res.destroy();
      }
      return;
    }
    let parsed: ParsedRequestBody;
    try {
      parsed = parseRequestBody(raw);
    } catch (err) {
      const status = err instanceof RequestBodyError ? err.status : 400;
      sendOpenAIError(res, status, errorMessage(err), 'invalid_request');
      return;
    }
    if (parsed.model === '') {
      sendOpenAIError(res, 400, 'model not found in request body', 'model_missing');
      return;
    }
    const headerRewrite = firstOf(req, HEADER.modelRewrite);
    const decision =
      headerRewrite !== undefined
        ? { targetModel: headerRewrite, rewritten: headerRewrite !== parsed.model }
        : service.rewriteModel(parsed.model, random());
    const labels: RequestLabels = {
      modelName: parsed.model,
      targetModelName: decision.targetModel,
      fairnessId: firstOf(req, HEADER.fairness) ?? 'default-flow',
      priority: service.objectivePriority(firstOf(req, HEADER.objective)),
    };
    const served = service.servedModels();
    if (served.length > 0 && !served.includes(decision.targetModel)) {
      metrics?.requestStarted(labels, raw.length);
      metrics?.requestRejected(labels, 'NotFound');
      sendOpenAIError(res, 404, `The model \`${parsed.model}\` does not exist.`, 'model_not_found');
      return;
    }
    const body = decision.rewritten ? withModel(parsed, decision.targetModel) : raw;
    const sessionId = headerValue(req, HEADER.sessionId);
    const request: RoutingRequest = {
      id: uniqueRoutingId(headerValue(req, HEADER.requestId)),
      model: decision.targetModel,
      priority: labels.priority,
      fairnessId: labels.fairnessId,
      promptTokens: parsed.promptTokenIds ?? estimatePromptTokens(parsed.promptText),
      ...(parsed.maxOutputTokens !== undefined ? { maxOutputTokens: parsed.maxOutputTokens } : {}),
      ...(sessionId !== undefined ? { sessionId } : {}),
    };

    const refused = new Set<string>();
    let routed = false;
    const finish = (
      completion: Completion,
      errorCode: RequestErrorCode | undefined,
      responseBytes: number,
    ): void => {
      service.complete(request.id, completion);
      metrics?.requestFinished(labels, {
        durationSeconds: (performance.now() - startedAt) / 1000,
        responseBytes,
        ...(errorCode !== undefined ? { errorCode } : {}),
        ...(completion.promptTokens !== undefined ? { promptTokens: completion.promptTokens } : {}),
        ...(completion.completionTokens !== undefined
          ? { completionTokens: completion.completionTokens }
          : {}),
        ...(completion.cachedTokens !== undefined ? { cachedTokens: completion.cachedTokens } : {}),
      });
    };

    routingIds.add(request.id);
    try {
      await routeAndForward();
    } finally {
      routingIds.delete(request.id);
    }

    async function routeAndForward(): Promise<void> {
      for (let attempt = 1; ; attempt++) {
        const schedulingStart = performance.now();
        let result: PickResult;
        if (refused.size === 0) {
          // First attempt: admission, which may wait in the flow-control queue until the client goes away.
          const admitted = service.admit(request, cancel);
          if (admitted instanceof Promise) {
            try {
              result = await admitted;
            } catch (err) {
              if (!cancel.aborted) {
                throw err;
              }
              metrics?.requestStarted(labels, raw.length);
              metrics?.requestRejected(labels, 'Cancelled');
              return;
            }
          } else {
            result = admitted;
          }
        } else {
          // A retry after refused connections: the request was admitted already.
          const subset = service
            .endpoints()
            .map((e) => e.key)
            .filter((k) => !refused.has(k));
          result = service.route({ ...request, subset });
        }
        const schedulingSeconds = (performance.now() - schedulingStart) / 1000;
        if (result.kind === 'rejected') {
          if (attempt === 1) {
            metrics?.requestStarted(labels, raw.length);
          }
          metrics?.schedulingDone(schedulingSeconds, false);
          if (routed) {
            metrics?.requestFinished(labels, {
              durationSeconds: (performance.now() - startedAt) / 1000,
              responseBytes: 0,
              errorCode: 'ServiceUnavailable',
            });
          } else {
            metrics?.requestRejected(
              labels,
              result.status === 429 ? 'ResourceExhausted' : 'ServiceUnavailable',
            );
          }
          const message =
            refused.size > 0
              ? `no model server accepted the connection (refused by ${[...refused].join(', ')})`
              : result.reason === 'rejected-saturated'
                ? 'the pool is saturated; request shed'
                : result.reason === 'rejected-shutting-down'
                  ? 'the router is shutting down'
                  : result.reason === 'rejected-ttl-expired'
                    ? 'the request waited in the flow-control queue longer than its time to live'
                    : result.reason === 'rejected-queue-full'
                      ? 'the flow-control queue is full'
                      : 'no ready model server endpoints';
          sendOpenAIError(res, result.status, message, result.reason, {
            [HEADER.droppedReason]: result.reason,
          });
          return;
        }
        const endpoint = result.endpoints[0];
        if (endpoint === undefined) {
          recordRouting(attempt, schedulingSeconds, false, 0);
          sendOpenAIError(res, 503, 'no ready model server endpoints', 'rejected-no-endpoints');
          return;
        }
        const firstRouting = !routed;
        routed = true;
        const routedSeconds = (performance.now() - startedAt) / 1000;
        if (cancel.aborted) {
          recordRouting(attempt, schedulingSeconds, firstRouting, routedSeconds);
          finish({ ok: false }, 'Cancelled', 0);
          return;
        }
        const relay = responseRelay(res, endpoint, parsed, decision.targetModel, decision.rewritten, labels);
        const call = callUpstream(
          agent,
          {
            origin: `http://${upstreamUrlHost(endpoint)}:${endpoint.port}`,
            path: req.url ?? '/',
            method: 'POST',
            headers: upstreamHeaders(req, request.id, body.length),
            body,
          },
          cancel,
          relay.sink,
        );
        // undici writes a request on a reused connection from a setImmediate of its own; the metrics go in
        // one queued after it, so that they run once the request has left.
        if (metrics !== undefined) {
          setImmediate(recordRouting, attempt, schedulingSeconds, firstRouting, routedSeconds);
        }
        try {
          await call;
        } catch (err) {
          if (isConnectionRefusal(err) && attempt < maxAttempts && !cancel.aborted) {
            // Nothing reached this endpoint: release it and route again among the others.
            service.complete(request.id, { ok: false });
            refused.add(endpoint.key);
            continue;
          }
          const cancelled = cancel.aborted;
          finish({ ok: false }, cancelled ? 'Cancelled' : 'ModelServerError', 0);
          if (!cancelled) {
            sendUpstreamFailure(res, endpoint, err);
          }
          return;
        }
        relay.report(finish);
        return;
      }
    }

    function recordRouting(
      attempt: number,
      schedulingSeconds: number,
      firstRouting: boolean,
      routedSeconds: number,
    ): void {
      if (metrics === undefined) {
        return;
      }
      if (attempt === 1) {
        metrics.requestStarted(labels, raw.length);
      }
      metrics.schedulingDone(schedulingSeconds, true);
      if (firstRouting) {
        metrics.requestRouted(labels, routedSeconds);
      }
    }
  }

  /**
   * Relays one upstream response to the client as its parts arrive: headers, then each body chunk written in
   * the same event-loop turn it was received (pausing the upstream while the client's socket is full).
   */
  function responseRelay(
    res: ServerResponse,
    endpoint: Endpoint,
    parsed: ParsedRequestBody,
    targetModel: string,
    rewritten: boolean,
    labels: RequestLabels,
  ): {
    sink: ResponseSink;
    report: (
      finish: (
        completion: Completion,
        errorCode: RequestErrorCode | undefined,
        responseBytes: number,
      ) => void,
    ) => void;
  } {
    let startedAt = 0;
    let statusCode = 0;
    let streaming = false;
    let usage: UsageReader | undefined;
    let restorer: ModelNameRestorer | undefined;
    let bytes = 0;
    let first = true;
    let ok = false;
    let resumeUpstream = (): void => undefined;
    const sink: ResponseSink = {
      start(status, headers, resume) {
        startedAt = performance.now();
        statusCode = status;
        const contentType = headers['content-type'];
        streaming = typeof contentType === 'string' && contentType.includes('text/event-stream');
        restorer = rewritten ? new ModelNameRestorer(targetModel, parsed.model, streaming) : undefined;
        const relayed = relayedResponseHeaders(headers, restorer !== undefined);
        relayed.push('x-gateway-destination-endpoint-served', endpoint.key);
        if (closing) {
          relayed.push('connection', 'close');
        }
        res.writeHead(status, relayed);
        resumeUpstream = resume;
      },
      data(chunk) {
        bytes += chunk.length;
        const out = restorer === undefined ? chunk : restorer.push(chunk);
        let writable = true;
        if (out.length > 0) {
          writable = res.write(out);
          // Node corks the socket on every write until the next tick to join the chunk framing; flush now so
          // the bytes (the first token above all) leave before usage parsing and the rest of this turn.
          flushSocket(res);
        }
        if (first) {
          // Set up after the first bytes went out: nothing here is needed to relay them.
          first = false;
          metrics?.firstResponseBytes(labels, (performance.now() - startedAt) / 1000, streaming);
          usage = new UsageReader(streaming);
        }
        usage?.push(chunk);
        if (!writable) {
          res.once('drain', resumeUpstream);
          return false;
        }
        return true;
      },
      end() {
        if (restorer === undefined) {
          res.end();
        } else {
          res.end(restorer.end());
        }
        ok = statusCode < 400;
      },
      error() {
        res.destroy();
        ok = false;
      },
    };
    return {
      sink,
      report(finish) {
        const u = usage?.finish();
        const cancelled = !ok && statusCode < 400;
        finish(
          {
            ok,
            ...(u?.promptTokens !== undefined ? { promptTokens: u.promptTokens } : {}),
            ...(u?.completionTokens !== undefined ? { completionTokens: u.completionTokens } : {}),
            ...(u?.cachedTokens !== undefined ? { cachedTokens: u.cachedTokens } : {}),
          },
          ok ? undefined : cancelled ? 'Cancelled' : 'ModelServerError',
          bytes,
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
          origin: `http://${upstreamUrlHost(endpoint)}:${endpoint.port}`,
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
    sendOpenAIError(res, 503, 'no ready model server endpoints', 'rejected-no-endpoints');
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
      sendOpenAIError(res, 500, `internal error: ${errorMessage(err)}`, 'internal_error');
    };
    if (GENERATION_PATHS.has(path)) {
      if (req.method !== 'POST') {
        sendOpenAIError(
          res,
          405,
          `${req.method ?? ''} is not allowed on ${path}; use POST`,
          'method_not_allowed',
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
    sendOpenAIError(res, 404, `no route for ${req.method ?? ''} ${path}`, 'not_found');
  }

  const server: Server = createServer({ keepAliveTimeout: 5_000 }, handle);
  server.on('clientError', (_err, socket) => {
    if (socket.writable) {
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    }
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
