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
import type { Endpoint, PickResult } from '../core/types.ts';
import {
  prepareRequest,
  rejectEarly,
  type LifecycleDeps,
  type RequestLifecycle,
} from '../lifecycle/request-lifecycle.ts';
import type { RejectionAnswer, RejectionReason } from '../lifecycle/rejections.ts';
import { requestHeaderEdits, type RequestHeaderEdits } from '../lifecycle/request-headers.ts';
import { bytesOf, streamedBody } from './chunks.ts';
import { METADATA, firstHeader, readHeaderMap, setHeader, HEADER } from './headers.ts';
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
import type { ResponseRewriter, UsageReader } from './response-body.ts';
import { namespacedStrings, stringAt, stringListAt } from './struct.ts';

export interface ExtProcDeps extends LifecycleDeps {
  /** Largest request body the router buffers; larger bodies are answered with 413. */
  readonly maxBodyBytes: number;
  /** Uniform in [0, 1): the random pick for requests without a body. */
  readonly random: () => number;
  /** Told about unexpected failures while handling a message (the request itself gets an answer). */
  readonly reportError?: (error: Error) => void;
}

export interface StreamSink {
  send(response: ProcessingResponse): void;
  /** Ends the gRPC stream cleanly (after an ImmediateResponse the gateway needs nothing more). */
  end(): void;
}

type Phase = 'request-headers' | 'request-body' | 'queued' | 'routed' | 'answered' | 'done';

/** A stable fraction in [0,1) from the request id (FNV-1a), so weighted model rewrites are reproducible. */
function fractionOf(id: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
  }
  return (hash >>> 0) / 0x1_0000_0000;
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

  /** The request's lifecycle once its body was parsed; routed() while the pick is in flight. */
  private lifecycle: RequestLifecycle | undefined;
  /** Aborts the admission while the request waits in the flow-control queue. */
  private admission: AbortController | undefined;
  /** Request trailers that arrived while the request was queued; answered once it is routed. */
  private trailersPending = false;
  private primaryEndpoint = '';
  private requestStreaming = false;

  private responseStatus: number | undefined;
  private responseStreaming = false;
  private responseEnded = false;
  private responseBytes = 0;
  private responseProcessingMs = 0;
  private sawResponse = false;
  private servedBy: string | undefined;
  private usageReader: UsageReader | undefined;
  private restorer: ResponseRewriter | undefined;

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
    if (this.lifecycle?.routed() === true) {
      // The response did not end (finish() would have completed the request): whether the gateway
      // cancelled the stream or half-closed it, the request is recorded as cancelled and its estimates and
      // held prefix blocks are released; nothing here says the endpoint failed. grpc-js may even report a
      // cancel as a clean end first, so `how` alone cannot be trusted.
      this.endRouted({ cancelled: true, errorCode: how === 'error' ? 'Internal' : 'Cancelled' });
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
      this.answerEarly(
        'gateway-misconfigured',
        `gateway misconfigured: the ext_proc filter's request_body_mode must be FULL_DUPLEX_STREAMED (got ${bodyMode})`,
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
      this.answerEarly(
        'payload-too-large',
        `request body exceeds the router's limit of ${this.deps.maxBodyBytes} bytes`,
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
      .routableEndpoints()
      .filter((endpoint) => subset === undefined || subset.has(endpoint.key));
    const endpoint =
      candidates[Math.min(candidates.length - 1, Math.floor(this.deps.random() * candidates.length))];
    if (endpoint === undefined) {
      this.answerEarly('rejected-no-endpoints');
      return;
    }
    this.phase = 'routed';
    this.primaryEndpoint = endpoint.key;
    this.send(this.headerResponse([endpoint], undefined, requestHeaderEdits(undefined)));
  }

  private routeWithBody(bodyEnded: boolean): void {
    const processingStart = performance.now();
    const [onlyChunk] = this.bodyChunks;
    const body =
      this.bodyChunks.length === 1 && onlyChunk !== undefined
        ? onlyChunk
        : Buffer.concat(this.bodyChunks, this.bodyBytes);
    this.bodyChunks = [];
    const prepared = prepareRequest(this.deps, {
      body,
      header: (names) => firstHeader(this.headers, typeof names === 'string' ? [names] : names),
      ...(this.subset !== undefined ? { subset: this.subset } : {}),
      rewritePick: fractionOf(this.requestId),
      startedAt: this.startedAt,
    });
    if (prepared.kind === 'rejected') {
      this.answer(prepared.answer);
      return;
    }
    const lifecycle = prepared.lifecycle;
    this.lifecycle = lifecycle;
    this.requestStreaming = lifecycle.parsed.stream;
    const admission = new AbortController();
    this.admission = admission;
    this.phase = 'queued';
    const admitted = lifecycle.admit(admission.signal);
    const settle = (result: PickResult): void => {
      this.admission = undefined;
      if (this.phase !== 'queued') {
        // The stream closed while the decision was on its way: release what was picked.
        if (lifecycle.decide(result).kind === 'routed') {
          lifecycle.finish({ complete: false, cancelled: true, responseBytes: 0 }, undefined);
        }
        return;
      }
      try {
        this.onAdmitted(lifecycle, result, bodyEnded, processingStart);
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
      if (this.phase === 'queued') {
        this.fail(error);
      } else {
        lifecycle.cancelledBeforeRouting();
      }
    });
  }

  private onAdmitted(
    lifecycle: RequestLifecycle,
    result: PickResult,
    bodyEnded: boolean,
    processingStart: number,
  ): void {
    const schedulingSeconds = lifecycle.schedulingSeconds();
    const decision = lifecycle.decide(result);
    if (decision.kind === 'rejected') {
      this.answer(decision.answer);
      return;
    }
    this.phase = 'routed';
    this.primaryEndpoint = decision.endpoints[0]?.key ?? '';
    const forwarded = lifecycle.forwardedBody();
    this.send(this.headerResponse(decision.endpoints, forwarded.length, decision.headers));
    for (const response of streamedBody('requestBody', forwarded, bodyEnded)) {
      this.send(response);
    }
    if (this.trailersPending) {
      this.trailersPending = false;
      this.send({ requestTrailers: {} });
    }
    lifecycle.recordRouted((performance.now() - processingStart) / 1000, schedulingSeconds);
  }

  private headerResponse(
    endpoints: readonly Endpoint[],
    contentLength: number | undefined,
    edits: RequestHeaderEdits,
  ): ProcessingResponse {
    const destination = endpoints.map((endpoint) => endpoint.key).join(',');
    const setHeaders = [setHeader(HEADER.destinationEndpoint, destination)];
    if (contentLength !== undefined) {
      setHeaders.push(setHeader('content-length', String(contentLength)));
    }
    for (const [name, value] of edits.set) {
      setHeaders.push(setHeader(name, value));
    }
    const headerMutation =
      edits.remove.length === 0 ? { setHeaders } : { setHeaders, removeHeaders: edits.remove };
    return {
      requestHeaders: { response: { clearRouteCache: true, headerMutation } },
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
    if (this.lifecycle?.routed() === true) {
      const readers = this.lifecycle.responseReaders(this.responseStreaming);
      this.usageReader = readers.usage;
      this.restorer = readers.restorer;
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
    if (chunk.length > 0)
      this.lifecycle?.firstBytes(this.responseStreaming, this.responseStatus, this.fallback());
    this.usageReader?.push(chunk);
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
    this.endRouted({ cancelled: false });
  }

  /** The endpoint that answered, when the data plane fell back from the pick. */
  private fallback(): string | undefined {
    return this.servedBy !== undefined && this.servedBy !== this.primaryEndpoint ? this.servedBy : undefined;
  }

  /** Completes the routed request once, with what the response path showed. */
  private endRouted(how: { cancelled: boolean; errorCode?: 'Cancelled' | 'Internal' }): void {
    const lifecycle = this.lifecycle;
    if (lifecycle?.routed() !== true) {
      return;
    }
    const servedBy = this.fallback();
    lifecycle.finish(
      {
        ...(this.responseStatus !== undefined ? { status: this.responseStatus } : {}),
        complete: this.responseEnded,
        cancelled: how.cancelled,
        ...(servedBy !== undefined ? { servedBy } : {}),
        responseBytes: this.responseBytes,
        ...(this.sawResponse ? { responseProcessingSeconds: this.responseProcessingMs / 1000 } : {}),
        ...(how.errorCode !== undefined ? { errorCode: how.errorCode } : {}),
      },
      this.usageReader?.finish(),
    );
  }

  /** A rejection before the request had a lifecycle (protocol errors, body too large). */
  private answerEarly(reason: RejectionReason, message?: string): void {
    this.answer(rejectEarly(this.deps, reason, message));
  }

  /** Sends a rejection (already recorded in the metrics) and ends the stream. */
  private answer(answer: RejectionAnswer): void {
    // A protocol error while the request waits in the flow-control queue: take it out.
    this.admission?.abort();
    this.admission = undefined;
    this.phase = 'answered';
    this.releaseBuffers();
    this.send(immediateResponse(answer));
    this.sink.end();
  }

  private fail(error: unknown): void {
    if (!(error instanceof ProtocolError)) {
      this.deps.reportError?.(error instanceof Error ? error : new Error(String(error)));
    }
    if (this.lifecycle?.routed() === true) {
      // Already routed: the request is on its way upstream; stop tracking it and let the gateway carry on.
      this.endRouted({ cancelled: false, errorCode: 'Internal' });
      this.releaseBuffers();
      this.phase = 'done';
      this.sink.end();
      return;
    }
    const reason: RejectionReason = error instanceof ProtocolError ? 'invalid-request' : 'internal';
    const message = error instanceof ProtocolError ? error.message : undefined;
    const lifecycle = this.lifecycle;
    this.answer(
      lifecycle === undefined ? rejectEarly(this.deps, reason, message) : lifecycle.reject(reason, message),
    );
  }

  private releaseBuffers(): void {
    this.bodyChunks = [];
    this.usageReader = undefined;
    this.restorer = undefined;
  }
}

class ProtocolError extends Error {
  constructor(message: string) {
    super(`ext_proc protocol error: ${message}`);
    this.name = 'ProtocolError';
  }
}
