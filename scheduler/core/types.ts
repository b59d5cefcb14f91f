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
  /** Restrict candidates to these endpoint keys (Envoy subset hint); undefined = no restriction. */
  readonly subset?: readonly string[];
}

export type DropReason = 'rejected-saturated' | 'rejected-no-endpoints' | 'rejected-shutting-down';

export type PickResult =
  | {
      readonly kind: 'picked';
      /** Primary endpoint first, then fallbacks in order. */
      readonly endpoints: readonly Endpoint[];
      /** Final weighted score per endpoint key, for debugging and the optional scores metadata. */
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
}
