// Prefill/decode disaggregation, as llm-d's disagg-profile-handler does it: the decode profile picks the
// endpoint that serves the request, a decider looks at that pick, and when it approves the prefill profile
// picks a pod to compute the prompt's KV cache, which the decode pod's sidecar then pulls.
import type { PluginSpec } from '../types.ts';
import { onlyFields, paramReader, PluginConfigError } from './params.ts';
import type { PdDeciderPlugin, ProfileHandlerPlugin } from './plugin.ts';

export const DECIDER_TYPES: readonly string[] = ['prefix-based-pd-decider', 'always-disagg-pd-decider'];

/**
 * prefix-based-pd-decider: disaggregate when at least `nonCachedTokens` of the prompt are not in the prefix
 * index on the decode endpoint (0, the default, never disaggregates); with `promptTokens` > 0, prompts shorter
 * than that are never disaggregated.
 */
export function prefixBasedPdDecider(spec: PluginSpec): PdDeciderPlugin {
  onlyFields(spec.name, 'parameters.', spec.parameters, ['nonCachedTokens', 'promptTokens']);
  const params = paramReader(spec.name, spec.parameters);
  const nonCachedTokens = params.number('nonCachedTokens', 0, { min: 0, integer: true });
  const minPromptTokens = params.number('promptTokens', 0, { min: 0, integer: true });
  return {
    kind: 'pd-decider',
    type: spec.type,
    name: spec.name,
    usesPrefix: true,
    disaggregate(promptTokens, cachedTokens) {
      if (nonCachedTokens === 0) return false;
      if (minPromptTokens > 0 && promptTokens < minPromptTokens) return false;
      if (promptTokens < nonCachedTokens) return false;
      return promptTokens - cachedTokens >= nonCachedTokens;
    },
  };
}

/** always-disagg-pd-decider: every request gets a prefill pod (when the prefill profile finds one). */
export function alwaysDisaggPdDecider(spec: PluginSpec): PdDeciderPlugin {
  onlyFields(spec.name, 'parameters.', spec.parameters, []);
  return {
    kind: 'pd-decider',
    type: spec.type,
    name: spec.name,
    usesPrefix: false,
    disaggregate: () => true,
  };
}

function names(
  spec: PluginSpec,
  field: string,
  allowed: readonly string[],
): Readonly<Record<string, string | undefined>> {
  const record = paramReader(spec.name, spec.parameters).record(field) ?? {};
  onlyFields(spec.name, `parameters.${field}.`, record, allowed);
  for (const [key, value] of Object.entries(record)) {
    if (typeof value !== 'string' || value === '') {
      throw new PluginConfigError(
        `plugin "${spec.name}": parameters.${field}.${key} must be a non-empty string, got ${JSON.stringify(value)}`,
      );
    }
  }
  return record as Record<string, string>;
}

/** disagg-profile-handler: `profiles` names the decode and prefill profiles, `deciders.prefill` the decider. */
export function disaggProfileHandler(spec: PluginSpec): ProfileHandlerPlugin {
  onlyFields(spec.name, 'parameters.', spec.parameters, ['deciders', 'profiles']);
  const deciders = names(spec, 'deciders', ['prefill']);
  const profiles = names(spec, 'profiles', ['decode', 'prefill']);
  const decodeProfile = profiles['decode'] ?? 'decode';
  const prefillProfile = profiles['prefill'] ?? 'prefill';
  if (decodeProfile === prefillProfile) {
    throw new PluginConfigError(
      `plugin "${spec.name}": parameters.profiles names "${decodeProfile}" for both decode and prefill`,
    );
  }
  return {
    kind: 'profile-handler',
    type: spec.type,
    name: spec.name,
    decodeProfile,
    prefillProfile,
    prefillDecider: deciders['prefill'],
  };
}
