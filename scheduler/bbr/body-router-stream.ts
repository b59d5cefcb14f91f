// Body-based routing on one ext_proc stream: reads the request body's `model`, looks it up in the environment's
// catalog and tells the gateway which model it is (header `x-gateway-model-name`, route cache cleared, so the
// gateway matches its HTTPRoutes again with that header). The body goes on unchanged. A body without a model,
// or naming one the environment does not serve, gets an OpenAI error from here.
import { rejectionAnswer, type RejectionReason } from '../lifecycle/rejections.ts';
import { bytesOf, streamedBody } from '../extproc/chunks.ts';
import { HEADER, readHeaderMap, setHeader } from '../extproc/headers.ts';
import { immediateResponse } from '../extproc/immediate.ts';
import {
  BodySendMode,
  type HttpBody,
  type HeaderValueOption,
  type HttpHeaders,
  type ProcessingRequest,
  type ProcessingResponse,
  type ProtocolConfiguration,
} from '../extproc/messages.ts';
import type { ModelCatalog } from './model-catalog.ts';

/** The header HTTPRoute rules of the shared endpoint match (llm-d's body-based router sets the same one). */
export const MODEL_HEADER = 'x-gateway-model-name';

export type BodyRoutingOutcome = 'routed' | 'no-body' | 'other-path' | RejectionReason;

/**
 * Headers only the platform may set: a client's own values would choose endpoints, a pool subset, a model
 * rewrite, a routing header or a priority. The gateway's first filter removes them from every request, except an
 * objective clients may choose themselves (`clientObjectives`).
 */
export function isPlatformOnlyHeader(name: string): boolean {
  return name.startsWith('x-llm-d-') || name.startsWith('x-gateway-');
}

export interface BodyRouterDeps {
  readonly catalog: () => ModelCatalog;
  readonly maxBodyBytes: number;
  /** Called once per stream that reached a decision: the model it named (routed only) and the outcome. */
  readonly record?: (model: string | undefined, outcome: BodyRoutingOutcome) => void;
}

export interface StreamSink {
  send(response: ProcessingResponse): void;
}

type Phase = 'request-headers' | 'request-body' | 'streaming' | 'passed' | 'answered';

/** Paths of the shared endpoint; every other request (a model's own path) streams through untouched. */
export const SHARED_PATH_PREFIX = '/v1/';

export class BodyRouterStream {
  private phase: Phase = 'request-headers';
  private chunks: Buffer[] = [];
  private bytes = 0;

  private readonly deps: BodyRouterDeps;
  private readonly sink: StreamSink;
  /** Client-set platform-only headers of this request, removed in the header response. */
  private removed: string[] = [];

  constructor(deps: BodyRouterDeps, sink: StreamSink) {
    this.deps = deps;
    this.sink = sink;
  }

  /** Handles one message from the gateway; never throws. */
  handle(message: ProcessingRequest): void {
    if (this.phase === 'answered') return;
    try {
      if (message.requestHeaders != null) {
        this.onRequestHeaders(message.requestHeaders, message.protocolConfig);
      } else if (message.requestBody != null) {
        this.onRequestBody(message.requestBody);
      } else if (message.requestTrailers != null) {
        if (this.phase === 'request-body') this.decide(false);
        if (this.phase === 'passed' || this.phase === 'streaming') this.sink.send({ requestTrailers: {} });
      } else if (message.responseHeaders != null) {
        // The filter is configured not to send responses; pass them through if it does.
        this.sink.send({ responseHeaders: {} });
      } else if (message.responseBody != null) {
        const body = message.responseBody;
        for (const response of streamedBody('responseBody', bytesOf(body), body.endOfStream === true)) {
          this.sink.send(response);
        }
      } else if (message.responseTrailers != null) {
        this.sink.send({ responseTrailers: {} });
      }
    } catch (error) {
      this.answer('internal', `body-based routing failed: ${(error as Error).message}`);
    }
  }

  /** The stream ended: drop what was buffered. */
  close(): void {
    this.chunks = [];
    this.phase = 'answered';
  }

  private onRequestHeaders(message: HttpHeaders, protocol: ProtocolConfiguration | null | undefined): void {
    if (this.phase !== 'request-headers') throw new Error('request headers received twice');
    const headers = readHeaderMap(message.headers);
    const allowed = this.deps.catalog().clientObjectives;
    this.removed = [...headers]
      .filter(
        ([name, value]) =>
          isPlatformOnlyHeader(name) && !(HEADER.objective.includes(name as never) && allowed.has(value)),
      )
      .map(([name]) => name);
    if (message.endOfStream === true) {
      // No body (GET /v1/models, health checks): nothing to route on.
      this.phase = 'passed';
      this.deps.record?.(undefined, 'no-body');
      this.sink.send(this.headersResponse([]));
      return;
    }
    const bodyMode = protocol?.requestBodyMode;
    if (bodyMode != null && bodyMode !== BodySendMode.FULL_DUPLEX_STREAMED) {
      this.answer(
        'gateway-misconfigured',
        `gateway misconfigured: the body-based router's request_body_mode must be FULL_DUPLEX_STREAMED (got ${bodyMode})`,
      );
      return;
    }
    const path = headers.get(':path') ?? '';
    if (!path.startsWith(SHARED_PATH_PREFIX)) {
      // A model's own path: its route needs no header, so the body is echoed as it arrives, never buffered.
      this.phase = 'streaming';
      this.deps.record?.(undefined, 'other-path');
      this.sink.send(this.headersResponse([]));
      return;
    }
    this.phase = 'request-body';
  }

  private onRequestBody(message: HttpBody): void {
    if (this.phase === 'streaming') {
      for (const response of streamedBody('requestBody', bytesOf(message), message.endOfStream === true)) {
        this.sink.send(response);
      }
      return;
    }
    if (this.phase === 'passed') return;
    if (this.phase !== 'request-body') throw new Error('request body received before request headers');
    const chunk = bytesOf(message);
    this.bytes += chunk.length;
    if (this.bytes > this.deps.maxBodyBytes) {
      this.answer('payload-too-large', `request body exceeds the limit of ${this.deps.maxBodyBytes} bytes`);
      return;
    }
    if (chunk.length > 0) this.chunks.push(chunk);
    if (message.endOfStream === true) this.decide(true);
  }

  private decide(bodyEnded: boolean): void {
    const body = Buffer.concat(this.chunks, this.bytes);
    this.chunks = [];
    const model = modelOf(body);
    if (model.kind === 'error') {
      this.answer(model.reason, model.message);
      return;
    }
    const entry = this.deps.catalog().names.get(model.name);
    if (entry === undefined) {
      this.answer(
        'model-not-found',
        `model "${model.name}" is not served here; GET /v1/models lists the models`,
      );
      return;
    }
    this.phase = 'passed';
    this.deps.record?.(entry.model, 'routed');
    this.sink.send(
      this.headersResponse([
        setHeader(MODEL_HEADER, entry.model),
        setHeader('content-length', String(body.length)),
      ]),
    );
    for (const response of streamedBody('requestBody', body, bodyEnded)) this.sink.send(response);
  }

  /**
   * The answer to the request headers: the client's platform-only headers removed, `set` added, and the route
   * cache cleared whenever routing-relevant headers changed, so the gateway matches its routes again.
   */
  private headersResponse(set: HeaderValueOption[]): ProcessingResponse {
    if (set.length === 0 && this.removed.length === 0) return { requestHeaders: {} };
    return {
      requestHeaders: {
        response: {
          headerMutation: {
            ...(set.length > 0 ? { setHeaders: set } : {}),
            ...(this.removed.length > 0 ? { removeHeaders: this.removed } : {}),
          },
          clearRouteCache: true,
        },
      },
    };
  }

  private answer(reason: RejectionReason, message: string): void {
    this.phase = 'answered';
    this.chunks = [];
    this.deps.record?.(undefined, reason);
    this.sink.send(immediateResponse(rejectionAnswer(reason, message)));
  }
}

function modelOf(
  body: Buffer,
): { kind: 'model'; name: string } | { kind: 'error'; reason: RejectionReason; message: string } {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (error) {
    return {
      kind: 'error',
      reason: 'invalid-request',
      message: `request body is not valid JSON (${body.length} bytes): ${(error as Error).message}`,
    };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { kind: 'error', reason: 'invalid-request', message: 'request body must be a JSON object' };
  }
  const model = (json as Record<string, unknown>)['model'];
  if (model === undefined || model === '')
    return { kind: 'error', reason: 'model-missing', message: 'model not found in request body' };
  if (typeof model !== 'string') {
    return {
      kind: 'error',
      reason: 'invalid-request',
      message: `field "model" must be a string, got ${typeof model}`,
    };
  }
  return { kind: 'model', name: model };
}
