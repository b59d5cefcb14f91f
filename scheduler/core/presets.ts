// Named policies: the baselines the routing benchmark compares, llm-d's documented default, and Switchyard's
// own profile.
import type { PluginSpec, ProfilePluginRef, SchedulerConfig } from './types.ts';

export type PolicyName = 'random' | 'round-robin' | 'least-request' | 'llm-d' | 'prefix-only' | 'switchyard';

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

const ref = (pluginRef: string, weight = 1): ProfilePluginRef => ({ pluginRef, weight });

/** llm-d's approximate prefix index: 64-token blocks, LRU sized from the engine's reported KV capacity. */
const llmdPrefixProducer = plugin('approx-prefix-cache-producer', { blockSizeTokens: 64, autoTune: true });

export const policyPresets: Readonly<Record<PolicyName, SchedulerConfig>> = {
  random: config([plugin('random-picker')], [ref('random-picker')]),
  'round-robin': config([plugin('round-robin-picker')], [ref('round-robin-picker')]),
  'least-request': config(
    [plugin('active-request-scorer'), plugin('max-score-picker')],
    [ref('active-request-scorer'), ref('max-score-picker')],
  ),
  // llm-d's default EndpointPickerConfig (queue 2, kv-cache-utilization 2, prefix-cache 3, max-score picker).
  'llm-d': config(
    [
      plugin('queue-scorer'),
      plugin('kv-cache-utilization-scorer'),
      plugin('prefix-cache-scorer'),
      llmdPrefixProducer,
      plugin('max-score-picker'),
    ],
    [
      ref('queue-scorer', 2),
      ref('kv-cache-utilization-scorer', 2),
      ref('prefix-cache-scorer', 3),
      ref('max-score-picker'),
    ],
  ),
  'prefix-only': config(
    [plugin('prefix-cache-scorer'), llmdPrefixProducer, plugin('max-score-picker')],
    [ref('prefix-cache-scorer'), ref('max-score-picker')],
  ),
  // llm-d's mix with its stale load signals replaced: the prefill-load scorer estimates each endpoint's time to
  // first token in prompt tokens (queued prefill from a drain model reconciled with scrapes, where attention
  // makes long prompts cost more than linear, plus this request's uncached tokens, a cache miss charged double
  // for the KV it takes, and each waiting request, which may be waiting for KV memory rather than compute), the
  // prefix score also rewards long absolute matches, KV usage counts the requests picked since the last scrape,
  // and the prefix index corrects itself from cached-token counts.
  switchyard: config(
    [
      plugin('prefill-load-scorer', {
        prefillTokensPerSecond: 15_000,
        prefillAttentionMsPerTokenContext: 1.5e-6,
        uncachedTokenWeight: 2,
        queuedRequestCost: 3000,
        decodeTokenCost: 64,
        smoothingTokens: 256,
      }),
      plugin('prefix-cache-scorer', { matchLengthWeight: 0.5 }),
      plugin('kv-cache-utilization-scorer', { includePicksSinceScrape: true }),
      plugin('approx-prefix-cache-producer', {
        blockSizeTokens: 64,
        autoTune: true,
        learnFromCompletions: true,
      }),
      plugin('max-score-picker'),
    ],
    [
      ref('prefill-load-scorer', 1.5),
      ref('prefix-cache-scorer', 3),
      ref('kv-cache-utilization-scorer', 2),
      ref('max-score-picker'),
    ],
  ),
};

export const POLICY_NAMES = Object.keys(policyPresets) as PolicyName[];
