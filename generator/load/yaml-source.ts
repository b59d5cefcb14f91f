// Parses one YAML file keeping the node tree, so any JSON pointer can be mapped back to a line and column.
// Inputs are bounded before they reach a parser or a schema: size, nesting depth and alias expansion are
// limits reported as file:line errors, and duplicate keys are found in one pass (not pair by pair).
import {
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node,
  type Pair,
  type YAMLMap,
} from 'yaml';
import type { InputProblem, SourcePosition } from '../errors.ts';

/** Limits of one input file. A model spec is about 1 KiB and a platform profile a few KiB. */
export const yamlLimits = {
  /** Bytes of one file. */
  maxBytes: 256 * 1024,
  /** Nesting of maps and lists. */
  maxDepth: 32,
  /** Nodes an alias may expand to (yaml's `maxAliasCount`). */
  maxAliasCount: 100,
} as const;

export interface YamlSource {
  /** Repository-relative path. */
  readonly file: string;
  readonly data: unknown;
  readonly document: Document;
  readonly lineCounter: LineCounter;
  /** The file's text, for showing the offending line of a problem. */
  readonly text: string;
}

export type ParseResult = { ok: true; source: YamlSource } | { ok: false; problems: InputProblem[] };

export function parseYamlSource(file: string, text: string): ParseResult {
  const lineCounter = new LineCounter();
  const at = (offset: number, message: string): InputProblem => ({
    ...positionAt(file, text, lineCounter, offset),
    pointer: '',
    message,
  });
  if (text.length > yamlLimits.maxBytes || Buffer.byteLength(text) > yamlLimits.maxBytes) {
    return {
      ok: false,
      problems: [sizeProblem(file, text.slice(0, yamlLimits.maxBytes), Buffer.byteLength(text))],
    };
  }
  // uniqueKeys is checked below in one pass: the parser's own check compares every key with every other.
  const document = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: false,
    version: '1.2',
  });
  if (document.errors.length > 0) {
    return {
      ok: false,
      problems: document.errors.map((error) =>
        at(error.pos[0], `expected valid YAML: ${error.message.split('\n')[0] ?? error.code}`),
      ),
    };
  }
  const structure = checkStructure(document.contents);
  if (structure !== undefined) {
    return { ok: false, problems: [at(structure.offset, structure.message)] };
  }
  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: yamlLimits.maxAliasCount }) as unknown;
  } catch (error) {
    // yaml throws when an alias expands to too many nodes (a "billion laughs" document).
    const alias = firstAlias(document.contents);
    return {
      ok: false,
      problems: [
        at(
          alias ?? 0,
          `expected aliases that expand to at most ${yamlLimits.maxAliasCount} nodes each: ${(error as Error).message}`,
        ),
      ],
    };
  }
  return { ok: true, source: { file, data, document, lineCounter, text } };
}

/** A file over the size limit, at the line where `head` (its first maxBytes) ends. */
export function sizeProblem(file: string, head: string, totalBytes: number): InputProblem {
  const lineStart = head.lastIndexOf('\n') + 1;
  const kib = (bytes: number): string => `${Math.ceil(bytes / 1024)} KiB`;
  return {
    file,
    line: head.split('\n').length,
    column: head.length - lineStart + 1,
    pointer: '',
    message: `expected a file of at most ${kib(yamlLimits.maxBytes)}, got ${kib(totalBytes)}`,
  };
}

interface StructureProblem {
  readonly offset: number;
  readonly message: string;
}

/**
 * One iterative walk over the node tree: nesting deeper than the limit and keys that repeat within a map.
 * Iterative, so a deeply nested document cannot exhaust the stack here.
 */
function checkStructure(root: unknown): StructureProblem | undefined {
  const stack: { node: unknown; depth: number }[] = [{ node: root, depth: 0 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop() ?? { node: undefined, depth: 0 };
    if (!isCollection(node)) {
      continue;
    }
    if (depth >= yamlLimits.maxDepth) {
      return {
        offset: rangeStart(node) ?? 0,
        message: `expected maps and lists nested at most ${yamlLimits.maxDepth} levels deep`,
      };
    }
    if (isMap(node)) {
      const repeated = repeatedKey(node);
      if (repeated !== undefined) {
        return {
          offset: rangeStart(repeated.key) ?? 0,
          message: `expected valid YAML: Map keys must be unique ("${String(scalarText(repeated.key))}" repeats)`,
        };
      }
      for (const pair of node.items) {
        stack.push({ node: pair.value, depth: depth + 1 });
      }
    } else {
      for (const item of node.items) {
        stack.push({ node: item, depth: depth + 1 });
      }
    }
  }
  return undefined;
}

function repeatedKey(map: YAMLMap): Pair | undefined {
  const seen = new Set<string>();
  for (const pair of map.items) {
    const key = scalarText(pair.key);
    if (key === undefined) {
      continue;
    }
    if (seen.has(key)) {
      return pair;
    }
    seen.add(key);
  }
  return undefined;
}

function firstAlias(root: unknown): number | undefined {
  let first: number | undefined;
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isAlias(node)) {
      const start = rangeStart(node);
      if (start !== undefined && (first === undefined || start < first)) first = start;
    } else if (isMap(node)) {
      stack.push(...node.items.map((pair) => pair.value));
    } else if (isSeq(node)) {
      stack.push(...node.items);
    }
  }
  return first;
}

function positionAt(file: string, text: string, lineCounter: LineCounter, offset: number): SourcePosition {
  const position = lineCounter.linePos(offset);
  const start = lineCounter.lineStarts[position.line - 1] ?? 0;
  const end = text.indexOf('\n', start);
  const sourceLine = text.slice(start, end === -1 ? undefined : end).replace(/\r$/, '');
  return { file, line: position.line, column: position.col, sourceLine };
}

export interface Located {
  readonly position: SourcePosition;
  /** How many pointer segments were found in this source (equal to the pointer length when found whole). */
  readonly depth: number;
}

/** Each map's pairs by key text, built once per map: locating a key costs the same in a map of any size. */
const pairIndexes = new WeakMap<YAMLMap, Map<string, Pair>>();

function pairByKey(map: YAMLMap, key: string): Pair | undefined {
  let index = pairIndexes.get(map);
  if (index === undefined) {
    index = new Map();
    for (const item of map.items) {
      const text = isPair(item) ? scalarText(item.key) : undefined;
      if (text !== undefined && !index.has(text)) index.set(text, item);
    }
    pairIndexes.set(map, index);
  }
  return index.get(key);
}

/**
 * Finds the node at `segments`. When `atKey` is set and the last segment names a map key, the key's
 * position is returned (the right place for "unknown property" errors). When the path does not exist,
 * the deepest existing ancestor is returned.
 */
export function locate(source: YamlSource, segments: readonly string[], atKey = false): Located {
  let node: unknown = source.document.contents;
  let offset = rangeStart(node) ?? 0;
  let depth = 0;
  for (const [index, segment] of segments.entries()) {
    let next: unknown;
    let nextOffset: number | undefined;
    if (isMap(node)) {
      const pair = pairByKey(node, segment);
      if (pair === undefined) {
        break;
      }
      const isLast = index === segments.length - 1;
      next = pair.value;
      nextOffset = isLast && atKey ? rangeStart(pair.key) : (rangeStart(pair.value) ?? rangeStart(pair.key));
    } else if (isSeq(node)) {
      const item: unknown = node.items[Number(segment)];
      if (!/^\d+$/.test(segment) || item === undefined) {
        break;
      }
      next = item;
      nextOffset = rangeStart(item);
    } else {
      break;
    }
    node = next;
    if (nextOffset !== undefined) {
      offset = nextOffset;
    }
    depth += 1;
  }
  return { position: positionAt(source.file, source.text, source.lineCounter, offset), depth };
}

function scalarText(node: unknown): string | undefined {
  return isScalar(node) ? String(node.value) : undefined;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range?.[0];
}
