// The router's scoring profile (EndpointPickerConfig shape). The prefix index's block size is vLLM's
// --block-size, so a router block is a vLLM KV block. (vLLM's PYTHONHASHSEED only matters to indexes fed by
// KV-cache events; the approximate index hashes prompts with its own per-model seed.)
import type { EndpointPickerConfig } from './types.ts';

/** llm-d's queue / KV-cache / prefix weights. */
export const weightedProfiles = {
  balanced: { queue: 2, kvCache: 2, prefix: 3 },
  'prefix-affinity': { queue: 1, kvCache: 1, prefix: 5 },
  load: { queue: 3, kvCache: 3, prefix: 1 },
} as const;

export type RouterProfileName = 'switchyard' | keyof typeof weightedProfiles;

export type PrefixCacheMode = 'approximate' | 'precise';

/** Weight of the adapter-affinity scorer in every profile of a model that serves LoRA adapters. */
export const loraAffinityWeight = 2;

/**
 * The switchyard profile (the router's `switchyard` preset, scheduler/core/presets.ts): score = matched prefix
 * fraction + 4 × (1 − in-flight uncached tokens / 4τ), so a fully cached prompt is worth τ in-flight tokens on
 * its endpoint, + the prefill-load score (the wait for the prefill queued ahead of the prompt, with its own)
 * + 8 × the prefix-placement score (a prompt no replica holds any of goes where the fewest prefixes live)
 * + 0.5 × the endpoint-health score (slow or failing replicas score less).
 * The index keeps llm-d's 31,250 entries per endpoint rather than the engine's capacity (sized to the capacity
 * it forgets where prefix groups live under load) and learns from completions' cached tokens.
 */
const SWITCHYARD_LOAD_WEIGHT = 4;

/**
 * Weight of the switchyard profile's prefix-placement score: a prompt that no replica holds any of goes to the
 * replica holding the fewest prefixes, whatever the momentary load says, because its placement decides where
 * every later request with that prefix goes. Only with the approximate index (the precise one's events do not
 * say which blocks begin a prompt).
 */
const SWITCHYARD_PLACEMENT_WEIGHT = 8;

/**
 * Weight of the switchyard profile's endpoint-health score: what the router learns of each replica from its own
 * requests (speed against the pool's for the load the replica carries, and the failed share of recent requests,
 * each failure weighed by the time it cost, with maxErrorRate 2 so a replica failing 20% after a second or more
 * scores 0.9). Equal replicas score alike and it changes nothing among them.
 */
const SWITCHYARD_HEALTH_WEIGHT = 0.5;

/** llm-d calibrates τ as the engine's peak prefill tokens/s × 14 s; the prefill rate follows from τ. */
const TAU_SECONDS = 14;

/**
 * Attention's share of prefill per token of context, as milliseconds per token per context token at the τ
 * llm-d calibrated (286,720: Qwen3-32B on H100 TP2, where it is 1.5e-6 ms at 20,480 tokens/s). Scaled with
 * 1/τ it keeps the same ratio to the linear prefill cost on other hardware.
 */
const ATTENTION_MS_AT_REFERENCE_TAU = 1.5e-6;
const REFERENCE_TAU = 286_720;

/**
 * The switchyard profile binds requests late (the router's `switchyard` preset): while every endpoint has 5
 * requests waiting (its own picks since the last scrape included) the router holds new ones and hands the next
 * to the best endpoint as soon as one has room, by priority, then earliest deadline first: a request may be
 * overtaken for 30 times its cold prefill (at τ / 14 s tokens/s), at most a minute. Held requests give up
 * after 300 s, inference-perf's client timeout.
 */
function lateBinding(affinityTokens: number): NonNullable<EndpointPickerConfig['flowControl']> {
  return {
    maxQueuedRequests: 5000,
    requestTtl: '300s',
    fairness: 'global-strict',
    ordering: {
      type: 'prefill-deadline',
      prefillTokensPerSecond: affinityTokens / TAU_SECONDS,
      slack: 30,
      maxSlack: '60s',
    },
    dispatch: { type: 'endpoint-queue-depth', maxWaitingRequests: 5, metricsStalenessThreshold: '200ms' },
  };
}

/** Scheduling profiles llm-d's disagg-profile-handler runs: decode always, prefill when the decider asks. */
const disaggregatedProfiles = [
  { name: 'decode', filter: 'decode-filter' },
  { name: 'prefill', filter: 'prefill-filter' },
] as const;

interface Scoring {
  readonly scorers: EndpointPickerConfig['plugins'];
  readonly refs: readonly { readonly pluginRef: string; readonly weight: number }[];
}

/**
 * Where the prefix index learns what each replica caches. Approximate: from routing decisions (and, for the
 * switchyard profile, completions' cached-token counts). Precise: vLLM's KV-cache events fill the index (keys
 * recomputed from the events' token ids at vLLM's block size), and a request's token ids come from vLLM's
 * /tokenize, so both sides hash real tokens.
 */
function producersOf(
  prefixCache: PrefixCacheMode,
  blockSize: number,
  learnFromCompletions: boolean,
): EndpointPickerConfig['plugins'] {
  if (prefixCache === 'precise') {
    return [
      { type: 'token-producer', parameters: { backend: 'vllm' } },
      { type: 'precise-prefix-cache-producer', parameters: { blockSizeTokens: blockSize } },
    ];
  }
  return [
    {
      type: 'approx-prefix-cache-producer',
      parameters: {
        blockSizeTokens: blockSize,
        autoTune: false,
        lruCapacityPerServer: 31250,
        ...(learnFromCompletions ? { learnFromCompletions: true } : {}),
      },
    },
  ];
}

function scoringOf(
  profile: RouterProfileName,
  affinityTokens: number,
  prefixCache: PrefixCacheMode,
): Scoring {
  if (profile === 'switchyard') {
    const placement = prefixCache === 'approximate';
    return {
      scorers: [
        { type: 'prefix-cache-scorer' },
        {
          type: 'token-load-scorer',
          parameters: { queueThresholdTokens: SWITCHYARD_LOAD_WEIGHT * affinityTokens },
        },
        {
          type: 'prefill-load-scorer',
          parameters: {
            prefillTokensPerSecond: affinityTokens / TAU_SECONDS,
            prefillAttentionMsPerTokenContext:
              ATTENTION_MS_AT_REFERENCE_TAU * (REFERENCE_TAU / affinityTokens),
            awaitingFirstTokenWeight: 0.5,
          },
        },
        ...(placement ? [{ type: 'prefix-placement-scorer' }] : []),
        { type: 'endpoint-health-scorer', parameters: { maxErrorRate: 2 } },
      ],
      refs: [
        { pluginRef: 'prefix-cache-scorer', weight: 1 },
        { pluginRef: 'token-load-scorer', weight: SWITCHYARD_LOAD_WEIGHT },
        { pluginRef: 'prefill-load-scorer', weight: 1 },
        ...(placement ? [{ pluginRef: 'prefix-placement-scorer', weight: SWITCHYARD_PLACEMENT_WEIGHT }] : []),
        { pluginRef: 'endpoint-health-scorer', weight: SWITCHYARD_HEALTH_WEIGHT },
      ],
    };
  }
  const weights = weightedProfiles[profile];
  return {
    scorers: [
      { type: 'queue-scorer' },
      { type: 'kv-cache-utilization-scorer' },
      { type: 'prefix-cache-scorer' },
    ],
    refs: [
      { pluginRef: 'queue-scorer', weight: weights.queue },
      { pluginRef: 'kv-cache-utilization-scorer', weight: weights.kvCache },
      { pluginRef: 'prefix-cache-scorer', weight: weights.prefix },
    ],
  };
}

export function routerConfig(
  profile: RouterProfileName,
  blockSize: number,
  options: {
    readonly lora: boolean;
    /** The switchyard profile's τ: in-flight uncached tokens a fully cached prompt is worth. */
    readonly affinityTokens?: number;
    /** Where the prefix index learns what each replica caches (default approximate). */
    readonly prefixCache?: PrefixCacheMode;
    /** Endpoints the picker returns: the pick, then fallbacks the gateway walks on a retry. */
    readonly endpoints?: number;
    /** Prefill/decode disaggregation: a prefill pod is picked when this many prompt tokens are uncached. */
    readonly disaggregation?: { readonly minUncachedTokens: number };
  } = { lora: false },
): EndpointPickerConfig {
  const { disaggregation } = options;
  const affinityTokens = options.affinityTokens ?? 286_720;
  const prefixCache = options.prefixCache ?? 'approximate';
  const { scorers, refs } = scoringOf(profile, affinityTokens, prefixCache);
  const producers = producersOf(prefixCache, blockSize, profile === 'switchyard');
  const scoring = [
    ...refs,
    ...(options.lora ? [{ pluginRef: 'lora-affinity-scorer', weight: loraAffinityWeight }] : []),
    { pluginRef: 'max-score-picker' },
  ];
  return {
    apiVersion: 'llm-d.ai/v1alpha1',
    kind: 'EndpointPickerConfig',
    plugins: [
      disaggregation === undefined
        ? { type: 'single-profile-handler' }
        : {
            type: 'disagg-profile-handler',
            parameters: { deciders: { prefill: 'prefix-based-pd-decider' } },
          },
      ...(disaggregation === undefined
        ? []
        : [
            {
              type: 'prefix-based-pd-decider',
              parameters: { nonCachedTokens: disaggregation.minUncachedTokens },
            },
            { type: 'decode-filter' },
            { type: 'prefill-filter' },
          ]),
      ...scorers,
      ...(options.lora ? [{ type: 'lora-affinity-scorer' }] : []),
      ...producers,
      options.endpoints === undefined || options.endpoints === 1
        ? { type: 'max-score-picker' }
        : { type: 'max-score-picker', parameters: { maxNumOfEndpoints: options.endpoints } },
    ],
    schedulingProfiles:
      disaggregation === undefined
        ? [{ name: 'default', plugins: scoring }]
        : disaggregatedProfiles.map(({ name, filter }) => ({
            name,
            plugins: [{ pluginRef: filter }, ...scoring],
          })),
    ...(profile === 'switchyard' ? { flowControl: lateBinding(affinityTokens) } : {}),
  };
}
