// What the protocol adapters (Envoy ext_proc, HTTP proxy) need from the rest of the router. The composition
// root (scheduler/main.ts) builds one RoutingService from the core scheduler, the endpoint data layer and the
// InferenceObjective / InferenceModelRewrite tables, and hands it to every adapter.
import type { EndpointOutcome } from './core/outlier.ts';
import type { Completion, Endpoint, PickResult, RoutingRequest } from './core/types.ts';
import type { PromptTokenizer } from './datalayer/vllm-tokenizer.ts';

/** A completion as an adapter reports it: what the engine said, plus what the endpoint's behaviour showed. */
export interface RoutedCompletion extends Completion {
  /**
   * What the request showed about the endpoint: a success, or a refused connection, a 5xx answer or a reset
   * (these count towards outlier ejection). Undefined when it showed nothing (client cancel, 4xx).
   */
  readonly outcome?: EndpointOutcome;
}

export interface ModelRewriteDecision {
  /** Model name to send upstream. */
  readonly targetModel: string;
  /** Whether the body's "model" field has to be rewritten. */
  readonly rewritten: boolean;
}

/**
 * What admission needs of a cancellation signal. An AbortSignal is one; the HTTP proxy passes a lighter
 * object of its own (see proxy/cancellation.ts).
 */
export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface RoutingService {
  /**
   * Tokenizes prompts on a model server before admission (token-producer backend vllm with a precise prefix
   * index); undefined: prompts without token ids are estimated.
   */
  readonly promptTokenizer?: PromptTokenizer | undefined;
  /** Picks endpoints for a request among the current ready endpoints and records it as in flight. */
  route(request: RoutingRequest): PickResult;
  /**
   * Admission for a new request: with flow control off, the same as route(); with it on, the request goes
   * through the priority/fairness queue. The result comes back at once when no waiting was needed (the hot
   * path stays synchronous), otherwise as a promise that settles when the request is dispatched (picked, in
   * flight) or dropped (429 queue full or TTL expired, 503), and rejects when `signal` aborts while it
   * waits, leaving nothing queued or in flight.
   */
  admit(request: RoutingRequest, signal?: CancelSignal): PickResult | Promise<PickResult>;
  /** Releases a request picked by route(); safe to call more than once per id. */
  complete(requestId: string, completion: RoutedCompletion): void;
  /**
   * The first response bytes of a routed request that succeeded arrived (time to first token as the endpoint
   * showed it): the scheduler learns endpoint speed from it, and the endpoint's answer counts as a success from
   * now on. `servedBy`: the endpoint that answered, when the data plane fell back from the pick. Unknown ids are
   * ignored.
   */
  firstToken?(requestId: string, servedBy?: string): void;
  /**
   * Priority of a request naming this InferenceObjective (0 when unknown or absent); with identity-based
   * priority (--identity-header), capped by what the caller's verified identity class maps to.
   */
  objectivePriority(objectiveName: string | undefined, identityClass?: string): number;
  /** The header the gateway sets from the caller's verified identity; undefined: no identity-based priority. */
  readonly identityHeader?: string | undefined;
  /** Applies InferenceModelRewrite rules to the requested model name. `pick` in [0,1) chooses among weighted targets. */
  rewriteModel(model: string, pick: number): ModelRewriteDecision;
  /** Model names this pool serves (base models, served aliases and adapters); empty means "accept any". */
  servedModels(): readonly string[];
  /** The current ready endpoints. */
  endpoints(): readonly Endpoint[];
  /**
   * Spends one token of the model's request-rate limit: undefined when the request may go on (or no limit is
   * set), else the seconds until it could (Retry-After).
   */
  takeRateToken?(): number | undefined;
  /** The endpoints new requests may go to now: ready, not ejected, with fresh metrics when any has them. */
  routableEndpoints(): readonly Endpoint[];
  /**
   * True once discovery has synced, while the router is not draining and has at least one endpoint to
   * route to.
   */
  ready(): boolean;
}
