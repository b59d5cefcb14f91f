// The router core's public vocabulary. The core is pure and synchronous: adapters (ext_proc, HTTP proxy,
// benchmark harness) build these values, call the scheduler, and report completions back.

/** What the data layer last read from one endpoint's `/metrics` (vLLM names in comments). */
export interface EndpointMetrics {
  /** vllm:num_requests_waiting */
  readonly waitingRequests: number;
  /** vllm:num_requests_running */
  readonly runningRequests: number;
  /** vllm:kv_cache_usage_perc, a fraction in [0, 1] */
  readonly kvCacheUsage: number;
  /** vllm:cache_config_info{num_gpu_blocks}, when reported */
  readonly kvCacheCapacityBlocks?: number;
  /** vllm:cache_config_info{block_size}, when reported */
  readonly kvBlockSize?: number;
  /** vllm:lora_requests_info{running_lora_adapters} */
  readonly activeLoras: readonly string[];
  /** vllm:lora_requests_info{waiting_lora_adapters} */
  readonly waitingLoras: readonly string[];
  /** vllm:lora_requests_info{max_lora}; 0 when the server serves no adapters */
  readonly maxLoras: number;
  /** Clock reading (ms) when these values were scraped; the core judges staleness from it. */
  readonly scrapedAtMs: number;
}

/** One routable target: a pod IP and one of the pool's target ports. */
export interface Endpoint {
  /** "ip:port", the identity used in headers, metadata and the prefix index. */
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly labels: Readonly<Record<string, string>>;
  /** Undefined until the first successful scrape. */
  readonly metrics: EndpointMetrics | undefined;
}

/** A request as the scheduler sees it, after parsing and model rewrite. */
export interface RoutingRequest {
  /** x-request-id, or one the adapter generated. */
  readonly id: string;
  /** Target model after InferenceModelRewrite (a base model or a LoRA adapter name). */
  readonly model: string;
  /** InferenceObjective priority; 0 when no objective is named. Negative means sheddable. */
  readonly priority: number;
  /** Fairness key within a priority band (x-llm-d-inference-fairness-id), default "default-flow". */
  readonly fairnessId: string;
  /** Prompt token ids (real or estimated); the prefix index hashes these in blocks. */
  readonly promptTokens: Uint32Array;
  /** max_tokens / max_completion_tokens when the client sent it. */
  readonly maxOutputTokens?: number;
  /** Session key for session affinity (x-session-id header), when present. */
  readonly sessionId?: string;
  /**
   * Whether the response streams. false: its first body bytes come with the whole answer, so `firstToken`
   * marks the end of the decode rather than of the prefill. Undefined: treated as streaming.
   */
  readonly streaming?: boolean;
  /** Restrict candidates to these endpoint keys (Envoy subset hint); undefined = no restriction. */
  readonly subset?: readonly string[];
}

export type DropReason =
  | 'rejected-saturated'
  | 'rejected-no-endpoints'
  | 'rejected-shutting-down'
  | 'rejected-ttl-expired'
  | 'rejected-queue-full';

export type PickResult =
  | {
      readonly kind: 'picked';
      /** Primary endpoint first, then fallbacks in order (with a disagg-profile-handler: decode endpoints). */
      readonly endpoints: readonly Endpoint[];
      /**
       * With a disagg-profile-handler, the endpoint that prefills the prompt; the primary endpoint pulls the
       * KV cache from it (x-prefiller-host-port). Absent: the primary endpoint prefills itself.
       */
      readonly prefill?: Endpoint;
      /** Set only when the config has a disagg-profile-handler. */
      readonly disaggregation?: 'decode-only' | 'prefill-decode';
      /** Final weighted score per endpoint key (of the primary's profile), for debugging and metadata. */
      readonly scores: ReadonlyMap<string, number>;
    }
  | { readonly kind: 'rejected'; readonly status: 429 | 503; readonly reason: DropReason };

/** What the adapter learned when a request finished (from the response usage block). */
export interface Completion {
  readonly ok: boolean;
  readonly promptTokens?: number;
  readonly completionTokens?: number;
  /** usage.prompt_tokens_details.cached_tokens: what the engine really reused. */
  readonly cachedTokens?: number;
  /** Endpoint that actually served (envoy.lb x-gateway-destination-endpoint-served), if it differs. */
  readonly servedBy?: string;
  /**
   * Whether the endpoint failed the request (a 5xx answer, a refused connection, a reset), as opposed to an
   * end that says nothing about it (client cancel, 4xx). Undefined: a request that is not `ok` counts as failed
   * by the endpoint.
   */
  readonly endpointError?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Configuration: the in-memory form of an EndpointPickerConfig (see schemas/router-config.schema.json).

/** One plugin instance: `type` selects the implementation, `name` is what profiles refer to. */
export interface PluginSpec {
  readonly type: string;
  /** Defaults to `type` when the config omits it. */
  readonly name: string;
  readonly parameters: Readonly<Record<string, unknown>>;
}

export interface ProfilePluginRef {
  readonly pluginRef: string;
  /** Scorer weight; ignored for filters and pickers. Defaults to 1. */
  readonly weight: number;
}

export interface SchedulingProfile {
  readonly name: string;
  readonly plugins: readonly ProfilePluginRef[];
}

/**
 * Order of the requests within a flow. `fcfs`: arrival order. `prefill-deadline`: earliest deadline first, a
 * request's deadline being its arrival plus `slack` times its cold-prefill time (prompt tokens over
 * `prefillTokensPerSecond`), at most `maxSlackMs`: short prompts overtake long ones, and no request waits
 * behind later arrivals for more than `maxSlackMs`.
 */
export type FlowOrdering =
  | { readonly type: 'fcfs' }
  | {
      readonly type: 'prefill-deadline';
      readonly prefillTokensPerSecond: number;
      readonly slack: number;
      readonly maxSlackMs: number;
    };

/**
 * When a queued request may leave. `pool-saturation` (llm-d's): while the saturation detector's pool
 * saturation is below 1. `endpoint-queue-depth`: while some endpoint with metrics fresher than
 * `metricsStalenessMs` has fewer than `maxWaitingRequests` requests waiting (scraped, plus the router's picks
 * since the scrape), whatever its KV-cache gauge says: an engine whose cache is full queues what it cannot
 * admit, and a full cache alone is the normal state of a busy engine that caches prefixes.
 */
export type FlowDispatch =
  | { readonly type: 'pool-saturation' }
  | {
      readonly type: 'endpoint-queue-depth';
      readonly maxWaitingRequests: number;
      readonly metricsStalenessMs: number;
    };

/** Optional waiting room: priority bands, fairness within a band, an ordering within a flow. */
export interface FlowControlConfig {
  /** Queue capacity over all bands; further enqueues are rejected with 429. */
  readonly maxQueuedRequests: number;
  /** A queued request older than this is rejected (429 with endpoints, 503 without). */
  readonly requestTtlMs: number;
  /**
   * `round-robin`: flows of one band take turns; `global-strict`: the band's first request by the ordering
   * (the oldest under `fcfs`) whatever its flow.
   */
  readonly fairness: 'round-robin' | 'global-strict';
  readonly ordering: FlowOrdering;
  readonly dispatch: FlowDispatch;
}

export interface SchedulerConfig {
  readonly apiVersion: 'llm-d.ai/v1' | 'llm-d.ai/v1alpha1' | 'inference.networking.x-k8s.io/v1alpha1';
  readonly kind: 'EndpointPickerConfig';
  readonly plugins: readonly PluginSpec[];
  readonly schedulingProfiles: readonly SchedulingProfile[];
  readonly flowControl?: FlowControlConfig;
}

// ---------------------------------------------------------------------------------------------------------------
// The scheduler.

export interface SchedulerDeps {
  /** Current time in milliseconds (wall clock in the router, virtual clock in the simulator). */
  now(): number;
  /** Uniform in [0, 1): tie-breaks and random pickers. */
  random(): number;
}

/** A request waiting in the flow-control queue. */
export interface QueueTicket {
  readonly requestId: string;
  readonly priority: number;
  readonly fairnessId: string;
  readonly enqueuedAtMs: number;
}

export type EnqueueResult =
  | { readonly kind: 'queued'; readonly ticket: QueueTicket }
  | { readonly kind: 'rejected'; readonly status: 429; readonly reason: 'rejected-queue-full' };

/** One outcome of `drain`: a queued request left the queue, either routed or rejected. */
export interface DrainOutcome {
  readonly request: RoutingRequest;
  readonly result: PickResult;
  /** How long it waited in the queue (ms). */
  readonly waitedMs: number;
}

/** Read-only view of what the scheduler believes about an endpoint (metrics export and debugging). */
export interface EndpointAccounting {
  readonly key: string;
  /** Requests picked for this endpoint and not yet completed. */
  readonly inFlightRequests: number;
  /** Estimated prompt tokens of in-flight requests that the endpoint still has to prefill. */
  readonly inFlightUncachedTokens: number;
  /** Prefix-index blocks currently attributed to this endpoint, and the index's capacity for it. */
  readonly indexedBlocks: number;
  readonly indexCapacityBlocks: number;
}

/**
 * One KV-cache event as vLLM's `--kv-events-config` publishes them (BlockStored, BlockRemoved,
 * AllBlocksCleared), reduced to what the precise prefix index needs: the engine's block hashes.
 */
export type KvCacheEvent =
  | { readonly type: 'stored'; readonly blockHashes: readonly number[] }
  | { readonly type: 'removed'; readonly blockHashes: readonly number[] }
  | { readonly type: 'cleared' };

export interface Scheduler {
  /**
   * Admission (saturation shedding of priority < 0 with 429, 503 without candidates), filters, weighted
   * scorers and the picker; records the request as in flight on the primary endpoint. With a
   * disagg-profile-handler the decode profile picks the primary, and when its decider approves, the prefill
   * profile picks `prefill` among the same admitted endpoints (in flight there too).
   */
  pick(request: RoutingRequest, endpoints: readonly Endpoint[]): PickResult;
  /** Releases a picked request (and its prefill) and learns from what the engine reported. Unknown ids are ignored. */
  complete(requestId: string, completion: Completion): void;
  /**
   * The first token of a picked request reached the router (the response's first body bytes): scorers that
   * learn endpoint speed time it from the pick. Unknown ids and repeated calls are ignored.
   */
  firstToken(requestId: string): void;
  /** Pool saturation in [0, ∞) over these endpoints as the saturation detector sees it; ≥ 1 is saturated. */
  saturation(endpoints: readonly Endpoint[]): number;
  /**
   * Flow control (only when the config has `flowControl`): queue a request instead of picking it now.
   * The adapter then calls `drain` whenever something changed (a completion, a metrics refresh, a timer)
   * and forwards each outcome; `drain` never blocks.
   */
  enqueue(request: RoutingRequest): EnqueueResult;
  /**
   * Dispatches queued requests in order (highest priority band first, fairness within a band, the flow
   * control's ordering within a flow) while the pool is not saturated, and expires requests past their TTL.
   */
  drain(endpoints: readonly Endpoint[]): readonly DrainOutcome[];
  /** Removes a queued request (client went away). Returns false when it was not queued. */
  cancel(requestId: string): boolean;
  /** Number of requests waiting in the flow-control queue. */
  queuedRequests(): number;
  /** Local accounting per endpoint key that the scheduler has seen. */
  accounting(): readonly EndpointAccounting[];
  /**
   * Applies an endpoint's KV-cache events, in order, to the precise prefix index (a no-op unless the config
   * has a `precise-prefix-cache-producer`).
   */
  applyKvEvents(endpointKey: string, events: readonly KvCacheEvent[]): void;
}
