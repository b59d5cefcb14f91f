// approx-prefix-cache-producer and precise-prefix-cache-producer: settings of the prefix index.
import type { PluginSpec } from '../types.ts';
import { paramReader } from './params.ts';
import type { PrefixProducerPlugin } from './plugin.ts';

export const DEFAULT_PREFIX_PRODUCER: PluginSpec = {
  type: 'approx-prefix-cache-producer',
  name: 'approx-prefix-cache-producer',
  parameters: {},
};

export function approxPrefixProducer(spec: PluginSpec): PrefixProducerPlugin {
  const params = paramReader(spec.name, spec.parameters);
  // llm-d clamps the block size to at least 64 tokens to bound the index's memory.
  const blockSizeTokens = params.number('blockSizeTokens', 64, { min: 16, max: 4096, integer: true });
  const maxTokens = params.number('maxPrefixTokensToMatch', 131_072, { min: 1, integer: true });
  return {
    kind: 'prefix-producer',
    type: spec.type,
    name: spec.name,
    blockSizeTokens,
    maxPrefixBlocksToMatch: params.number('maxPrefixBlocksToMatch', Math.ceil(maxTokens / blockSizeTokens), {
      min: 1,
      integer: true,
    }),
    lruCapacityPerServer: params.number('lruCapacityPerServer', 31_250, { min: 1, integer: true }),
    autoTune: params.boolean('autoTune', true),
    learnFromCompletions: params.boolean('learnFromCompletions', false),
    precise: false,
    hashSeed: 0,
  };
}

/**
 * precise-prefix-cache-producer: the endpoints' KV-cache events feed the index. `blockSizeTokens` must be the
 * engine's block size and `hashSeed` its hash seed (vLLM's PYTHONHASHSEED), or no block will match.
 */
export function precisePrefixProducer(spec: PluginSpec): PrefixProducerPlugin {
  const params = paramReader(spec.name, spec.parameters);
  const blockSizeTokens = params.number('blockSizeTokens', 16, { min: 1, max: 4096, integer: true });
  const maxTokens = params.number('maxPrefixTokensToMatch', 131_072, { min: 1, integer: true });
  return {
    kind: 'prefix-producer',
    type: spec.type,
    name: spec.name,
    blockSizeTokens,
    maxPrefixBlocksToMatch: Math.ceil(maxTokens / blockSizeTokens),
    lruCapacityPerServer: 0,
    autoTune: false,
    learnFromCompletions: false,
    precise: true,
    hashSeed: params.number('hashSeed', 0, { min: 0, integer: true }),
  };
}
