// prefix-placement-scorer (Switchyard): where a prompt that no candidate holds any block of is sent becomes
// the home of its prefix, and prefix affinity sends every later request with that prefix there. The load
// scorers see only the moment of the pick; a placement outlives it. This scorer spreads new prefixes evenly:
// the candidate holding the fewest distinct prefixes (first blocks of prompts, by the approximate index)
// scores 1, the one holding the most 0, linearly between, like consistent hashing with bounded loads spreads
// keys. Placement only matters if prompts come back, so the spread is scaled by the share of recent requests
// that some candidate held part of: on traffic that never repeats a prefix the scorer fades to 1 everywhere
// and the load scorers decide alone. Prompts that some candidate holds part of score 1 everywhere: affinity
// and load decide them.
import type { PluginSpec } from '../types.ts';
import { onlyFields, paramReader } from './params.ts';
import type { PickContext, ScorerPlugin } from './plugin.ts';
import { minMaxLowIsBest } from './scorers.ts';

export function prefixPlacementScorer(spec: PluginSpec): ScorerPlugin {
  onlyFields(spec.name, 'parameters.', spec.parameters, ['recurrenceWindowRequests']);
  const window = paramReader(spec.name, spec.parameters).number('recurrenceWindowRequests', 100, {
    min: 1,
    integer: true,
  });
  /** Exponentially weighted share of recent requests that some candidate held at least one block of. */
  let recurrence = 0;
  /** Whether some candidate held part of the prompt, for the pick scored last (picked sees the same context). */
  let last: { readonly context: PickContext; readonly held: boolean } | undefined;

  const heldAnywhere = (context: PickContext): boolean => {
    if (last?.context === context) return last.held;
    const match = context.prefix();
    let held = false;
    if (match !== undefined)
      for (let i = 0; i < match.matchedBlocks.length && !held; i++) held = (match.matchedBlocks[i] ?? 0) > 0;
    last = { context, held };
    return held;
  };

  return {
    kind: 'scorer',
    type: spec.type,
    name: spec.name,
    usesPrefix: true,
    score(context, out) {
      out.fill(1);
      const match = context.prefix();
      if (match === undefined || match.hashes.length === 0 || heldAnywhere(context)) return;
      const held = match.prefixesHeld;
      if (held === undefined) return;
      minMaxLowIsBest(Float64Array.from(held), out);
      for (let i = 0; i < out.length; i++) out[i] = 1 - recurrence * (1 - (out[i] ?? 1));
    },
    picked(context) {
      if (context.prefix()?.hashes.length === 0) return;
      recurrence += ((heldAnywhere(context) ? 1 : 0) - recurrence) / window;
    },
  };
}
