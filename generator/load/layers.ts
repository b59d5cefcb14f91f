// Deep-merges a base layer under an environment layer, remembering which file each value came from.
import type { SourcePosition } from '../errors.ts';
import { locate, type YamlSource } from './yaml-source.ts';

export interface LayeredInput {
  /** The environment file's path (the file the user edits for this environment). */
  readonly file: string;
  readonly data: unknown;
  /** Top layer first. */
  readonly layers: readonly YamlSource[];
}

export function layer(top: YamlSource, base: YamlSource | undefined): LayeredInput {
  const layers = base === undefined ? [top] : [top, base];
  const data = base === undefined ? top.data : deepMerge(base.data, top.data);
  return { file: top.file, data, layers };
}

/** Objects merge key by key; arrays and scalars of the upper layer replace the lower one. */
export function deepMerge(lower: unknown, upper: unknown): unknown {
  if (!isPlainObject(lower) || !isPlainObject(upper)) {
    return upper === undefined ? lower : upper;
  }
  const merged: Record<string, unknown> = { ...lower };
  for (const [key, value] of Object.entries(upper)) {
    merged[key] = key in lower ? deepMerge(lower[key], value) : value;
  }
  return merged;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Position of a field: in the topmost layer that holds the whole path, else in the layer that holds the
 * deepest part of it (the upper layer wins ties).
 */
export function locateIn(input: LayeredInput, segments: readonly string[], atKey = false): SourcePosition {
  let best: { position: SourcePosition; depth: number } | undefined;
  for (const source of input.layers) {
    const found = locate(source, segments, atKey);
    if (found.depth === segments.length) {
      return found.position;
    }
    if (best === undefined || found.depth > best.depth) {
      best = found;
    }
  }
  return best?.position ?? { file: input.file, line: 1, column: 1 };
}
