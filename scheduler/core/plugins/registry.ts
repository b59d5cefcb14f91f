// Plugin types the scheduler knows, by their EndpointPickerConfig `type` name.
import type { PluginSpec } from '../types.ts';
import { alwaysDisaggPdDecider, disaggProfileHandler, prefixBasedPdDecider } from './disagg.ts';
import { labelSelectorFilter, roleFilter } from './filters.ts';
import { PluginConfigError } from './params.ts';
import { maxScorePicker, randomPicker, roundRobinPicker, weightedRandomPicker } from './pickers.ts';
import type { Plugin } from './plugin.ts';
import { prefixCacheAffinityFilter } from './affinity-filter.ts';
import { endpointHealthScorer } from './endpoint-health.ts';
import { prefixPlacementScorer } from './prefix-placement.ts';
import { approxPrefixProducer, precisePrefixProducer } from './prefix-producer.ts';
import { utilizationDetector } from './saturation.ts';
import { tokenProducer } from './token-producer.ts';
import {
  activeRequestScorer,
  kvCacheUtilizationScorer,
  loadAwareScorer,
  loraAffinityScorer,
  prefillLoadScorer,
  prefixCacheScorer,
  queueScorer,
  runningRequestsScorer,
  sessionAffinityScorer,
  tokenLoadScorer,
} from './scorers.ts';

const factories: Readonly<Record<string, (spec: PluginSpec) => Plugin>> = {
  'queue-scorer': queueScorer,
  'kv-cache-utilization-scorer': kvCacheUtilizationScorer,
  'running-requests-size-scorer': runningRequestsScorer,
  'load-aware-scorer': loadAwareScorer,
  'active-request-scorer': activeRequestScorer,
  'token-load-scorer': tokenLoadScorer,
  'prefix-cache-scorer': prefixCacheScorer,
  'lora-affinity-scorer': loraAffinityScorer,
  'session-affinity-scorer': sessionAffinityScorer,
  'prefill-load-scorer': prefillLoadScorer,
  'prefix-placement-scorer': prefixPlacementScorer,
  'endpoint-health-scorer': endpointHealthScorer,
  'decode-filter': (spec) => roleFilter(spec, 'decode'),
  'prefill-filter': (spec) => roleFilter(spec, 'prefill'),
  'label-selector-filter': labelSelectorFilter,
  'max-score-picker': maxScorePicker,
  'random-picker': randomPicker,
  'weighted-random-picker': weightedRandomPicker,
  'round-robin-picker': roundRobinPicker,
  'prefix-cache-affinity-filter': prefixCacheAffinityFilter,
  'approx-prefix-cache-producer': approxPrefixProducer,
  'precise-prefix-cache-producer': precisePrefixProducer,
  'token-producer': tokenProducer,
  'utilization-detector': utilizationDetector,
  'disagg-profile-handler': disaggProfileHandler,
  'prefix-based-pd-decider': prefixBasedPdDecider,
  'always-disagg-pd-decider': alwaysDisaggPdDecider,
};

/**
 * Plugin types that configs may name but that need nothing from the core: the data layer's business, or what
 * the core always does (`inflight-load-producer`: the scheduler keeps in-flight requests and their uncached
 * prompt tokens per endpoint whatever the config says; `disagg-headers-handler`: both faces set or strip
 * x-prefiller-host-port on every request).
 */
export const DATA_LAYER_PLUGIN_TYPES: readonly string[] = [
  'metrics-data-source',
  'core-metrics-extractor',
  'single-profile-handler',
  'inflight-load-producer',
  'disagg-headers-handler',
];

export const PLUGIN_TYPES: readonly string[] = [...Object.keys(factories), ...DATA_LAYER_PLUGIN_TYPES];

export function createPlugin(spec: PluginSpec): Plugin | undefined {
  if (DATA_LAYER_PLUGIN_TYPES.includes(spec.type)) return undefined;
  const factory = factories[spec.type];
  if (factory === undefined) {
    throw new PluginConfigError(
      `plugin "${spec.name}": unknown type "${spec.type}"; expected one of ${PLUGIN_TYPES.join(', ')}`,
    );
  }
  return factory(spec);
}
