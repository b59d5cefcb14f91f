// The router's scoring profile (EndpointPickerConfig shape). The prefix index's block size is vLLM's
// --block-size, so a router block is a vLLM KV block. (vLLM's PYTHONHASHSEED only matters to indexes fed by
// KV-cache events; the approximate index hashes prompts with its own per-model seed.)
import type { EndpointPickerConfig } from './types.ts';

export const routerProfiles = {
  balanced: { queue: 2, kvCache: 2, prefix: 3 },
  'prefix-affinity': { queue: 1, kvCache: 1, prefix: 5 },
  load: { queue: 3, kvCache: 3, prefix: 1 },
} as const;

export type RouterProfileName = keyof typeof routerProfiles;

/** Weight of the adapter-affinity scorer in every profile of a model that serves LoRA adapters. */
export const loraAffinityWeight = 2;

/** Scheduling profiles llm-d's disagg-profile-handler runs: decode always, prefill when the decider asks. */
const disaggregatedProfiles = [
  { name: 'decode', filter: 'decode-filter' },
  { name: 'prefill', filter: 'prefill-filter' },
] as const;

export function routerConfig(
  profile: RouterProfileName,
  blockSize: number,
  options: {
    readonly lora: boolean;
    /** Endpoints the picker returns: the pick, then fallbacks the gateway walks on a retry. */
    readonly endpoints?: number;
    /** Prefill/decode disaggregation: a prefill pod is picked when this many prompt tokens are uncached. */
    readonly disaggregation?: { readonly minUncachedTokens: number };
  } = { lora: false },
): EndpointPickerConfig {
  const weights = routerProfiles[profile];
  const { disaggregation } = options;
  const scoring = [
    { pluginRef: 'queue-scorer', weight: weights.queue },
    { pluginRef: 'kv-cache-utilization-scorer', weight: weights.kvCache },
    { pluginRef: 'prefix-cache-scorer', weight: weights.prefix },
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
      { type: 'queue-scorer' },
      { type: 'kv-cache-utilization-scorer' },
      { type: 'prefix-cache-scorer' },
      ...(options.lora ? [{ type: 'lora-affinity-scorer' }] : []),
      {
        type: 'approx-prefix-cache-producer',
        parameters: { blockSizeTokens: blockSize, autoTune: false, lruCapacityPerServer: 31250 },
      },
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
  };
}
