// approx-prefix-cache-producer and precise-prefix-cache-producer: settings of the prefix index.
import type { PluginSpec } from '../types.ts';
import { paramReader } from './params.ts';
import type { PrefixProducerPlugin } from './plugin.ts';

export const DEFAULT_PREFIX_PRODUCER: PluginSpec = {
  type: 'approx-prefix-cache-producer',
  name: 'approx-prefix-cache-producer',
  parameters: {},
};

/**
 * approx-prefix-cache-producer (`precise` false) or precise-prefix-cache-producer (`precise` true: the
 * endpoints' KV-cache events feed the index; `blockSizeTokens` must be the engine's block size and `hashSeed`
 * its hash seed, vLLM's PYTHONHASHSEED, or no block will match).
 */
function prefixProducer(spec: PluginSpec, precise: boolean): PrefixProducerPlugin {
  const params = paramReader(spec.name, spec.parameters);
  // llm-d clamps the approximate index's block size to at least 64 tokens to bound its memory.
  const blockSizeTokens = params.number('blockSizeTokens', precise ? 16 : 64, {
    min: precise ? 1 : 16,
    max: 4096,
    integer: true,
  });
  const maxTokens = params.number('maxPrefixTokensToMatch', 131_072, { min: 1, integer: true });
  const maxBlocks = Math.ceil(maxTokens / blockSizeTokens);
  return {
    kind: 'prefix-producer',
    type: spec.type,
    name: spec.name,
    blockSizeTokens,
    maxPrefixBlocksToMatch: precise
      ? maxBlocks
      : params.number('maxPrefixBlocksToMatch', maxBlocks, { min: 1, integer: true }),
    lruCapacityPerServer: precise
      ? 0
      : params.number('lruCapacityPerServer', 31_250, { min: 1, integer: true }),
    autoTune: !precise && params.boolean('autoTune', true),
    learnFromCompletions: !precise && params.boolean('learnFromCompletions', false),
    precise,
    hashSeed: precise ? params.number('hashSeed', 0, { min: 0, integer: true }) : 0,
  };
}

export const approxPrefixProducer = (spec: PluginSpec): PrefixProducerPlugin => prefixProducer(spec, false);
export const precisePrefixProducer = (spec: PluginSpec): PrefixProducerPlugin => prefixProducer(spec, true);
