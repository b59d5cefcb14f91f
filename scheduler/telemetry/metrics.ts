// The router's own Prometheus metrics, named as the llm-d endpoint picker names them (`llm_d_epp_*`), so
// dashboards and alerts written for llm-d work unchanged. One Registry per instance (no global state).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Endpoint } from '../core/types.ts';

export interface RequestLabels {
  /** Model name the client asked for. */
  readonly modelName: string;
  /** Model name sent upstream after rewrites. */
  readonly targetModelName: string;
  readonly fairnessId: string;
  readonly priority: number;
}

/** Error codes, as llm-d names them in `request_error_total{error_code}`. */
export type RequestErrorCode =
  | 'BadRequest'
  | 'NotFound'
  | 'PayloadTooLarge'
  | 'ResourceExhausted'
  | 'ServiceUnavailable'
  | 'ModelServerError'
  | 'Cancelled'
  | 'Internal';

export interface RequestOutcome {
  readonly durationSeconds: number;
  /** Set when the request failed after it was routed (upstream error status, cancel, stream error). */
  readonly errorCode?: RequestErrorCode;
  readonly responseBytes: number;
  readonly promptTokens?: number;
  readonly completionTokens?: number;
  readonly cachedTokens?: number;
  /** Router time spent on the response messages of this request. */
  readonly responseProcessingSeconds?: number;
  /** Time to the first response body bytes, when the response streamed. */
  readonly streamingTtftSeconds?: number;
}

export interface RouterMetricsOptions {
  /** InferencePool name, the `name` label of pool gauges. */
  readonly poolName: string;
  /** Current endpoints, read at scrape time for the pool gauges. */
  readonly endpoints?: () => readonly Endpoint[];
  /** Requests waiting in the flow-control queue, read at scrape time (0 without flow control). */
  readonly queuedRequests?: () => number;
  /** Endpoints ejected by outlier detection, read at scrape time. */
  readonly ejectedEndpoints?: () => number;
  /** Prefix-index blocks per endpoint key (approximate or precise), read at scrape time. */
  readonly indexedBlocks?: () => readonly { readonly key: string; readonly indexedBlocks: number }[];
  /**
   * Distinct (model_name, target_model_name, fairness_id, priority) label sets kept per metric (default
   * 50); see LabelSetCap.
   */
  readonly maxLabelSets?: number;
  /** Also export the process and Node.js runtime metrics (process_*, nodejs_*: RSS, heap, descriptors). */
  readonly runtimeMetrics?: boolean;
}

const LABEL_NAMES = ['model_name', 'target_model_name', 'fairness_id', 'priority'] as const;
type LabelName = (typeof LABEL_NAMES)[number];
type LabelValues = Record<LabelName, string>;
export const DEFAULT_MAX_LABEL_SETS = 50;
/** Label sets with the fairness id folded into "other", kept beyond the cap of full label sets. */
const FOLDED_LABEL_SETS = 10;
const OTHER = 'other';

const DURATION_BUCKETS = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60, 120,
  180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600,
];
const TTFT_BUCKETS = [
  0.001, 0.002, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.125, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1, 1.5,
  2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600,
];
const TPOT_BUCKETS = [
  0.0005, 0.00075, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.06,
  0.075, 0.1, 0.125, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2, 4, 8,
];
const OVERHEAD_BUCKETS = [
  0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5,
];
const TOKEN_BUCKETS = [
  1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288,
  1048576,
];
const SIZE_BUCKETS = [
  64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1048576, 2097152,
  4194304, 8388608, 16777216, 33554432, 67108864, 134217728, 268435456, 536870912, 1073741824,
];

/**
 * Bounds the product of label values, not each label alone: at most `limit` distinct label sets are
 * reported as they are. Beyond that a new set keeps its models and priority with fairness_id "other" (at
 * most FOLDED_LABEL_SETS such sets), and after that every label is "other". So every request metric has at
 * most limit + FOLDED_LABEL_SETS + 1 series per extra label value (error code, streaming), whatever clients
 * send.
 */
export class LabelSetCap {
  readonly #full = new Map<string, LabelValues>();
  readonly #folded = new Map<string, LabelValues>();
  readonly #limit: number;
  static readonly #allOther: LabelValues = {
    model_name: OTHER,
    target_model_name: OTHER,
    fairness_id: OTHER,
    priority: OTHER,
  };
  /** Requests whose labels were folded. */
  folded = 0;

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  values(labels: RequestLabels): LabelValues {
    const priority = String(labels.priority);
    const key = `${labels.modelName}\u0000${labels.targetModelName}\u0000${labels.fairnessId}\u0000${priority}`;
    const known = this.#full.get(key);
    if (known !== undefined) return known;
    if (this.#full.size < this.#limit) {
      const values = {
        model_name: labels.modelName,
        target_model_name: labels.targetModelName,
        fairness_id: labels.fairnessId,
        priority,
      };
      this.#full.set(key, values);
      return values;
    }
    this.folded++;
    const foldedKey = `${labels.modelName}\u0000${labels.targetModelName}\u0000${priority}`;
    const folded = this.#folded.get(foldedKey);
    if (folded !== undefined) return folded;
    if (this.#folded.size < FOLDED_LABEL_SETS) {
      const values = {
        model_name: labels.modelName,
        target_model_name: labels.targetModelName,
        fairness_id: OTHER,
        priority,
      };
      this.#folded.set(foldedKey, values);
      return values;
    }
    return LabelSetCap.#allOther;
  }

  /** Distinct label sets reported so far. */
  size(): number {
    return this.#full.size + this.#folded.size;
  }
}

export class RouterMetrics {
  readonly registry = new Registry();
  private readonly labelSets: LabelSetCap;
  private readonly retries: Counter<'reason'>;

  private readonly requestTotal: Counter<LabelName>;
  private readonly requestErrors: Counter<LabelName | 'error_code'>;
  private readonly requestDuration: Histogram<LabelName>;
  private readonly requestSize: Histogram<LabelName>;
  private readonly responseSize: Histogram<LabelName>;
  private readonly inputTokens: Histogram<LabelName>;
  private readonly outputTokens: Histogram<LabelName>;
  private readonly cachedTokens: Histogram<LabelName>;
  private readonly running: Gauge<LabelName>;
  private readonly ttft: Histogram<LabelName | 'streaming'>;
  private readonly ntpot: Histogram<LabelName>;
  private readonly streamingTpot: Histogram<LabelName>;
  private readonly schedulerDuration: Histogram;
  private readonly schedulerAttempts: Counter<'status'>;
  private readonly requestProcessing: Histogram;
  private readonly responseProcessing: Histogram;
  private readonly disaggDecisions: Counter<'model_name' | 'decision_type'>;
  private readonly kvEvents: Counter<'outcome'>;
  private readonly kvEventMessages: Counter<'outcome'>;
  private readonly kvEventResets: Counter<'reason'>;
  private readonly tokenizeFallbacks: Counter<'reason'>;

  constructor(options: RouterMetricsOptions) {
    this.labelSets = new LabelSetCap(options.maxLabelSets ?? DEFAULT_MAX_LABEL_SETS);
    const registers = [this.registry];
    const labelNames = [...LABEL_NAMES];
    this.requestTotal = new Counter({
      name: 'llm_d_epp_request_total',
      help: 'Requests the router routed or rejected, by client model, target model, flow and priority.',
      labelNames,
      registers,
    });
    this.requestErrors = new Counter({
      name: 'llm_d_epp_request_error_total',
      help: 'Requests that failed: rejected by the router or failed upstream, by error code.',
      labelNames: [...labelNames, 'error_code'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'llm_d_epp_request_duration_seconds',
      help: 'Time from the request headers reaching the router to the end of the response.',
      labelNames,
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.requestSize = new Histogram({
      name: 'llm_d_epp_request_size_bytes',
      help: 'Request body size.',
      labelNames,
      buckets: SIZE_BUCKETS,
      registers,
    });
    this.responseSize = new Histogram({
      name: 'llm_d_epp_response_size_bytes',
      help: 'Response body size.',
      labelNames,
      buckets: SIZE_BUCKETS,
      registers,
    });
    this.inputTokens = new Histogram({
      name: 'llm_d_epp_request_input_tokens',
      help: 'Prompt tokens reported in the response usage.',
      labelNames,
      buckets: TOKEN_BUCKETS,
      registers,
    });
    this.outputTokens = new Histogram({
      name: 'llm_d_epp_request_output_tokens',
      help: 'Completion tokens reported in the response usage.',
      labelNames,
      buckets: TOKEN_BUCKETS,
      registers,
    });
    this.cachedTokens = new Histogram({
      name: 'llm_d_epp_request_cached_tokens',
      help: 'Prompt tokens the engine served from its prefix cache, as reported in the response usage.',
      labelNames,
      buckets: TOKEN_BUCKETS,
      registers,
    });
    this.running = new Gauge({
      name: 'llm_d_epp_request_running',
      help: 'Requests routed and not yet finished.',
      labelNames,
      registers,
    });
    this.ttft = new Histogram({
      name: 'llm_d_epp_request_ttft_seconds',
      help: 'Time from the request headers reaching the router to the first response body bytes.',
      labelNames: [...labelNames, 'streaming'],
      buckets: TTFT_BUCKETS,
      registers,
    });
    this.ntpot = new Histogram({
      name: 'llm_d_epp_request_ntpot_seconds',
      help: 'Normalized time per output token: request duration divided by completion tokens.',
      labelNames,
      buckets: TPOT_BUCKETS,
      registers,
    });
    this.streamingTpot = new Histogram({
      name: 'llm_d_epp_request_streaming_tpot_seconds',
      help: 'Streaming responses: time after the first bytes divided by the remaining completion tokens.',
      labelNames,
      buckets: TPOT_BUCKETS,
      registers,
    });
    this.schedulerDuration = new Histogram({
      name: 'llm_d_epp_scheduler_e2e_duration_seconds',
      help: 'Time of one scheduling decision.',
      buckets: OVERHEAD_BUCKETS,
      registers,
    });
    this.schedulerAttempts = new Counter({
      name: 'llm_d_epp_scheduler_attempts_total',
      help: 'Scheduling decisions, by outcome.',
      labelNames: ['status'],
      registers,
    });
    this.requestProcessing = new Histogram({
      name: 'llm_d_epp_request_processing_duration_seconds',
      help: 'Router time on the request path: from the end of the request body to the routing response.',
      buckets: OVERHEAD_BUCKETS,
      registers,
    });
    this.responseProcessing = new Histogram({
      name: 'llm_d_epp_response_processing_duration_seconds',
      help: 'Router time spent on the response messages of one request (usage parsing, echo).',
      buckets: OVERHEAD_BUCKETS,
      registers,
    });
    this.disaggDecisions = new Counter({
      name: 'llm_d_epp_disagg_decision_total',
      help: 'Routing decisions of the disagg-profile-handler, by target model and decision type (decode-only, prefill-decode).',
      labelNames: ['model_name', 'decision_type'],
      registers,
    });
    this.retries = new Counter({
      name: 'switchyard_router_upstream_retries_total',
      help: 'Proxied requests sent to another endpoint after a failed attempt, by what failed (connect-failure, reset, server-error).',
      labelNames: ['reason'],
      registers,
    });
    this.kvEvents = new Counter({
      name: 'switchyard_kv_events_total',
      help: 'KV-cache events received from the endpoints (--kv-events-port), by outcome: stored, removed, cleared, malformed, unknown-parent (a BlockStored whose parent block the router never saw), block-size-mismatch, ignored (LoRA blocks, blocks off the GPU, unknown tags).',
      labelNames: ['outcome'],
      registers,
    });
    this.kvEventMessages = new Counter({
      name: 'switchyard_kv_event_messages_total',
      help: 'KV-cache event messages (one batch each) received from the endpoints, by outcome: applied, malformed.',
      labelNames: ['outcome'],
      registers,
    });
    this.kvEventResets = new Counter({
      name: 'switchyard_kv_event_resets_total',
      help: "Times an endpoint's precise prefix-index entries were dropped, by reason: gap (lost messages), restart (the sequence went back), malformed, disconnected, endpoint-removed.",
      labelNames: ['reason'],
      registers,
    });
    this.tokenizeFallbacks = new Counter({
      name: 'switchyard_tokenize_fallbacks_total',
      help: 'Requests the token-producer (backend vllm) could not tokenize on a model server and estimated instead, by reason: timeout, error (refused, non-200, bad answer), no-endpoint, unsupported (a request shape /tokenize does not take, e.g. Responses input).',
      labelNames: ['reason'],
      registers,
    });
    const labelSets = this.labelSets;
    new Counter({
      name: 'switchyard_router_folded_label_sets_total',
      help: 'Requests whose metric labels were folded into "other" because the label-set cap was reached.',
      registers,
      collect() {
        this.reset();
        this.inc(labelSets.folded);
      },
    });
    this.registerPoolGauges(options);
    if (options.runtimeMetrics === true) {
      collectDefaultMetrics({ register: this.registry });
    }
  }

  /** One KV-cache event from an endpoint, by what became of it. */
  kvEvent(outcome: string): void {
    this.kvEvents.inc({ outcome });
  }

  /** One KV-cache event message (a batch), applied or malformed. */
  kvEventMessage(outcome: string): void {
    this.kvEventMessages.inc({ outcome });
  }

  /** An endpoint's precise prefix-index entries were dropped. */
  kvEventReset(reason: string): void {
    this.kvEventResets.inc({ reason });
  }

  /** The vllm token producer fell back to the estimate. */
  tokenizeFallback(reason: string): void {
    this.tokenizeFallbacks.inc({ reason });
  }

  /** A proxied request goes to another endpoint after `reason` on the previous one. */
  upstreamRetried(reason: string): void {
    this.retries.inc({ reason });
  }

  /** Label values per request, computed once (requests keep one RequestLabels object while they run). */
  private readonly labelCache = new WeakMap<RequestLabels, Record<LabelName, string>>();

  private labels(labels: RequestLabels): Record<LabelName, string> {
    const cached = this.labelCache.get(labels);
    if (cached !== undefined) {
      return cached;
    }
    const values = this.labelSets.values(labels);
    this.labelCache.set(labels, values);
    return values;
  }

  /** A request was parsed and is about to be scheduled. */
  requestStarted(labels: RequestLabels, requestBytes: number): void {
    const values = this.labels(labels);
    this.requestTotal.inc(values);
    this.requestSize.observe(values, requestBytes);
  }

  /** The router answered the request itself (400, 404, 413, 429, 503). */
  requestRejected(labels: RequestLabels, errorCode: RequestErrorCode): void {
    this.requestErrors.inc({ ...this.labels(labels), error_code: errorCode });
  }

  schedulingDone(seconds: number, picked: boolean): void {
    this.schedulerDuration.observe(seconds);
    this.schedulerAttempts.inc({ status: picked ? 'success' : 'failure' });
  }

  /** A disagg-profile-handler routed a request to a decode endpoint alone, or with a prefill endpoint. */
  disaggDecision(labels: RequestLabels, decision: 'decode-only' | 'prefill-decode'): void {
    this.disaggDecisions.inc({ model_name: this.labels(labels).target_model_name, decision_type: decision });
  }

  requestRouted(labels: RequestLabels, processingSeconds: number): void {
    this.running.inc(this.labels(labels));
    this.requestProcessing.observe(processingSeconds);
  }

  firstResponseBytes(labels: RequestLabels, seconds: number, streaming: boolean): void {
    this.ttft.observe({ ...this.labels(labels), streaming: String(streaming) }, seconds);
  }

  /** A routed request ended (response complete, upstream error, cancel). Called once per routed request. */
  requestFinished(labels: RequestLabels, outcome: RequestOutcome): void {
    const values = this.labels(labels);
    this.running.dec(values);
    this.requestDuration.observe(values, outcome.durationSeconds);
    this.responseSize.observe(values, outcome.responseBytes);
    if (outcome.responseProcessingSeconds !== undefined) {
      this.responseProcessing.observe(outcome.responseProcessingSeconds);
    }
    if (outcome.errorCode !== undefined) {
      this.requestErrors.inc({ ...values, error_code: outcome.errorCode });
    }
    if (outcome.promptTokens !== undefined) {
      this.inputTokens.observe(values, outcome.promptTokens);
    }
    const completionTokens = outcome.completionTokens;
    if (completionTokens !== undefined) {
      this.outputTokens.observe(values, completionTokens);
      if (completionTokens > 0 && outcome.errorCode === undefined) {
        this.ntpot.observe(values, outcome.durationSeconds / completionTokens);
        if (outcome.streamingTtftSeconds !== undefined && completionTokens > 1) {
          this.streamingTpot.observe(
            values,
            (outcome.durationSeconds - outcome.streamingTtftSeconds) / (completionTokens - 1),
          );
        }
      }
    }
    if (outcome.cachedTokens !== undefined) {
      this.cachedTokens.observe(values, outcome.cachedTokens);
    }
  }

  private registerPoolGauges(options: RouterMetricsOptions): void {
    const registers = [this.registry];
    const source = options.endpoints;
    const name = options.poolName;
    const average = (pick: (endpoint: Endpoint) => number | undefined) => (): number => {
      let sum = 0;
      let count = 0;
      for (const endpoint of source?.() ?? []) {
        const value = pick(endpoint);
        if (value !== undefined) {
          sum += value;
          count++;
        }
      }
      return count === 0 ? 0 : sum / count;
    };
    const gauge = (metricName: string, help: string, value: () => number): void => {
      new Gauge({
        name: metricName,
        help,
        labelNames: ['name'],
        registers,
        collect() {
          this.set({ name }, value());
        },
      });
    };
    gauge('llm_d_epp_ready_endpoints', 'Ready endpoints in the pool.', () => source?.().length ?? 0);
    gauge(
      'switchyard_router_ejected_endpoints',
      'Endpoints ejected by outlier detection (failed requests in a row).',
      () => options.ejectedEndpoints?.() ?? 0,
    );
    gauge(
      'llm_d_epp_flow_control_queue_size',
      "Requests waiting in this router replica's flow-control queue.",
      () => options.queuedRequests?.() ?? 0,
    );
    gauge(
      'llm_d_epp_average_queue_size',
      'Average vllm:num_requests_waiting over the pool.',
      average((endpoint) => endpoint.metrics?.waitingRequests),
    );
    gauge(
      'llm_d_epp_average_running_requests',
      'Average vllm:num_requests_running over the pool.',
      average((endpoint) => endpoint.metrics?.runningRequests),
    );
    gauge(
      'llm_d_epp_average_kv_cache_utilization',
      'Average vllm:kv_cache_usage_perc over the pool.',
      average((endpoint) => endpoint.metrics?.kvCacheUsage),
    );
    new Gauge({
      name: 'switchyard_prefix_index_blocks',
      help: "Blocks the router's prefix index attributes to each endpoint (the precise index: what its KV-cache events report it holds).",
      labelNames: ['model_server_endpoint'],
      registers,
      collect() {
        this.reset();
        const current = new Set((source?.() ?? []).map((e) => e.key));
        for (const { key, indexedBlocks } of options.indexedBlocks?.() ?? []) {
          if (current.has(key)) this.set({ model_server_endpoint: key }, indexedBlocks);
        }
      },
    });
    new Gauge({
      name: 'llm_d_epp_per_endpoint_queue_size',
      help: 'vllm:num_requests_waiting per endpoint.',
      labelNames: ['name', 'model_server_endpoint'],
      registers,
      collect() {
        this.reset();
        for (const endpoint of source?.() ?? []) {
          if (endpoint.metrics !== undefined) {
            this.set({ name, model_server_endpoint: endpoint.key }, endpoint.metrics.waitingRequests);
          }
        }
      },
    });
  }
}
