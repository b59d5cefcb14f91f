// Turns a SchedulerConfig into the plugin instances of its (single) scheduling profile.
import { PluginConfigError } from './plugins/params.ts';
import type {
  ContextFilterPlugin,
  FilterPlugin,
  PickerPlugin,
  PrefixProducerPlugin,
  SaturationDetectorPlugin,
  ScorerPlugin,
} from './plugins/plugin.ts';
import { maxScorePicker } from './plugins/pickers.ts';
import { approxPrefixProducer, DEFAULT_PREFIX_PRODUCER } from './plugins/prefix-producer.ts';
import { createPlugin } from './plugins/registry.ts';
import { utilizationDetector } from './plugins/saturation.ts';
import type { SchedulerConfig } from './types.ts';

export interface WeightedScorer {
  readonly scorer: ScorerPlugin;
  readonly weight: number;
}

export interface SchedulingPlan {
  /** Filters in profile order; the saturation detector appears here when the profile references it. */
  readonly filters: readonly (FilterPlugin | SaturationDetectorPlugin)[];
  /** Filters that read the pick context, in profile order, run after `filters`. */
  readonly contextFilters: readonly ContextFilterPlugin[];
  readonly scorers: readonly WeightedScorer[];
  readonly picker: PickerPlugin;
  /** Present when some scorer reads the prefix index. */
  readonly prefix: PrefixProducerPlugin | undefined;
  readonly detector: SaturationDetectorPlugin;
}

export function buildPlan(config: SchedulerConfig): SchedulingPlan {
  if (config.schedulingProfiles.length !== 1) {
    throw new PluginConfigError(
      `schedulingProfiles must hold exactly one profile (got ${config.schedulingProfiles.length}); ` +
        'disaggregated prefill/decode profiles are not supported',
    );
  }
  const [profile] = config.schedulingProfiles;
  if (profile === undefined) throw new PluginConfigError('schedulingProfiles is empty');
  const plugins = new Map<string, ReturnType<typeof createPlugin>>();
  for (const spec of config.plugins) {
    if (plugins.has(spec.name)) throw new PluginConfigError(`plugin name "${spec.name}" is used twice`);
    plugins.set(spec.name, createPlugin(spec));
  }
  const filters: (FilterPlugin | SaturationDetectorPlugin)[] = [];
  const contextFilters: ContextFilterPlugin[] = [];
  const scorers: WeightedScorer[] = [];
  let picker: PickerPlugin | undefined;
  for (const ref of profile.plugins) {
    if (!plugins.has(ref.pluginRef)) {
      throw new PluginConfigError(
        `schedulingProfiles "${profile.name}": pluginRef "${ref.pluginRef}" names no plugin in plugins`,
      );
    }
    const plugin = plugins.get(ref.pluginRef);
    if (plugin === undefined) continue;
    if (plugin.kind === 'scorer') {
      if (!(ref.weight >= 0) || !Number.isFinite(ref.weight)) {
        throw new PluginConfigError(`pluginRef "${ref.pluginRef}": weight must be a finite number ≥ 0`);
      }
      scorers.push({ scorer: plugin, weight: ref.weight });
    } else if (plugin.kind === 'filter' || plugin.kind === 'saturation-detector') filters.push(plugin);
    else if (plugin.kind === 'context-filter') contextFilters.push(plugin);
    else if (plugin.kind === 'picker') {
      if (picker !== undefined) {
        throw new PluginConfigError(`schedulingProfiles "${profile.name}": more than one picker`);
      }
      picker = plugin;
    }
  }
  const all = [...plugins.values()];
  const producer = all.find((p): p is PrefixProducerPlugin => p?.kind === 'prefix-producer');
  const detector = all.find((p): p is SaturationDetectorPlugin => p?.kind === 'saturation-detector');
  const usesPrefix = scorers.some((s) => s.scorer.usesPrefix) || contextFilters.some((f) => f.usesPrefix);
  return {
    filters,
    contextFilters,
    scorers,
    picker: picker ?? maxScorePicker({ type: 'max-score-picker', name: 'max-score-picker', parameters: {} }),
    prefix: usesPrefix ? (producer ?? approxPrefixProducer(DEFAULT_PREFIX_PRODUCER)) : undefined,
    detector:
      detector ??
      utilizationDetector({ type: 'utilization-detector', name: 'utilization-detector', parameters: {} }),
  };
}
