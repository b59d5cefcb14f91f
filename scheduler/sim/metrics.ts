// The simulator's /metrics: vLLM's metric names and labels (model_name), exposed with prom-client from a
// registry of its own so several simulated replicas can live in one process.

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Engine, SequenceView } from './engine.ts';

// vLLM's bucket boundaries (vllm/v1/metrics/loggers.py).
const TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640,
  2560,
];
const TPOT_BUCKETS = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80,
];
const REQUEST_LATENCY_BUCKETS = [
  0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680,
];

export interface SimMetrics {
  readonly registry: Registry;
  /** Records a finished request (histograms and success counter). */
  observeFinished(sequence: SequenceView, finishReason: 'stop' | 'length' | 'abort'): void;
}

export function createSimMetrics(engine: Engine, modelName: string): SimMetrics {
  const registry = new Registry();
  const labelNames = ['model_name'] as const;
  const labels = { model_name: modelName };
  const { blockSize, numGpuBlocks } = engine.profile;
  const startedAtSeconds = Date.now() / 1000;

  new Gauge({
    name: 'vllm:num_requests_running',
    help: 'Number of requests in model execution batches.',
    labelNames,
    registers: [registry],
    collect() {
      this.set(labels, engine.gauges.runningRequests);
    },
  });
  new Gauge({
    name: 'vllm:num_requests_waiting',
    help: 'Number of requests waiting to be processed.',
    labelNames,
    registers: [registry],
    collect() {
      this.set(labels, engine.gauges.waitingRequests);
    },
  });
  new Gauge({
    name: 'vllm:kv_cache_usage_perc',
    help: 'KV-cache usage. 1 means 100 percent usage.',
    labelNames,
    registers: [registry],
    collect() {
      this.set(labels, engine.gauges.kvCacheUsage);
    },
  });
  const cacheConfig = new Gauge({
    name: 'vllm:cache_config_info',
    help: 'Information of the LLMEngine CacheConfig',
    labelNames: ['block_size', 'num_gpu_blocks', 'enable_prefix_caching'],
    registers: [registry],
  });
  cacheConfig.set(
    { block_size: String(blockSize), num_gpu_blocks: String(numGpuBlocks), enable_prefix_caching: 'True' },
    1,
  );
  // The simulator serves no LoRA adapters: one series with empty adapter lists, valued at the start time.
  const loraInfo = new Gauge({
    name: 'vllm:lora_requests_info',
    help: 'Running stats on lora requests.',
    labelNames: ['max_lora', 'running_lora_adapters', 'waiting_lora_adapters'],
    registers: [registry],
  });
  loraInfo.set({ max_lora: '0', running_lora_adapters: '', waiting_lora_adapters: '' }, startedAtSeconds);

  const counterFromEngine = (name: string, help: string, read: () => number): void => {
    let reported = 0;
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        const value = read();
        this.inc(labels, Math.max(0, value - reported));
        reported = Math.max(reported, value);
      },
    });
  };
  counterFromEngine(
    'vllm:prefix_cache_queries_total',
    'Prefix cache queries, in terms of number of queried tokens.',
    () => engine.counters.prefixCacheQueries,
  );
  counterFromEngine(
    'vllm:prefix_cache_hits_total',
    'Prefix cache hits, in terms of number of cached tokens.',
    () => engine.counters.prefixCacheHits,
  );
  counterFromEngine(
    'vllm:prompt_tokens_total',
    'Number of prefill tokens processed.',
    () => engine.counters.promptTokens,
  );
  counterFromEngine(
    'vllm:generation_tokens_total',
    'Number of generation tokens processed.',
    () => engine.counters.generationTokens,
  );
  counterFromEngine(
    'vllm:num_preemptions_total',
    'Cumulative number of preemption from the engine.',
    () => engine.counters.preemptions,
  );

  const success = new Counter({
    name: 'vllm:request_success_total',
    help: 'Count of successfully processed requests.',
    labelNames: ['model_name', 'finished_reason'],
    registers: [registry],
  });
  const ttft = new Histogram({
    name: 'vllm:time_to_first_token_seconds',
    help: 'Histogram of time to first token in seconds.',
    labelNames,
    buckets: TTFT_BUCKETS,
    registers: [registry],
  });
  const tpot = new Histogram({
    name: 'vllm:time_per_output_token_seconds',
    help: 'Histogram of time per output token in seconds.',
    labelNames,
    buckets: TPOT_BUCKETS,
    registers: [registry],
  });
  // vLLM v1's successor of time_per_output_token; the simulator records each request's mean gap once, where
  // vLLM records every gap, so the counts differ but the quantiles of steady decoding agree.
  const interTokenLatency = new Histogram({
    name: 'vllm:inter_token_latency_seconds',
    help: 'Histogram of inter-token latency in seconds.',
    labelNames,
    buckets: TPOT_BUCKETS,
    registers: [registry],
  });
  const e2e = new Histogram({
    name: 'vllm:e2e_request_latency_seconds',
    help: 'Histogram of e2e request latency in seconds.',
    labelNames,
    buckets: REQUEST_LATENCY_BUCKETS,
    registers: [registry],
  });
  const queueTime = new Histogram({
    name: 'vllm:request_queue_time_seconds',
    help: 'Histogram of time spent in WAITING phase for request.',
    labelNames,
    buckets: REQUEST_LATENCY_BUCKETS,
    registers: [registry],
  });

  for (const histogram of [ttft, tpot, interTokenLatency, e2e, queueTime]) histogram.zero(labels);
  for (const reason of ['stop', 'length', 'abort'])
    success.inc({ model_name: modelName, finished_reason: reason }, 0);

  return {
    registry,
    observeFinished(sequence, finishReason) {
      success.inc({ model_name: modelName, finished_reason: finishReason });
      if (sequence.firstTokenMs >= 0)
        ttft.observe(labels, (sequence.firstTokenMs - sequence.arrivalMs) / 1000);
      if (sequence.firstScheduledMs >= 0) {
        queueTime.observe(labels, (sequence.firstScheduledMs - sequence.arrivalMs) / 1000);
      }
      if (sequence.generatedTokens > 1) {
        const gapSeconds =
          (sequence.finishedMs - sequence.firstTokenMs) / 1000 / (sequence.generatedTokens - 1);
        tpot.observe(labels, gapSeconds);
        interTokenLatency.observe(labels, gapSeconds);
      }
      e2e.observe(labels, (sequence.finishedMs - sequence.arrivalMs) / 1000);
    },
  };
}
