// Named policies: the baselines the routing benchmark compares, llm-d's documented default, and Switchyard's
// own profile.
import type { PluginSpec, ProfilePluginRef, SchedulerConfig } from './types.ts';

export type PolicyName =
  | 'random'
  | 'round-robin'
  | 'least-request'
  | 'llm-d'
  | 'llm-d-queue-kv-prefix'
  | 'llm-d-precise'
  | 'gie-v1-approximate'
  | 'prefix-only'
  | 'switchyard'
  | 'switchyard-eager';

function plugin(type: string, parameters: Record<string, unknown> = {}): PluginSpec {
  return { type, name: type, parameters };
}

function config(plugins: readonly PluginSpec[], refs: readonly ProfilePluginRef[]): SchedulerConfig {
  return {
    apiVersion: 'llm-d.ai/v1alpha1',
    kind: 'EndpointPickerConfig',
    plugins,
    schedulingProfiles: [{ name: 'default', plugins: refs }],
  };
}

/** `base` with one more plugin that no profile references (a data producer). */
const withPlugin = (base: SchedulerConfig, extra: PluginSpec): SchedulerConfig => ({
  ...base,
  plugins: [...base.plugins, extra],
});

const ref = (pluginRef: string, weight = 1): ProfilePluginRef => ({ pluginRef, weight });

/**
 * llm-d's approximate prefix index as shipped: 64-token blocks (the minimum it allows), an LRU of 31,250
 * entries per server (its default, sized for Llama-3-8B on an H100: 4× the 64-token blocks a Qwen3-32B TP2
 * replica really holds, so the index keeps believing in evicted prefixes), prompts matched up to the model's
 * context length.
 */
const llmdPrefixProducer = plugin('approx-prefix-cache-producer', {
  blockSizeTokens: 64,
  maxPrefixTokensToMatch: 131_072,
  lruCapacityPerServer: 31_250,
  autoTune: false,
});

const queueKvPrefix = (prefixProducer: PluginSpec, weights: readonly [number, number, number]) =>
  config(
    [
      plugin('queue-scorer'),
      plugin('kv-cache-utilization-scorer'),
      plugin('prefix-cache-scorer'),
      prefixProducer,
      plugin('max-score-picker'),
    ],
    [
      ref('queue-scorer', weights[0]),
      ref('kv-cache-utilization-scorer', weights[1]),
      ref('prefix-cache-scorer', weights[2]),
      ref('max-score-picker'),
    ],
  );

/** llm-d's τ for Qwen3-32B on H100 TP2: the engine's peak prefill throughput (20,480 tokens/s) × 14 s. */
const TAU_TOKENS = 286_720;

/**
 * Switchyard's scorers over its approximate index (its presets share them): prefix affinity, in-flight
 * uncached tokens against 4τ, the estimated wait for prefill (prefill-load-scorer at τ / 14 s tokens/s, with
 * attention over the context, and half the work still awaiting its first token), for a prompt no endpoint
 * holds any of, placement where the fewest prefixes live (weight 8: it outweighs the momentary load, since the
 * placement decides where the prefix's later requests go), and what the router learns of each endpoint
 * (endpoint-health-scorer, weight 0.5): speed from time to first token and from time per output token against
 * the pool's decode pace, and the failed share of recent requests, each failure weighed by the time it cost
 * (maxErrorRate 2: a replica failing 20% after a second or more scores 0.9).
 */
const switchyardScoring: readonly PluginSpec[] = [
  plugin('prefix-cache-scorer'),
  plugin('token-load-scorer', { queueThresholdTokens: 4 * TAU_TOKENS }),
  plugin('prefill-load-scorer', {
    prefillTokensPerSecond: TAU_TOKENS / 14,
    prefillAttentionMsPerTokenContext: 1.5e-6,
    awaitingFirstTokenWeight: 0.5,
  }),
  plugin('prefix-placement-scorer'),
  plugin('endpoint-health-scorer', { maxErrorRate: 2 }),
  plugin('approx-prefix-cache-producer', {
    blockSizeTokens: 64,
    lruCapacityPerServer: 31_250,
    autoTune: false,
    learnFromCompletions: true,
  }),
];

const switchyardRefs: readonly ProfilePluginRef[] = [
  ref('prefix-cache-scorer', 1),
  ref('token-load-scorer', 4),
  ref('prefill-load-scorer', 1),
  ref('prefix-placement-scorer', 8),
  ref('endpoint-health-scorer', 0.5),
];

/**
 * `base` binding requests late: the router holds arrivals while every endpoint has 5 requests waiting
 * (scraped, plus its own picks since the scrape) and hands the next one to the best endpoint as soon as one
 * has room. Held requests leave by priority band, then earliest deadline first: a request may be overtaken for
 * 30 times its cold prefill at τ / 14 s tokens/s, at most a minute, so short prompts are not stuck behind long
 * prefills. Sheddable requests (priority < 0) are still answered 429 at dispatch while the saturation detector
 * (llm-d's defaults) reports the pool saturated. Held requests give up after 300 s, inference-perf's timeout.
 */
const withLateBinding = (base: SchedulerConfig): SchedulerConfig => ({
  ...base,
  flowControl: {
    maxQueuedRequests: 5000,
    requestTtlMs: 300_000,
    fairness: 'global-strict',
    ordering: {
      type: 'prefill-deadline',
      prefillTokensPerSecond: TAU_TOKENS / 14,
      slack: 30,
      maxSlackMs: 60_000,
    },
    dispatch: { type: 'endpoint-queue-depth', maxWaitingRequests: 5, metricsStalenessMs: 200 },
  },
});

export const policyPresets: Readonly<Record<PolicyName, SchedulerConfig>> = {
  random: config([plugin('random-picker')], [ref('random-picker')]),
  'round-robin': config([plugin('round-robin-picker')], [ref('round-robin-picker')]),
  'least-request': config(
    [plugin('active-request-scorer'), plugin('max-score-picker')],
    [ref('active-request-scorer'), ref('max-score-picker')],
  ),
  // llm-d v1.0's default (guides/optimized-baseline/router/optimized-baseline.values.yaml): "sticky until
  // saturated". Candidates holding ≥ 80% of the prompt's blocks are kept unless the least loaded of them has
  // more than τ = 286,720 in-flight tokens above the least loaded endpoint (τ calibrated for Qwen3-32B on H100
  // TP2); the token-load scorer then takes the endpoint with the fewest in-flight uncached tokens.
  'llm-d': config(
    [
      plugin('prefix-cache-affinity-filter', { affinityThreshold: 0.8, maxTokensInFlightPenalty: 286_720 }),
      plugin('token-load-scorer'),
      plugin('inflight-load-producer'),
      llmdPrefixProducer,
      plugin('max-score-picker'),
    ],
    [ref('prefix-cache-affinity-filter'), ref('token-load-scorer'), ref('max-score-picker')],
  ),
  // llm-d's earlier default and inference-scheduling guide: queue 2, kv-cache-utilization 2, prefix-cache 3.
  'llm-d-queue-kv-prefix': queueKvPrefix(llmdPrefixProducer, [2, 2, 3]),
  // llm-d's precise arm of the 73-capacity report: the same mix over the true cache state, as the engines'
  // KV-cache events report it (prefix 3, kv 2, queue 2), keyed at the engine's block size. In the router the
  // events come over ZMQ (--kv-events-port) and prompts are tokenized by a model server (token-producer
  // backend vllm), as llm-d's precise guide configures it; the virtual-time simulator feeds both in process.
  'llm-d-precise': withPlugin(
    queueKvPrefix(plugin('precise-prefix-cache-producer', { blockSizeTokens: 16, hashSeed: 0 }), [2, 2, 3]),
    plugin('token-producer', { backend: 'vllm' }),
  ),
  // The published approximate arm (GIE v1.x): weights 1/1/1, 16-token blocks (GIE hashed 64-character
  // blocks, about 16 tokens), at most 256 blocks matched, an LRU of 31,250 blocks per server.
  'gie-v1-approximate': queueKvPrefix(
    plugin('approx-prefix-cache-producer', {
      blockSizeTokens: 16,
      maxPrefixBlocksToMatch: 256,
      lruCapacityPerServer: 31_250,
      autoTune: false,
    }),
    [1, 1, 1],
  ),
  'prefix-only': config(
    [plugin('prefix-cache-scorer'), llmdPrefixProducer, plugin('max-score-picker')],
    [ref('prefix-cache-scorer'), ref('max-score-picker')],
  ),
  // Prefix affinity traded against load at llm-d's τ: score = matched fraction + 4 × (1 − in-flight uncached
  // tokens / 4τ), so a prompt fully cached on an endpoint is worth τ = 286,720 in-flight tokens there and a
  // partial match proportionally less (llm-d's filter is all-or-nothing at 80%). The in-flight tokens are
  // counted locally at each pick, so a burst between two scrapes does not herd. The index keeps llm-d's
  // 31,250 entries per endpoint, which remembers where each prefix group lives (sized to the true capacity it
  // forgets homes under load and scatters groups), holds a running request's blocks until it completes, and
  // corrects its capacity from the cached-token counts completions report. The prefill-load scorer adds the
  // wait a prompt would have for the prefill queued ahead of it, with its own prefill (attention over the
  // context included): it moves long prompts off replicas already busy prefilling (Mooncake), and since it
  // also counts half the work whose first token has not come back, it sees a replica slower than the model.
  // Requests bind late (withLateBinding): when every replica has a queue the router holds the rest and hands
  // each to the first replica with room, short prompts first within a bounded slack. The health scorer moves
  // work off a replica slower than the pool for the load it carries, or failing requests.
  switchyard: withLateBinding(
    config([...switchyardScoring, plugin('max-score-picker')], [...switchyardRefs, ref('max-score-picker')]),
  ),
  // switchyard's scoring with every request picked on arrival (no flowControl section): what switchyard was
  // before it bound late, for comparison.
  'switchyard-eager': config(
    [...switchyardScoring, plugin('max-score-picker')],
    [...switchyardRefs, ref('max-score-picker')],
  ),
};

export const POLICY_NAMES = Object.keys(policyPresets) as PolicyName[];
