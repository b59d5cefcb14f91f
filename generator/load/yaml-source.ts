// Parses one YAML file keeping the node tree, so any JSON pointer can be mapped back to a line and column.
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { InputProblem, SourcePosition } from '../errors.ts';

export interface YamlSource {
  /** Repository-relative path. */
  readonly file: string;
  readonly data: unknown;
  readonly document: Document;
  readonly lineCounter: LineCounter;
}

export type ParseResult = { ok: true; source: YamlSource } | { ok: false; problems: InputProblem[] };

export function parseYamlSource(file: string, text: string): ParseResult {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    version: '1.2',
  });
  if (document.errors.length > 0) {
    return {
      ok: false,
      problems: document.errors.map((error) => {
        const position = lineCounter.linePos(error.pos[0]);
        return {
          file,
          line: position.line,
          column: position.col,
          pointer: '',
          message: `expected valid YAML: ${error.message.split('\n')[0] ?? error.code}`,
        };
      }),
    };
  }
  return {
    ok: true,
    source: { file, data: document.toJS({ maxAliasCount: 100 }) as unknown, document, lineCounter },
  };
}

export interface Located {
  readonly position: SourcePosition;
  /** How many pointer segments were found in this source (equal to the pointer length when found whole). */
  readonly depth: number;
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
      const pair = node.items.find((item) => isPair(item) && scalarText(item.key) === segment);
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
  const position = source.lineCounter.linePos(offset);
  return { position: { file: source.file, line: position.line, column: position.col }, depth };
}

function scalarText(node: unknown): string | undefined {
  return isScalar(node) ? String(node.value) : undefined;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range?.[0];
}
