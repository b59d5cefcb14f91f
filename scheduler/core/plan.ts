// Turns a SchedulerConfig into plugin instances: its scheduling profile, or with a disagg-profile-handler its
// decode and prefill profiles, plus the prefix index settings and the saturation detector.
import { DECIDER_TYPES } from './plugins/disagg.ts';
import { PluginConfigError } from './plugins/params.ts';
import type {
  ContextFilterPlugin,
  FilterPlugin,
  PdDeciderPlugin,
  PickerPlugin,
  Plugin,
  PrefixProducerPlugin,
  ProfileHandlerPlugin,
  SaturationDetectorPlugin,
  ScorerPlugin,
  TokenProducerPlugin,
} from './plugins/plugin.ts';
import { maxScorePicker } from './plugins/pickers.ts';
import { approxPrefixProducer, DEFAULT_PREFIX_PRODUCER } from './plugins/prefix-producer.ts';
import { createPlugin } from './plugins/registry.ts';
import { utilizationDetector } from './plugins/saturation.ts';
import type { SchedulerConfig, SchedulingProfile } from './types.ts';

export interface WeightedScorer {
  readonly scorer: ScorerPlugin;
  readonly weight: number;
}

/** One scheduling profile: filters → context filters → weighted scorers → picker. */
export interface ProfilePlan {
  readonly name: string;
  /** Filters in profile order; the saturation detector appears here when the profile references it. */
  readonly filters: readonly (FilterPlugin | SaturationDetectorPlugin)[];
  /** Filters that read the pick context, in profile order, run after `filters`. */
  readonly contextFilters: readonly ContextFilterPlugin[];
  readonly scorers: readonly WeightedScorer[];
  readonly picker: PickerPlugin;
}

/** What a disagg-profile-handler adds to the decode profile. */
export interface DisaggPlan {
  /** Both undefined without a prefill profile or without a decider: every request is decode-only. */
  readonly prefill: ProfilePlan | undefined;
  readonly decider: PdDeciderPlugin | undefined;
}

/** The single profile (or the decode profile), and what the scheduler needs besides. */
export interface SchedulingPlan extends ProfilePlan {
  /** Present when some scorer, context filter or decider reads the prefix index. */
  readonly prefix: PrefixProducerPlugin | undefined;
  readonly detector: SaturationDetectorPlugin;
  /** The config's token-producer, when it has one (the estimate otherwise). */
  readonly tokens: TokenProducerPlugin | undefined;
  /** Present when the config has a disagg-profile-handler. */
  readonly disagg: DisaggPlan | undefined;
}

const HANDLER_TYPES = new Set(['single-profile-handler', 'disagg-profile-handler']);

function profilePlan(
  profile: SchedulingProfile,
  plugins: ReadonlyMap<string, Plugin | undefined>,
): ProfilePlan {
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
  return {
    name: profile.name,
    filters,
    contextFilters,
    scorers,
    picker: picker ?? maxScorePicker({ type: 'max-score-picker', name: 'max-score-picker', parameters: {} }),
  };
}

/** The decode profile, and the prefill profile and decider when both are configured. */
function disaggProfiles(
  config: SchedulerConfig,
  plugins: ReadonlyMap<string, Plugin | undefined>,
  handler: ProfileHandlerPlugin,
  handlerAt: number,
): { decode: ProfilePlan; disagg: DisaggPlan } {
  const profiles = config.schedulingProfiles;
  const roles = [handler.decodeProfile, handler.prefillProfile];
  profiles.forEach((profile, i) => {
    if (!roles.includes(profile.name)) {
      throw new PluginConfigError(
        `schedulingProfiles "${profile.name}" is neither the decode profile "${handler.decodeProfile}" nor ` +
          `the prefill profile "${handler.prefillProfile}" of disagg-profile-handler "${handler.name}"`,
        ['schedulingProfiles', i, 'name'],
      );
    }
    if (profiles.findIndex((p) => p.name === profile.name) !== i) {
      throw new PluginConfigError(`schedulingProfiles "${profile.name}" is defined twice`, [
        'schedulingProfiles',
        i,
        'name',
      ]);
    }
  });
  const decode = profiles.find((p) => p.name === handler.decodeProfile);
  if (decode === undefined) {
    throw new PluginConfigError(
      `disagg-profile-handler "${handler.name}" needs a scheduling profile named "${handler.decodeProfile}" ` +
        `(its decode profile); got ${profiles.map((p) => `"${p.name}"`).join(', ')}`,
      ['schedulingProfiles'],
    );
  }
  let decider: PdDeciderPlugin | undefined;
  const deciderName = handler.prefillDecider;
  if (deciderName !== undefined) {
    const path = ['plugins', handlerAt, 'parameters', 'deciders', 'prefill'];
    const spec = config.plugins.find((p) => p.name === deciderName);
    if (spec === undefined) {
      throw new PluginConfigError(`"${deciderName}" names no plugin in plugins`, path);
    }
    const plugin = plugins.get(deciderName);
    if (plugin?.kind !== 'pd-decider') {
      throw new PluginConfigError(
        `"${deciderName}" is a ${spec.type}, not a prefill decider (expected a plugin of type ` +
          `${DECIDER_TYPES.join(' or ')})`,
        path,
      );
    }
    decider = plugin;
  }
  const prefillProfile = profiles.find((p) => p.name === handler.prefillProfile);
  const prefill = prefillProfile === undefined ? undefined : profilePlan(prefillProfile, plugins);
  return {
    decode: profilePlan(decode, plugins),
    disagg:
      prefill === undefined || decider === undefined
        ? { prefill: undefined, decider: undefined }
        : { prefill, decider },
  };
}

export function buildPlan(config: SchedulerConfig): SchedulingPlan {
  const plugins = new Map<string, Plugin | undefined>();
  for (const spec of config.plugins) {
    if (plugins.has(spec.name)) throw new PluginConfigError(`plugin name "${spec.name}" is used twice`);
    plugins.set(spec.name, createPlugin(spec));
  }
  const handlers = config.plugins.flatMap((spec, i) => (HANDLER_TYPES.has(spec.type) ? [i] : []));
  const [handlerAt, secondHandler] = handlers;
  if (secondHandler !== undefined) {
    throw new PluginConfigError('more than one profile handler in plugins', [
      'plugins',
      secondHandler,
      'type',
    ]);
  }
  const handlerSpec = handlerAt === undefined ? undefined : config.plugins[handlerAt];
  const handler = handlerSpec === undefined ? undefined : plugins.get(handlerSpec.name);

  let primary: ProfilePlan;
  let disagg: DisaggPlan | undefined;
  if (handler?.kind === 'profile-handler' && handlerAt !== undefined) {
    ({ decode: primary, disagg } = disaggProfiles(config, plugins, handler, handlerAt));
  } else {
    if (config.schedulingProfiles.length !== 1) {
      throw new PluginConfigError(
        `schedulingProfiles must hold exactly one profile (got ${config.schedulingProfiles.length}) ` +
          'unless plugins has a disagg-profile-handler, which runs a decode and a prefill profile',
      );
    }
    const [profile] = config.schedulingProfiles;
    if (profile === undefined) throw new PluginConfigError('schedulingProfiles is empty');
    primary = profilePlan(profile, plugins);
  }

  const all = [...plugins.values()];
  const producer = all.find((p): p is PrefixProducerPlugin => p?.kind === 'prefix-producer');
  const detector = all.find((p): p is SaturationDetectorPlugin => p?.kind === 'saturation-detector');
  const tokens = all.filter((p): p is TokenProducerPlugin => p?.kind === 'token-producer');
  if (tokens.length > 1) throw new PluginConfigError('more than one token-producer in plugins');
  const profiles = disagg?.prefill === undefined ? [primary] : [primary, disagg.prefill];
  const usesPrefix =
    profiles.some(
      (p) => p.scorers.some((s) => s.scorer.usesPrefix) || p.contextFilters.some((f) => f.usesPrefix),
    ) || disagg?.decider?.usesPrefix === true;
  return {
    ...primary,
    prefix: usesPrefix ? (producer ?? approxPrefixProducer(DEFAULT_PREFIX_PRODUCER)) : undefined,
    detector:
      detector ??
      utilizationDetector({ type: 'utilization-detector', name: 'utilization-detector', parameters: {} }),
    tokens: tokens[0],
    disagg,
  };
}

/** What the data layer and the request lifecycle need from a scheduler configuration. */
export interface DataLayerNeeds {
  /** Set when a precise-prefix-cache-producer feeds a scorer: KV-cache events are keyed with these. */
  readonly precise: { readonly blockSize: number; readonly hashSeed: number } | undefined;
  /** Set when prompts are tokenized by a model server (token-producer backend vllm, with a precise index). */
  readonly vllmTokenizer: { readonly timeoutMs: number } | undefined;
}

export function dataLayerNeeds(config: SchedulerConfig): DataLayerNeeds {
  const plan = buildPlan(config);
  const prefix = plan.prefix;
  const precise =
    prefix?.precise === true ? { blockSize: prefix.blockSizeTokens, hashSeed: prefix.hashSeed } : undefined;
  return {
    precise,
    vllmTokenizer:
      precise !== undefined && plan.tokens?.backend === 'vllm'
        ? { timeoutMs: plan.tokens.timeoutMs }
        : undefined,
  };
}
