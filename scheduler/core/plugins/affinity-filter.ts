// prefix-cache-affinity-filter (llm-d v1.0, "sticky until saturated"): keep the candidates whose indexed prefix
// covers at least `affinityThreshold` of the prompt's blocks, unless holding on to them costs too much load:
// when the least loaded of those sticky endpoints carries more than `maxTokensInFlightPenalty` in-flight
// tokens above the least loaded candidate overall (or, with `maxTTFTPenaltyMs`, more than that much estimated
// time to first token at `peakPrefillThroughput`), every candidate is kept. With probability
// `explorationProbability` the filter keeps everybody. No sticky endpoint, one candidate, or a threshold of 0:
// everybody is kept. In-flight tokens are what llm-d's inflight-load-producer counts: the uncached prompt
// tokens of requests sent to the endpoint and not finished.
import type { PluginSpec } from '../types.ts';
import { paramReader } from './params.ts';
import type { ContextFilterPlugin, PickContext } from './plugin.ts';

function all(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

function leastTokens(context: PickContext, indices: readonly number[]): number {
  let least = Number.POSITIVE_INFINITY;
  for (const i of indices) least = Math.min(least, context.states[i]?.inFlightUncachedTokens ?? 0);
  return least;
}

export function prefixCacheAffinityFilter(spec: PluginSpec): ContextFilterPlugin {
  const params = paramReader(spec.name, spec.parameters);
  const threshold = params.number('affinityThreshold', 0.8, { min: 0, max: 1 });
  const exploration = params.number('explorationProbability', 0, { min: 0, max: 1 });
  const tokenPenalty = params.number('maxTokensInFlightPenalty', 0, { min: 0 });
  const ttftPenaltyMs = params.number('maxTTFTPenaltyMs', 0, { min: 0, duration: true });
  const peakPrefill = params.number('peakPrefillThroughput', 15_928, { min: 1 });
  return {
    kind: 'context-filter',
    type: spec.type,
    name: spec.name,
    usesPrefix: true,
    keep(context, random) {
      const count = context.candidates.length;
      const prefix = context.prefix();
      const total = prefix?.hashes.length ?? 0;
      if (count <= 1 || threshold <= 0 || prefix === undefined || total === 0) return all(count);
      const sticky: number[] = [];
      for (let i = 0; i < count; i++) if ((prefix.matchedBlocks[i] ?? 0) / total >= threshold) sticky.push(i);
      if (sticky.length === 0 || sticky.length === count) return all(count);
      if (exploration > 0 && random() < exploration) return all(count);
      const excess = leastTokens(context, sticky) - leastTokens(context, all(count));
      if (tokenPenalty > 0 && excess > tokenPenalty) return all(count);
      if (ttftPenaltyMs > 0 && (excess / peakPrefill) * 1000 > ttftPenaltyMs) return all(count);
      return sticky;
    },
  };
}
