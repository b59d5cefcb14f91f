// llm-d's prefill/decode router configuration, shared by the adapter tests of both faces: a prefill pod is
// picked when at least 16 prompt tokens are not cached on the decode pod the decode profile picked.
import { parseSchedulerConfig, type SchedulerConfig } from '../../scheduler/core/index.ts';

export const PD_NON_CACHED_TOKENS = 16;

const scoring = `{pluginRef: queue-scorer, weight: 1}, {pluginRef: prefix-cache-scorer, weight: 5}, {pluginRef: max-score-picker}`;

export const pdConfig: SchedulerConfig = parseSchedulerConfig(
  `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: disagg-profile-handler
  parameters: {deciders: {prefill: prefix-based-pd-decider}}
- type: prefix-based-pd-decider
  parameters: {nonCachedTokens: ${PD_NON_CACHED_TOKENS}}
- type: prefill-filter
- type: decode-filter
- type: queue-scorer
- type: prefix-cache-scorer
- type: approx-prefix-cache-producer
  parameters: {blockSizeTokens: 64, autoTune: false}
- type: max-score-picker
schedulingProfiles:
- name: prefill
  plugins: [{pluginRef: prefill-filter}, ${scoring}]
- name: decode
  plugins: [{pluginRef: decode-filter}, ${scoring}]
`,
  'pd-config.ts',
);

/** A completions prompt of `count` distinct token ids starting at `from`. */
export function tokenPrompt(count: number, from = 1): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}
