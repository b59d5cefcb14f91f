// prefix-placement-scorer (Switchyard): where a prompt that no candidate holds any block of is sent becomes
// the home of its prefix, and prefix affinity sends every later request with that prefix there. The load
// scorers see only the moment of the pick; a placement outlives it. This scorer spreads new prefixes evenly:
// the candidate holding the fewest distinct prefixes (first blocks of prompts, by the approximate index)
// scores 1, the one holding the most 0, linearly between, like consistent hashing with bounded loads spreads
// keys. Prompts that some candidate holds part of score 1 everywhere: affinity and load decide them.
//
// A placement pays only if its prefix comes back, and every placement overrides the momentary load. So the
// scorer watches its own placements: a placed prefix has recurred once a later prompt starts with the same
// block, and it is judged when `recurrenceWindowPrefixes` newer placements have followed it. The spread is
// weighted by how far the recurring share of judged placements (exponentially weighted) stands above
// `minRecurrence`: full when every placed prefix comes back (shared system prompts), nothing when at most that
// share does. On a trace where most new prompts are one-off documents, spreading them by count would send them
// past loaded replicas for nothing (and the endpoint holding the fewest prefixes is often the one holding the
// longest ones). Until placements have been judged the share counts as 1.
import type { PluginSpec } from '../types.ts';
import { onlyFields, paramReader } from './params.ts';
import type { PickContext, ScorerPlugin } from './plugin.ts';
import { minMaxLowIsBest, scorer } from './scorers.ts';

interface Placement {
  /** Hash of the placed prompt's first block. */
  readonly firstBlock: number;
  recurred: boolean;
}

export function prefixPlacementScorer(spec: PluginSpec): ScorerPlugin {
  onlyFields(spec.name, 'parameters.', spec.parameters, ['recurrenceWindowPrefixes', 'minRecurrence']);
  const params = paramReader(spec.name, spec.parameters);
  const window = params.number('recurrenceWindowPrefixes', 100, { min: 1, integer: true });
  const minRecurrence = params.number('minRecurrence', 0.5, { min: 0, max: 0.99 });
  /** Exponentially weighted share of judged placements whose prefix came back. */
  let recurrence = 1;
  /** The last `window` placements, oldest at `next`. */
  const placements: (Placement | undefined)[] = new Array<Placement | undefined>(window);
  let next = 0;
  /** The latest placement of each first block still in the window. */
  const latest = new Map<number, Placement>();
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

  const place = (firstBlock: number): void => {
    const judged = placements[next];
    if (judged !== undefined) {
      recurrence += ((judged.recurred ? 1 : 0) - recurrence) / window;
      if (latest.get(judged.firstBlock) === judged) latest.delete(judged.firstBlock);
    }
    const placement: Placement = { firstBlock, recurred: false };
    placements[next] = placement;
    latest.set(firstBlock, placement);
    next = (next + 1) % window;
  };

  return scorer(
    spec,
    {
      score(context, out) {
        out.fill(1);
        const weight = (recurrence - minRecurrence) / (1 - minRecurrence);
        if (weight <= 0) return;
        const match = context.prefix();
        if (match === undefined || match.hashes.length === 0 || heldAnywhere(context)) return;
        const held = match.prefixesHeld;
        if (held === undefined) return;
        minMaxLowIsBest(Float64Array.from(held), out);
        for (let i = 0; i < out.length; i++) out[i] = 1 - weight * (1 - (out[i] ?? 1));
      },
      picked(context) {
        const match = context.prefix();
        const firstBlock = match?.hashes[0];
        if (firstBlock === undefined) return;
        const earlier = latest.get(firstBlock);
        // A prefix comes back whether or not the index still holds it.
        if (earlier !== undefined) earlier.recurred = true;
        if (!heldAnywhere(context)) place(firstBlock);
      },
    },
    { usesPrefix: true },
  );
}
