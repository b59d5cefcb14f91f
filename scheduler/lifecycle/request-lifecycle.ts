// The request lifecycle both faces share (Envoy ext_proc and the HTTP proxy): parse the body, apply the model
// rewrite, check the served models, build the routing request, admit and pick, re-route after a failed
// attempt, read usage from the response, and complete exactly once in the scheduler and the metrics. The
// faces only frame what this decides: an ImmediateResponse or an HTTP answer, envoy.lb metadata or an
// upstream call. Rejections come from the one table in rejections.ts.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { EndpointOutcome } from '../core/outlier.ts';
import type { Endpoint, PickResult, RoutingRequest } from '../core/types.ts';
import { HEADER } from '../extproc/headers.ts';
import {
  parseRequestBody,
  RequestBodyError,
  streamsWithoutUsage,
  withEdits,
  type ParsedRequestBody,
} from '../extproc/request-body.ts';
import { ResponseRewriter, UsageReader, type Usage } from '../extproc/response-body.ts';
import type { CancelSignal, RoutingService } from '../routing-service.ts';
import type { RequestErrorCode, RequestLabels, RouterMetrics } from '../telemetry/metrics.ts';
import { rejectionAnswer, type RejectionAnswer, type RejectionReason } from './rejections.ts';
import { requestHeaderEdits, type RequestHeaderEdits } from './request-headers.ts';

export interface LifecycleDeps {
  readonly service: RoutingService;
  readonly metrics: RouterMetrics | undefined;
  readonly tokenize: (text: string) => Uint32Array;
  /** Routing ids of requests admitted and not finished, so that clients reusing an x-request-id get another. */
  readonly activeIds: Set<string>;
}

/** What a face read from the wire before routing. */
export interface RequestInput {
  readonly body: Buffer;
  /** The first non-empty value among header names (a name and its aliases). */
  readonly header: (names: string | readonly string[]) => string | undefined;
  /** Envoy's subset hint, when present. */
  readonly subset?: readonly string[];
  /** Uniform in [0, 1): the choice among weighted rewrite targets. */
  readonly rewritePick: number;
  /** performance.now() when the request reached the router. */
  readonly startedAt: number;
}

const DEFAULT_FLOW = 'default-flow';
const NO_TOKENS = new Uint32Array(0);
const NO_LABELS: RequestLabels = {
  modelName: '',
  targetModelName: '',
  fairnessId: DEFAULT_FLOW,
  priority: 0,
};

export type Prepared =
  | { readonly kind: 'ready'; readonly lifecycle: RequestLifecycle }
  | { readonly kind: 'rejected'; readonly answer: RejectionAnswer };

export type Decision =
  | {
      readonly kind: 'routed';
      readonly endpoints: readonly Endpoint[];
      /** Request headers to set and remove upstream (the prefill endpoint, or none). */
      readonly headers: RequestHeaderEdits;
    }
  | { readonly kind: 'rejected'; readonly answer: RejectionAnswer };

/** How a routed request ended, as the face saw it. */
export interface Ending {
  /** Upstream status (undefined when no response came). */
  readonly status?: number;
  /** The response ended normally (all of the body relayed). */
  readonly complete: boolean;
  /** The client (or the gateway) went away. */
  readonly cancelled: boolean;
  /** What the response showed about the endpoint when it broke (a reset); otherwise derived from status. */
  readonly outcome?: EndpointOutcome;
  /** Endpoint that served, when the data plane reports it and it differs from the pick. */
  readonly servedBy?: string;
  readonly responseBytes: number;
  readonly responseProcessingSeconds?: number;
  /** Error code to record instead of the one derived (an internal failure). */
  readonly errorCode?: RequestErrorCode;
}

/** Parses and checks a request body; a rejection here is recorded in the metrics already. */
export function prepareRequest(deps: LifecycleDeps, input: RequestInput): Prepared {
  let parsed: ParsedRequestBody;
  try {
    parsed = parseRequestBody(input.body);
  } catch (error) {
    if (!(error instanceof RequestBodyError)) throw error;
    const reason: RejectionReason = error.status === 413 ? 'payload-too-large' : 'invalid-request';
    return { kind: 'rejected', answer: rejectEarly(deps, reason, error.message) };
  }
  const service = deps.service;
  const headerTarget = input.header(HEADER.modelRewrite);
  let targetModel = '';
  if (headerTarget !== undefined) targetModel = headerTarget;
  else if (parsed.model !== '')
    targetModel = service.rewriteModel(parsed.model, input.rewritePick).targetModel;
  const labels: RequestLabels = {
    modelName: parsed.model,
    targetModelName: targetModel,
    fairnessId: input.header(HEADER.fairness) ?? DEFAULT_FLOW,
    priority: service.objectivePriority(
      input.header(HEADER.objective),
      service.identityHeader === undefined ? undefined : input.header(service.identityHeader),
    ),
  };
  const lifecycle = new RequestLifecycle(deps, input, parsed, targetModel, labels);
  if (targetModel === '') {
    return { kind: 'rejected', answer: lifecycle.reject('model-missing') };
  }
  const served = service.servedModels();
  if (served.length > 0 && !served.includes(targetModel)) {
    const name = parsed.model !== '' ? parsed.model : targetModel;
    return {
      kind: 'rejected',
      answer: lifecycle.reject('model-not-found', `The model \`${name}\` does not exist.`),
    };
  }
  const retryAfter = service.takeRateToken?.();
  if (retryAfter !== undefined) {
    const answer = lifecycle.reject('rate-limited');
    return {
      kind: 'rejected',
      answer: { ...answer, headers: { ...answer.headers, 'retry-after': String(retryAfter) } },
    };
  }
  return { kind: 'ready', lifecycle };
}

/** A rejection before the request could be parsed (no labels yet). */
export function rejectEarly(
  deps: Pick<LifecycleDeps, 'metrics'>,
  reason: RejectionReason,
  message?: string,
): RejectionAnswer {
  const answer = rejectionAnswer(reason, message);
  deps.metrics?.requestRejected(NO_LABELS, answer.errorCode);
  return answer;
}

/** What an upstream status says about the endpoint. */
export function outcomeOfStatus(status: number): EndpointOutcome | undefined {
  if (status >= 500) return 'server-error';
  return status < 400 ? 'success' : undefined;
}

export class RequestLifecycle {
  readonly labels: RequestLabels;
  readonly parsed: ParsedRequestBody;
  readonly clientModel: string;
  readonly targetModel: string;
  readonly rewritten: boolean;
  /**
   * The client streams without asking for usage: the router asks for it (what the engine reports of each
   * request is what the scorers learn from) and removes the usage event from the client's stream.
   */
  readonly asksUsage: boolean;
  readonly startedAt: number;
  #request: RoutingRequest;
  /** The prompt still has to be tokenized by the service's promptTokenizer (before admission). */
  #needsTokens: boolean;
  readonly #deps: LifecycleDeps;
  readonly #body: Buffer;
  #forwarded: Buffer | undefined;
  #started = false;
  /** The pick in effect: released by finish() or retry(). */
  #routedId: string | undefined;
  #routedOnce = false;
  #reserved = false;
  #finished = false;
  #scheduleStart = 0;
  #firstByteSeconds: number | undefined;
  #streaming = false;

  constructor(
    deps: LifecycleDeps,
    input: RequestInput,
    parsed: ParsedRequestBody,
    targetModel: string,
    labels: RequestLabels,
  ) {
    this.#deps = deps;
    this.#body = input.body;
    this.parsed = parsed;
    this.clientModel = parsed.model;
    this.targetModel = targetModel;
    this.rewritten = targetModel !== parsed.model;
    this.asksUsage = streamsWithoutUsage(parsed);
    this.labels = labels;
    this.startedAt = input.startedAt;
    const sessionId = input.header(HEADER.sessionId);
    const clientId = input.header(HEADER.requestId);
    let id = clientId ?? randomUUID();
    while (deps.activeIds.has(id)) id = `${clientId ?? ''}#${randomUUID()}`;
    this.#needsTokens = parsed.promptTokenIds === undefined && deps.service.promptTokenizer !== undefined;
    this.#request = {
      id,
      model: targetModel,
      priority: labels.priority,
      fairnessId: labels.fairnessId,
      promptTokens:
        parsed.promptTokenIds ?? (this.#needsTokens ? NO_TOKENS : deps.tokenize(parsed.promptText)),
      ...(parsed.maxOutputTokens !== undefined ? { maxOutputTokens: parsed.maxOutputTokens } : {}),
      ...(sessionId !== undefined ? { sessionId } : {}),
      streaming: parsed.stream,
      ...(input.subset !== undefined ? { subset: input.subset } : {}),
    };
  }

  get id(): string {
    return this.#request.id;
  }

  /** The request as the scheduler sees it (its prompt tokens final once admission started). */
  get request(): RoutingRequest {
    return this.#request;
  }

  /** The body to send upstream: the client's, with the target model when it was rewritten and usage asked for. */
  forwardedBody(): Buffer {
    this.#forwarded ??=
      this.rewritten || this.asksUsage
        ? withEdits(this.parsed, {
            ...(this.rewritten ? { model: this.targetModel } : {}),
            includeUsage: this.asksUsage,
          })
        : this.#body;
    return this.#forwarded;
  }

  /**
   * Admission: with flow control the request may wait until `signal` aborts (then the promise rejects). With
   * a prompt tokenizer (token-producer backend vllm) the prompt is tokenized first, so the result is a
   * promise; a failed or late tokenization falls back to the estimate.
   */
  admit(signal?: CancelSignal): PickResult | Promise<PickResult> {
    // Reserved while queued too, so that a request reusing this x-request-id gets another routing id.
    this.#deps.activeIds.add(this.id);
    this.#reserved = true;
    const tokenizer = this.#deps.service.promptTokenizer;
    if (!this.#needsTokens || tokenizer === undefined) return this.#admitNow(signal);
    this.#needsTokens = false;
    return tokenizer.tokenize(this.parsed, this.targetModel).then(
      (tokens) => {
        if (signal?.aborted === true) {
          this.#free();
          const reason: unknown = signal.reason;
          throw reason instanceof Error ? reason : new Error('admission cancelled: the client went away');
        }
        this.#request = {
          ...this.#request,
          promptTokens: tokens ?? this.#deps.tokenize(this.parsed.promptText),
        };
        return this.#admitNow(signal);
      },
      (error: unknown) => {
        this.#free();
        throw error;
      },
    );
  }

  #admitNow(signal: CancelSignal | undefined): PickResult | Promise<PickResult> {
    this.#scheduleStart = performance.now();
    try {
      return this.#deps.service.admit(this.#request, signal);
    } catch (error) {
      this.#free();
      throw error;
    }
  }

  /**
   * Another attempt after the current pick failed before anything reached the client: the failed endpoint is
   * released with what it showed (it counts towards its ejection) and the request is routed among the
   * endpoints not tried yet.
   */
  retry(tried: ReadonlySet<string>, outcome: EndpointOutcome): PickResult {
    this.#release({ ok: false, outcome });
    this.#scheduleStart = performance.now();
    const subset = this.#deps.service
      .routableEndpoints()
      .map((e) => e.key)
      .filter((k) => !tried.has(k) && (this.request.subset === undefined || this.request.subset.includes(k)));
    return this.#deps.service.route({ ...this.request, subset });
  }

  /**
   * Turns an admission result into what the face does: route to these endpoints, or answer this rejection
   * (recorded in the metrics; a rejection after an earlier attempt was routed ends that request).
   */
  decide(result: PickResult, tried?: ReadonlySet<string>): Decision {
    const primary = result.kind === 'picked' ? result.endpoints[0] : undefined;
    if (result.kind === 'picked' && primary !== undefined) {
      this.#routedId = this.id;
      if (result.disaggregation !== undefined) {
        this.#deps.metrics?.disaggDecision(this.labels, result.disaggregation);
      }
      return { kind: 'routed', endpoints: result.endpoints, headers: requestHeaderEdits(result.prefill) };
    }
    if (result.kind === 'picked') this.#deps.service.complete(this.id, { ok: false });
    const reason: RejectionReason = result.kind === 'rejected' ? result.reason : 'rejected-no-endpoints';
    const message =
      tried !== undefined && tried.size > 0
        ? `no model server took the request (refused the connection or failed: ${[...tried].join(', ')})`
        : undefined;
    this.#deps.metrics?.schedulingDone((performance.now() - this.#scheduleStart) / 1000, false);
    return { kind: 'rejected', answer: this.reject(reason, message) };
  }

  /**
   * Scheduling and routing metrics of the attempt that `decide` routed (the proxy calls it after the request
   * left, off the time to first token).
   */
  recordRouted(processingSeconds: number, schedulingSeconds: number): void {
    const metrics = this.#deps.metrics;
    // Already ended and recorded as never routed (the client left before this deferred call ran).
    if (metrics === undefined || (this.#finished && !this.#routedOnce)) return;
    this.#start();
    metrics.schedulingDone(schedulingSeconds, true);
    if (!this.#routedOnce) {
      this.#routedOnce = true;
      metrics.requestRouted(this.labels, processingSeconds);
    }
  }

  /** Seconds since admission started (the scheduling time of the current attempt). */
  schedulingSeconds(): number {
    return (performance.now() - this.#scheduleStart) / 1000;
  }

  /** The router answers the request itself; returns the answer to frame. */
  reject(reason: RejectionReason, message?: string): RejectionAnswer {
    const answer = rejectionAnswer(reason, message);
    if (this.#finished) return answer;
    this.#finished = true;
    this.#free();
    const metrics = this.#deps.metrics;
    this.#start();
    if (this.#routedOnce) {
      metrics?.requestFinished(this.labels, {
        durationSeconds: (performance.now() - this.startedAt) / 1000,
        responseBytes: 0,
        errorCode: answer.errorCode,
      });
    } else {
      metrics?.requestRejected(this.labels, answer.errorCode);
    }
    return answer;
  }

  /** The client went away while the request waited for admission (nothing was picked). */
  cancelledBeforeRouting(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#free();
    this.#start();
    this.#deps.metrics?.requestRejected(this.labels, 'Cancelled');
  }

  /**
   * Makes sure the request ended once whatever happened in the face (an exception included): a routed
   * request is completed as failed by the router, an unrouted one is recorded as a router error.
   */
  ensureEnded(): void {
    if (this.#finished) return;
    if (this.routed()) {
      this.finish({ complete: false, cancelled: false, responseBytes: 0, errorCode: 'Internal' }, undefined);
    } else {
      this.reject('internal');
    }
  }

  /**
   * Usage reading, and the rewriter of what the client sees (the model name restored, the usage event the router
   * asked for removed), if any.
   */
  responseReaders(streaming: boolean): { usage: UsageReader; restorer: ResponseRewriter | undefined } {
    const dropUsageEvents = this.asksUsage && streaming;
    return {
      usage: new UsageReader(streaming),
      restorer:
        this.rewritten || dropUsageEvents
          ? new ResponseRewriter({
              ...(this.rewritten ? { model: { served: this.targetModel, client: this.clientModel } } : {}),
              dropUsageEvents,
              streaming,
            })
          : undefined,
    };
  }

  /**
   * The first body bytes of the response reached the router: time to first token as the client sees it, from
   * the request's arrival (so scheduling, queueing, retries and the model server's prefill all count). The
   * scheduler hears of it only for an answer that succeeded (`status` below 400, or unknown): an error's body
   * is not a first token, and it would count the endpoint's failure as a success. `servedBy`: the endpoint that
   * answered, when the data plane fell back from the pick.
   */
  firstBytes(streaming: boolean, status: number | undefined, servedBy?: string): void {
    if (this.#firstByteSeconds !== undefined) return;
    this.#firstByteSeconds = (performance.now() - this.startedAt) / 1000;
    this.#streaming = streaming;
    if (this.#routedId !== undefined && (status === undefined || outcomeOfStatus(status) === 'success'))
      this.#deps.service.firstToken?.(this.#routedId, servedBy);
    this.#deps.metrics?.firstResponseBytes(this.labels, this.#firstByteSeconds, streaming);
  }

  /** Whether a routed attempt is still open (finish or retry not called yet). */
  routed(): boolean {
    return this.#routedId !== undefined;
  }

  /** The routed request ended: completes it once in the scheduler and the metrics. */
  finish(ending: Ending, usage: Usage | undefined): void {
    if (this.#finished) return;
    this.#finished = true;
    const status = ending.status;
    const outcome =
      ending.outcome ?? (status === undefined || ending.cancelled ? undefined : outcomeOfStatus(status));
    const ok = ending.complete && !ending.cancelled && status !== undefined && status < 400;
    this.#release({
      ok,
      ...(usage?.promptTokens !== undefined ? { promptTokens: usage.promptTokens } : {}),
      ...(usage?.completionTokens !== undefined ? { completionTokens: usage.completionTokens } : {}),
      ...(usage?.cachedTokens !== undefined ? { cachedTokens: usage.cachedTokens } : {}),
      ...(ending.servedBy !== undefined ? { servedBy: ending.servedBy } : {}),
      ...(outcome !== undefined ? { outcome } : {}),
    });
    this.#free();
    const errorCode: RequestErrorCode | undefined =
      ending.errorCode ?? (ending.cancelled ? 'Cancelled' : ok ? undefined : 'ModelServerError');
    this.#start();
    if (!this.#routedOnce) {
      // Ended before its routing was recorded (the client left at once): not counted as running.
      this.#deps.metrics?.requestRejected(this.labels, errorCode ?? 'Cancelled');
      return;
    }
    this.#deps.metrics?.requestFinished(this.labels, {
      durationSeconds: (performance.now() - this.startedAt) / 1000,
      responseBytes: ending.responseBytes,
      ...(ending.responseProcessingSeconds !== undefined
        ? { responseProcessingSeconds: ending.responseProcessingSeconds }
        : {}),
      ...(this.#streaming && this.#firstByteSeconds !== undefined
        ? { streamingTtftSeconds: this.#firstByteSeconds }
        : {}),
      ...(errorCode !== undefined ? { errorCode } : {}),
      ...(usage?.promptTokens !== undefined ? { promptTokens: usage.promptTokens } : {}),
      ...(usage?.completionTokens !== undefined ? { completionTokens: usage.completionTokens } : {}),
      ...(usage?.cachedTokens !== undefined ? { cachedTokens: usage.cachedTokens } : {}),
    });
  }

  #release(completion: Parameters<RoutingService['complete']>[1]): void {
    if (this.#routedId === undefined) return;
    this.#routedId = undefined;
    this.#deps.service.complete(this.id, completion);
  }

  #start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#deps.metrics?.requestStarted(this.labels, this.#body.length);
  }

  #free(): void {
    if (this.#reserved) {
      this.#reserved = false;
      this.#deps.activeIds.delete(this.id);
    }
  }
}
