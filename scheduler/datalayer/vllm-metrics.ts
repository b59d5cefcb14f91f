// Maps vLLM's /metrics series to the router's EndpointMetrics (names as in llm-d's core metrics extractor).
import type { EndpointMetrics } from '../core/types.ts';
import { parsePrometheusText, type Sample } from './prometheus-text.ts';

export const VLLM_METRIC_NAMES = {
  waiting: 'vllm:num_requests_waiting',
  running: 'vllm:num_requests_running',
  kvCacheUsage: 'vllm:kv_cache_usage_perc',
  /** Name used by vLLM before 0.10. */
  legacyKvCacheUsage: 'vllm:gpu_cache_usage_perc',
  loraInfo: 'vllm:lora_requests_info',
  cacheConfig: 'vllm:cache_config_info',
} as const;

/** The series the router reads; everything else in a /metrics body is skipped unparsed. */
export const WANTED_VLLM_SERIES: ReadonlySet<string> = new Set<string>(Object.values(VLLM_METRIC_NAMES));

export class MetricsExtractError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetricsExtractError';
  }
}

function sumOf(samples: readonly Sample[], name: string): number | undefined {
  let total: number | undefined;
  for (const s of samples) {
    if (s.name === name) {
      total = (total ?? 0) + s.value;
    }
  }
  return total;
}

function maxOf(samples: readonly Sample[], name: string): number | undefined {
  let max: number | undefined;
  for (const s of samples) {
    if (s.name === name && (max === undefined || s.value > max)) {
      max = s.value;
    }
  }
  return max;
}

function splitAdapters(list: string | undefined): string[] {
  if (list === undefined || list.length === 0) {
    return [];
  }
  return list
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a.length > 0);
}

function positiveInteger(text: string | undefined): number | undefined {
  if (text === undefined) {
    return undefined;
  }
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** Extracts EndpointMetrics from parsed samples. Throws MetricsExtractError naming the missing series. */
export function extractVllmMetrics(samples: readonly Sample[], scrapedAtMs: number): EndpointMetrics {
  const waiting = sumOf(samples, VLLM_METRIC_NAMES.waiting);
  const running = sumOf(samples, VLLM_METRIC_NAMES.running);
  const kv =
    maxOf(samples, VLLM_METRIC_NAMES.kvCacheUsage) ?? maxOf(samples, VLLM_METRIC_NAMES.legacyKvCacheUsage);
  const missing: string[] = [];
  if (waiting === undefined) {
    missing.push(VLLM_METRIC_NAMES.waiting);
  }
  if (running === undefined) {
    missing.push(VLLM_METRIC_NAMES.running);
  }
  if (kv === undefined) {
    missing.push(VLLM_METRIC_NAMES.kvCacheUsage);
  }
  if (waiting === undefined || running === undefined || kv === undefined) {
    throw new MetricsExtractError(`vLLM metrics missing: ${missing.join(', ')}`);
  }

  // vLLM emits one lora_requests_info series per change, valued with its creation time; the newest one is current.
  let lora: Sample | undefined;
  for (const s of samples) {
    if (s.name === VLLM_METRIC_NAMES.loraInfo && (lora === undefined || s.value >= lora.value)) {
      lora = s;
    }
  }
  const cacheConfig = samples.find((s) => s.name === VLLM_METRIC_NAMES.cacheConfig);
  const capacityBlocks = positiveInteger(cacheConfig?.labels['num_gpu_blocks']);
  const blockSize = positiveInteger(cacheConfig?.labels['block_size']);

  return {
    waitingRequests: Math.max(0, waiting),
    runningRequests: Math.max(0, running),
    kvCacheUsage: Math.min(1, Math.max(0, Number.isFinite(kv) ? kv : 0)),
    ...(capacityBlocks !== undefined ? { kvCacheCapacityBlocks: capacityBlocks } : {}),
    ...(blockSize !== undefined ? { kvBlockSize: blockSize } : {}),
    activeLoras: splitAdapters(lora?.labels['running_lora_adapters']),
    waitingLoras: splitAdapters(lora?.labels['waiting_lora_adapters']),
    maxLoras: positiveInteger(lora?.labels['max_lora']) ?? 0,
    scrapedAtMs,
  };
}

/** Parses a vLLM /metrics document into EndpointMetrics. */
export function parseVllmMetrics(text: string, scrapedAtMs: number): EndpointMetrics {
  return extractVllmMetrics(parsePrometheusText(text, WANTED_VLLM_SERIES), scrapedAtMs);
}
