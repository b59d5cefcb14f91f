// One ext_proc stream = one HTTP request through the gateway, in FULL_DUPLEX_STREAMED mode:
//   request headers ──(no body: pick at once)──────────────────────────────┐
//   request body chunks, buffered until end_of_stream (or request trailers) │
//     → parse, rewrite, admit (may wait in the flow-control queue) → header response (+ envoy.lb metadata),
//       then the body echoed as streamed_response chunks ≤ 62,000 bytes  ◄──┘
//   response headers → response body chunks echoed as they come (usage read on the way) → complete
// Whatever happens (end, error, cancel), a routed request is completed exactly once, and a queued one leaves
// the queue.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Endpoint, PickResult, RoutingRequest } from '../core/types.ts';
import type { RoutingService } from '../routing-service.ts';
import type { RequestErrorCode, RequestLabels, RouterMetrics } from '../telemetry/metrics.ts';
import { MAX_STREAMED_CHUNK_BYTES, splitBody } from './chunks.ts';
import { HEADER, METADATA, firstHeader, readHeaderMap, setHeader } from './headers.ts';
import { immediateResponse } from './immediate.ts';
import { BodySendMode } from './messages.ts';
import type {
  HttpBody,
  HttpHeaders,
  Metadata,
  ProcessingRequest,
  ProcessingResponse,
  ProtocolConfiguration,
} from './messages.ts';
import { RequestBodyError, parseRequestBody, withModel } from './request-body.ts';
import type { ParsedRequestBody } from './request-body.ts';
import { ModelNameRestorer, UsageReader } from './response-body.ts';
import type { Usage } from './response-body.ts';
import { namespacedStrings, stringAt, stringListAt } from './struct.ts';

export interface ExtProcDeps {
  readonly service: RoutingService;
  readonly metrics: RouterMetrics | undefined;
  /** Largest request body the router buffers; larger bodies are answered with 413. */
  readonly maxBodyBytes: number;
  readonly tokenize: (text: string) => Uint32Array;
  /** Uniform in [0, 1): the random pick for requests without a body. */
  readonly random: () => number;
  /** Routing ids of requests in flight on this server, to keep ids unique when clients reuse x-request-id. */
  readonly activeIds: Set<string>;
  /** Told about unexpected failures while handling a message (the request itself gets an answer). */
  readonly reportError?: (error: Error) => void;
}

export interface StreamSink {
  send(response: ProcessingResponse): void;
  /** Ends the gRPC stream cleanly (after an ImmediateResponse the gateway needs nothing more). */
  end(): void;
}

type Phase = 'request-headers' | 'request-body' | 'queued' | 'routed' | 'answered' | 'done';

const DEFAULT_FLOW = 'default-flow';

/** A stable fraction in [0,1) from the request id (FNV-1a), so weighted model rewrites are reproducible. */
function fractionOf(id: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
  }
  return (hash >>> 0) / 0x1_0000_0000;
}

function bytesOf(body: HttpBody): Buffer {
  const bytes = body.body;
  if (bytes == null || bytes.length === 0) {
    return Buffer.alloc(0);
  }
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export class ExtProcStream {
  private readonly deps: ExtProcDeps;
  private readonly sink: StreamSink;
  private phase: Phase = 'request-headers';
  private readonly startedAt = performance.now();

  private headers: ReadonlyMap<string, string> = new Map();
  private requestId = '';
  private subset: string[] | undefined;
  private bodyChunks: Buffer[] = [];
  private bodyBytes = 0;

  private routedId: string | undefined;
  /** Aborts the admission while the request waits in the flow-control queue. */
  private admission: AbortController | undefined;
  /** Request trailers that arrived while the request was queued; answered once it is routed. */
  private trailersPending = false;
  private labels: RequestLabels = {
    modelName: '',
    targetModelName: '',
    fairnessId: DEFAULT_FLOW,
    priority: 0,
  };
  private primaryEndpoint = '';
  private clientModel = '';
  private targetModel = '';
  private rewritten = false;
  private requestStreaming = false;

  private responseStatus: number | undefined;
  private responseStreaming = false;
  private responseEnded = false;
  private responseBytes = 0;
  private firstByteSeen = false;
  private firstByteSeconds: number | undefined;
  private responseProcessingMs = 0;
  private sawResponse = false;
  private servedBy: string | undefined;
  private usageReader: UsageReader | undefined;
  private restorer: ModelNameRestorer | undefined;

  constructor(deps: ExtProcDeps, sink: StreamSink) {
    this.deps = deps;
    this.sink = sink;
  }

  /** Handles one message from the gateway. Never throws: failures become an ImmediateResponse. */
  handle(message: ProcessingRequest): void {
    if (this.phase === 'answered' || this.phase === 'done') {
      return;
    }
    try {
      if (message.requestHeaders != null) {
        this.onRequestHeaders(message.requestHeaders, message.metadataContext, message.protocolConfig);
      } else if (message.requestBody != null) {
        this.onRequestBody(message.requestBody, message.metadataContext);
      } else if (message.requestTrailers != null) {
        this.onRequestTrailers(message.metadataContext);
      } else if (message.responseHeaders != null) {
        this.onResponseHeaders(message.responseHeaders, message.metadataContext);
      } else if (message.responseBody != null) {
        this.onResponseBody(message.responseBody);
      } else if (message.responseTrailers != null) {
        this.send({ responseTrailers: {} });
        this.finish();
      }
    } catch (error) {
      this.fail(error);
    }
  }

  /** The gRPC stream is over: the gateway half-closed it, cancelled it, or it broke. */
  close(how: 'ended' | 'cancelled' | 'error'): void {
    if (this.phase === 'done') {
      return;
    }
    this.admission?.abort();
    this.admission = undefined;
    if (this.routedId !== undefined) {
      // A clean end before any response message means the gateway does not send us the response path.
      const interrupted = how !== 'ended' || (this.responseStatus !== undefined && !this.responseEnded);
      this.complete(interrupted ? 'Cancelled' : undefined, undefined);
    }
    this.releaseBuffers();
    this.phase = 'done';
  }

  private send(response: ProcessingResponse): void {
    this.sink.send(response);
  }

  private onRequestHeaders(
    message: HttpHeaders,
    metadata: Metadata | null | undefined,
    protocol: ProtocolConfiguration | null | undefined,
  ): void {
    if (this.phase !== 'request-headers') {
      throw new ProtocolError('request headers received twice');
    }
    const bodyMode = protocol?.requestBodyMode;
    if (bodyMode != null && bodyMode !== BodySendMode.FULL_DUPLEX_STREAMED && message.endOfStream !== true) {
      // In any other body mode Envoy waits for our header response before it sends the body we route on.
      this.answer(
        'Internal',
        immediateResponse(
          500,
          `gateway misconfigured: the ext_proc filter's request_body_mode must be FULL_DUPLEX_STREAMED (got ${bodyMode})`,
        ),
      );
      return;
    }
    this.headers = readHeaderMap(message.headers);
    this.requestId = this.headers.get(HEADER.requestId) || randomUUID();
    this.captureSubset(metadata);
    if (message.endOfStream === true) {
      this.routeWithoutBody();
      return;
    }
    this.phase = 'request-body';
  }

  private onRequestBody(message: HttpBody, metadata: Metadata | null | undefined): void {
    if (this.phase === 'routed' || this.phase === 'queued') {
      // The body was already complete (ended by trailers): nothing more to forward.
      return;
    }
    if (this.phase !== 'request-body') {
      throw new ProtocolError('request body received before request headers');
    }
    this.captureSubset(metadata);
    const chunk = bytesOf(message);
    this.bodyBytes += chunk.length;
    if (this.bodyBytes > this.deps.maxBodyBytes) {
      this.releaseBuffers();
      this.answer(
        'PayloadTooLarge',
        immediateResponse(413, `request body exceeds the router's limit of ${this.deps.maxBodyBytes} bytes`, {
          code: 'request_too_large',
        }),
      );
      return;
    }
    if (chunk.length > 0) {
      this.bodyChunks.push(chunk);
    }
    if (message.endOfStream === true) {
      this.routeWithBody(true);
    }
  }

  private onRequestTrailers(metadata: Metadata | null | undefined): void {
    if (this.phase === 'request-body') {
      this.captureSubset(metadata);
      this.routeWithBody(false);
    }
    if (this.phase === 'queued') {
      this.trailersPending = true;
    } else if (this.phase === 'routed') {
      this.send({ requestTrailers: {} });
    }
  }

  private captureSubset(metadata: Metadata | null | undefined): void {
    const subset = stringListAt(metadata, METADATA.subsetNamespace, METADATA.subsetKey);
    if (subset !== undefined) {
      this.subset = subset;
    }
  }

  /** No body (GET and the like): a random ready endpoint, as llm-d does; not counted as in flight. */
  private routeWithoutBody(): void {
    const subset = this.subset === undefined ? undefined : new Set(this.subset);
    const candidates = this.deps.service
      .endpoints()
      .filter((endpoint) => subset === undefined || subset.has(endpoint.key));
    if (candidates.length === 0) {
      this.answerNoEndpoints();
      return;
    }
    const endpoint =
      candidates[Math.min(candidates.length - 1, Math.floor(this.deps.random() * candidates.length))];
    if (endpoint === undefined) {
      this.answerNoEndpoints();
      return;
    }
    this.phase = 'routed';
    this.primaryEndpoint = endpoint.key;
    this.send(this.headerResponse([endpoint], undefined));
  }

  private routeWithBody(bodyEnded: boolean): void {
    const processingStart = performance.now();
    const [onlyChunk] = this.bodyChunks;
    const body =
      this.bodyChunks.length === 1 && onlyChunk !== undefined
        ? onlyChunk
        : Buffer.concat(this.bodyChunks, this.bodyBytes);
    this.bodyChunks = [];
    let parsed: ParsedRequestBody;
    try {
      parsed = parseRequestBody(body);
    } catch (error) {
      if (error instanceof RequestBodyError) {
        this.answer(
          'BadRequest',
          immediateResponse(error.status, error.message, { code: 'invalid_request_body' }),
        );
        return;
      }
      throw error;
    }
    const service = this.deps.service;
    const headerTarget = firstHeader(this.headers, HEADER.modelRewrite);
    this.clientModel = parsed.model;
    if (headerTarget !== undefined) {
      this.targetModel = headerTarget;
    } else if (parsed.model !== '') {
      this.targetModel = service.rewriteModel(parsed.model, fractionOf(this.requestId)).targetModel;
    }
    this.rewritten = this.targetModel !== this.clientModel;
    this.requestStreaming = parsed.stream;
    const fairnessId = firstHeader(this.headers, HEADER.fairness) ?? DEFAULT_FLOW;
    const priority = service.objectivePriority(firstHeader(this.headers, HEADER.objective));
    this.labels = { modelName: this.clientModel, targetModelName: this.targetModel, fairnessId, priority };
    const metrics = this.deps.metrics;
    metrics?.requestStarted(this.labels, body.length);

    if (this.targetModel === '') {
      this.answer(
        'BadRequest',
        immediateResponse(400, 'model not found in request body', { code: 'invalid_request_body' }),
      );
      return;
    }
    const served = service.servedModels();
    if (served.length > 0 && !served.includes(this.targetModel)) {
      this.answer(
        'NotFound',
        immediateResponse(404, `The model \`${this.targetModel}\` does not exist.`, {
          code: 'model_not_found',
        }),
      );
      return;
    }

    const routingId = this.uniqueRoutingId();
    const sessionId = this.headers.get(HEADER.sessionId);
    const promptTokens = parsed.promptTokenIds ?? this.deps.tokenize(parsed.promptText);
    const scheduleStart = performance.now();
    const admission = new AbortController();
    this.admission = admission;
    this.phase = 'queued';
    // Reserved while queued too, so that a stream reusing this x-request-id gets another routing id.
    this.deps.activeIds.add(routingId);
    const admitted = this.admit(
      service,
      routingId,
      {
        id: routingId,
        model: this.targetModel,
        priority,
        fairnessId,
        promptTokens,
        ...(parsed.maxOutputTokens !== undefined ? { maxOutputTokens: parsed.maxOutputTokens } : {}),
        ...(sessionId !== undefined && sessionId !== '' ? { sessionId } : {}),
        ...(this.subset !== undefined ? { subset: this.subset } : {}),
      },
      admission.signal,
    );
    const settle = (result: PickResult): void => {
      this.admission = undefined;
      if (this.phase !== 'queued') {
        // The stream closed while the decision was on its way: release what was picked.
        this.deps.activeIds.delete(routingId);
        if (result.kind === 'picked') {
          service.complete(routingId, { ok: false });
        }
        return;
      }
      try {
        this.onAdmitted(routingId, result, parsed, body, bodyEnded, processingStart, scheduleStart);
      } catch (error) {
        this.fail(error);
      }
    };
    if (!(admitted instanceof Promise)) {
      settle(admitted);
      return;
    }
    admitted.then(settle, (error: unknown) => {
      this.admission = undefined;
      this.deps.activeIds.delete(routingId);
      if (this.phase === 'queued') {
        this.fail(error);
      }
    });
  }

  private onAdmitted(
    routingId: string,
    result: PickResult,
    parsed: ParsedRequestBody,
    body: Buffer,
    bodyEnded: boolean,
    processingStart: number,
    scheduleStart: number,
  ): void {
    const service = this.deps.service;
    const metrics = this.deps.metrics;
    const primary = result.kind === 'picked' ? result.endpoints[0] : undefined;
    const picked = primary !== undefined;
    metrics?.schedulingDone((performance.now() - scheduleStart) / 1000, picked);
    if (result.kind === 'rejected') {
      // Nothing was recorded in flight for a rejected request.
      this.deps.activeIds.delete(routingId);
      const errorCode: RequestErrorCode = result.status === 429 ? 'ResourceExhausted' : 'ServiceUnavailable';
      this.answer(
        errorCode,
        immediateResponse(result.status, `request dropped by the router: ${result.reason}`, {
          code: result.reason,
          droppedReason: result.reason,
        }),
      );
      return;
    }
    if (primary === undefined) {
      this.deps.activeIds.delete(routingId);
      service.complete(routingId, { ok: false });
      this.answerNoEndpoints();
      return;
    }
    this.routedId = routingId;
    this.phase = 'routed';
    this.primaryEndpoint = primary.key;

    const forwarded = this.rewritten ? withModel(parsed, this.targetModel) : body;
    this.send(this.headerResponse(result.endpoints, forwarded.length));
    for (const response of streamedBody('requestBody', forwarded, bodyEnded)) {
      this.send(response);
    }
    if (this.trailersPending) {
      this.trailersPending = false;
      this.send({ requestTrailers: {} });
    }
    metrics?.requestRouted(this.labels, (performance.now() - processingStart) / 1000);
  }

  /** RoutingService.admit, releasing the reserved id when it throws instead of answering. */
  private admit(
    service: RoutingService,
    routingId: string,
    request: RoutingRequest,
    signal: AbortSignal,
  ): PickResult | Promise<PickResult> {
    try {
      return service.admit(request, signal);
    } catch (error) {
      this.deps.activeIds.delete(routingId);
      throw error;
    }
  }

  private uniqueRoutingId(): string {
    let id = this.requestId;
    while (this.deps.activeIds.has(id)) {
      id = `${this.requestId}#${randomUUID()}`;
    }
    return id;
  }

  private headerResponse(
    endpoints: readonly Endpoint[],
    contentLength: number | undefined,
  ): ProcessingResponse {
    const destination = endpoints.map((endpoint) => endpoint.key).join(',');
    const setHeaders = [setHeader(HEADER.destinationEndpoint, destination)];
    if (contentLength !== undefined) {
      setHeaders.push(setHeader('content-length', String(contentLength)));
    }
    return {
      requestHeaders: { response: { clearRouteCache: true, headerMutation: { setHeaders } } },
      dynamicMetadata: namespacedStrings(METADATA.lbNamespace, {
        [METADATA.destinationEndpointKey]: destination,
      }),
    };
  }

  private onResponseHeaders(message: HttpHeaders, metadata: Metadata | null | undefined): void {
    const started = performance.now();
    const headers = readHeaderMap(message.headers);
    const status = Number.parseInt(headers.get(':status') ?? '', 10);
    this.responseStatus = Number.isFinite(status) ? status : 200;
    const contentType = headers.get('content-type') ?? '';
    this.responseStreaming =
      contentType.includes('text/event-stream') || (this.requestStreaming && contentType === '');
    const served = stringAt(metadata, METADATA.lbNamespace, METADATA.servedEndpointKey);
    if (served !== undefined) {
      this.servedBy = served;
    }
    this.usageReader = new UsageReader(this.responseStreaming);
    if (this.rewritten && this.routedId !== undefined) {
      this.restorer = new ModelNameRestorer(this.targetModel, this.clientModel, this.responseStreaming);
    }
    this.send({ responseHeaders: { response: {} } });
    this.sawResponse = true;
    this.responseProcessingMs += performance.now() - started;
    if (message.endOfStream === true) {
      this.responseEnded = true;
      this.finish();
    }
  }

  private onResponseBody(message: HttpBody): void {
    const started = performance.now();
    const chunk = bytesOf(message);
    const endOfStream = message.endOfStream === true;
    this.responseBytes += chunk.length;
    if (!this.firstByteSeen && chunk.length > 0) {
      this.firstByteSeen = true;
      this.firstByteSeconds = (started - this.startedAt) / 1000;
      this.deps.metrics?.firstResponseBytes(this.labels, this.firstByteSeconds, this.responseStreaming);
    }
    this.usageReader ??= new UsageReader(this.responseStreaming);
    this.usageReader.push(chunk);
    let out = chunk;
    if (this.restorer !== undefined) {
      out = this.restorer.push(chunk);
      if (endOfStream) {
        out = Buffer.concat([out, this.restorer.end()]);
      }
    }
    for (const response of streamedBody('responseBody', out, endOfStream)) {
      this.send(response);
    }
    this.sawResponse = true;
    this.responseProcessingMs += performance.now() - started;
    if (endOfStream) {
      this.responseEnded = true;
      this.finish();
    }
  }

  /** The response is complete: report it and stop tracking. Later messages are still echoed. */
  private finish(): void {
    if (this.routedId === undefined) {
      return;
    }
    const usage = this.usageReader?.finish();
    const failed = this.responseStatus !== undefined && this.responseStatus >= 400;
    this.complete(failed ? 'ModelServerError' : undefined, usage);
  }

  private complete(errorCode: RequestErrorCode | undefined, usage: Usage | undefined): void {
    const id = this.routedId;
    if (id === undefined) {
      return;
    }
    this.routedId = undefined;
    this.deps.activeIds.delete(id);
    const servedBy =
      this.servedBy !== undefined && this.servedBy !== this.primaryEndpoint ? this.servedBy : undefined;
    this.deps.service.complete(id, {
      ok: errorCode === undefined,
      ...(usage?.promptTokens !== undefined ? { promptTokens: usage.promptTokens } : {}),
      ...(usage?.completionTokens !== undefined ? { completionTokens: usage.completionTokens } : {}),
      ...(usage?.cachedTokens !== undefined ? { cachedTokens: usage.cachedTokens } : {}),
      ...(servedBy !== undefined ? { servedBy } : {}),
    });
    this.deps.metrics?.requestFinished(this.labels, {
      durationSeconds: (performance.now() - this.startedAt) / 1000,
      responseBytes: this.responseBytes,
      ...(this.sawResponse ? { responseProcessingSeconds: this.responseProcessingMs / 1000 } : {}),
      ...(this.responseStreaming && this.firstByteSeconds !== undefined
        ? { streamingTtftSeconds: this.firstByteSeconds }
        : {}),
      ...(errorCode !== undefined ? { errorCode } : {}),
      ...(usage?.promptTokens !== undefined ? { promptTokens: usage.promptTokens } : {}),
      ...(usage?.completionTokens !== undefined ? { completionTokens: usage.completionTokens } : {}),
      ...(usage?.cachedTokens !== undefined ? { cachedTokens: usage.cachedTokens } : {}),
    });
  }

  private answerNoEndpoints(): void {
    this.answer(
      'ServiceUnavailable',
      immediateResponse(503, 'no ready endpoints for this request', {
        code: 'rejected-no-endpoints',
        droppedReason: 'rejected-no-endpoints',
      }),
    );
  }

  private answer(errorCode: RequestErrorCode, response: ProcessingResponse): void {
    // A protocol error while the request waits in the flow-control queue: take it out.
    this.admission?.abort();
    this.admission = undefined;
    this.deps.metrics?.requestRejected(this.labels, errorCode);
    this.phase = 'answered';
    this.releaseBuffers();
    this.send(response);
    this.sink.end();
  }

  private fail(error: unknown): void {
    if (!(error instanceof ProtocolError)) {
      this.deps.reportError?.(error instanceof Error ? error : new Error(String(error)));
    }
    if (this.routedId !== undefined) {
      // Already routed: the request is on its way upstream; stop tracking it and let the gateway carry on.
      this.complete('Internal', undefined);
      this.releaseBuffers();
      this.phase = 'done';
      this.sink.end();
      return;
    }
    const message = error instanceof ProtocolError ? error.message : 'internal error in the router';
    this.answer(
      error instanceof ProtocolError ? 'BadRequest' : 'Internal',
      immediateResponse(error instanceof ProtocolError ? 400 : 500, message),
    );
  }

  private releaseBuffers(): void {
    this.bodyChunks = [];
    this.usageReader = undefined;
    this.restorer = undefined;
  }
}

/** A body as streamed_response chunks of at most 62,000 bytes; only the last may carry end_of_stream. */
function streamedBody(
  direction: 'requestBody' | 'responseBody',
  body: Buffer,
  endOfStream: boolean,
): ProcessingResponse[] {
  const chunks = splitBody(body, MAX_STREAMED_CHUNK_BYTES);
  return chunks.map((chunk, i) => ({
    [direction]: {
      response: {
        bodyMutation: {
          streamedResponse: { body: chunk, endOfStream: endOfStream && i === chunks.length - 1 },
        },
      },
    },
  }));
}

class ProtocolError extends Error {
  constructor(message: string) {
    super(`ext_proc protocol error: ${message}`);
    this.name = 'ProtocolError';
  }
}
