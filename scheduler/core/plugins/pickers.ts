// Pickers: turn weighted totals into an ordered list of endpoints (primary first, then fallbacks).
import type { PluginSpec } from '../types.ts';
import { paramReader } from './params.ts';
import type { PickerPlugin } from './plugin.ts';

function maxEndpoints(spec: PluginSpec): number {
  return paramReader(spec.name, spec.parameters).number('maxNumOfEndpoints', 1, { min: 1, integer: true });
}

/** Highest total first; equal totals in random order. */
export function maxScorePicker(spec: PluginSpec): PickerPlugin {
  const limit = maxEndpoints(spec);
  return {
    kind: 'picker',
    type: spec.type,
    name: spec.name,
    pick(totals, random) {
      if (limit === 1) {
        let best = -1;
        let ties = 0;
        for (let i = 0; i < totals.length; i++) {
          const v = totals[i] ?? 0;
          const top = totals[best] ?? Number.NEGATIVE_INFINITY;
          if (best < 0 || v > top) {
            best = i;
            ties = 1;
          } else if (v === top) {
            ties++;
            if (random() * ties < 1) best = i; // reservoir sampling over the tied maxima
          }
        }
        return best < 0 ? [] : [best];
      }
      const keys = Array.from(totals, (_, i) => ({ i, tie: random() }));
      keys.sort((a, b) => (totals[b.i] ?? 0) - (totals[a.i] ?? 0) || a.tie - b.tie);
      return keys.slice(0, limit).map((k) => k.i);
    },
  };
}

/** Uniformly random order. */
export function randomPicker(spec: PluginSpec): PickerPlugin {
  const limit = maxEndpoints(spec);
  return {
    kind: 'picker',
    type: spec.type,
    name: spec.name,
    pick(totals, random) {
      const order = Array.from(totals, (_, i) => i);
      const n = Math.min(limit, order.length);
      for (let i = 0; i < n; i++) {
        const j = i + Math.floor(random() * (order.length - i));
        [order[i], order[j]] = [order[j] ?? j, order[i] ?? i];
      }
      return order.slice(0, n);
    },
  };
}

/** Weighted random without replacement (A-Res: key = U^(1/w), largest keys win); zero weights come last. */
export function weightedRandomPicker(spec: PluginSpec): PickerPlugin {
  const limit = maxEndpoints(spec);
  return {
    kind: 'picker',
    type: spec.type,
    name: spec.name,
    pick(totals, random) {
      const keyed = Array.from(totals, (w, i) => ({ i, key: w > 0 ? random() ** (1 / w) : -1 + random() }));
      keyed.sort((a, b) => b.key - a.key);
      return keyed.slice(0, limit).map((k) => k.i);
    },
  };
}

/** Cycles through the candidates in the order given, ignoring scores. */
export function roundRobinPicker(spec: PluginSpec): PickerPlugin {
  const limit = maxEndpoints(spec);
  let next = 0;
  return {
    kind: 'picker',
    type: spec.type,
    name: spec.name,
    pick(totals) {
      const n = totals.length;
      if (n === 0) return [];
      const start = next % n;
      next = (start + 1) % n;
      return Array.from({ length: Math.min(limit, n) }, (_, k) => (start + k) % n);
    },
  };
}
