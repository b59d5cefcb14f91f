// Parser for the Prometheus text exposition format (version 0.0.4), the format vLLM serves on /metrics.
// Only what the router reads is kept: sample name, labels and value. Comments, HELP and TYPE lines are skipped.
import { StringDecoder } from 'node:string_decoder';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export class ExpositionParseError extends Error {
  readonly line: number;
  readonly column: number;
  constructor(line: number, column: number, expected: string) {
    super(`metrics exposition line ${line}, column ${column}: expected ${expected}`);
    this.name = 'ExpositionParseError';
    this.line = line;
    this.column = column;
  }
}

function isNameStart(c: number): boolean {
  // [a-zA-Z_:]
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57);
}

function parseValue(text: string): number {
  switch (text) {
    case '+Inf':
    case 'Inf':
      return Number.POSITIVE_INFINITY;
    case '-Inf':
      return Number.NEGATIVE_INFINITY;
    case 'NaN':
      return Number.NaN;
    default:
      return text.length === 0 ? Number.NaN : Number(text);
  }
}

/** Parses one sample line; `lineNo` is 1-based and used only for error messages. */
function parseSampleLine(line: string, lineNo: number): Sample {
  let i = 0;
  if (!isNameStart(line.charCodeAt(0))) {
    throw new ExpositionParseError(lineNo, 1, 'a metric name');
  }
  while (i < line.length && isNameChar(line.charCodeAt(i))) {
    i++;
  }
  const name = line.slice(0, i);
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ' || line[i] === ',') {
        i++;
      }
      if (line[i] === '}') {
        i++;
        break;
      }
      const labelStart = i;
      while (i < line.length && isNameChar(line.charCodeAt(i))) {
        i++;
      }
      if (i === labelStart) {
        throw new ExpositionParseError(lineNo, i + 1, 'a label name or "}"');
      }
      const labelName = line.slice(labelStart, i);
      if (line[i] !== '=' || line[i + 1] !== '"') {
        throw new ExpositionParseError(lineNo, i + 1, '="<label value>"');
      }
      i += 2;
      let value = '';
      for (;;) {
        const ch = line[i];
        if (ch === undefined) {
          throw new ExpositionParseError(lineNo, i + 1, 'a closing quote');
        }
        if (ch === '"') {
          i++;
          break;
        }
        if (ch === '\\') {
          const next = line[i + 1];
          value += next === 'n' ? '\n' : (next ?? '');
          i += 2;
          continue;
        }
        value += ch;
        i++;
      }
      labels[labelName] = value;
    }
  }
  while (line[i] === ' ' || line[i] === '\t') {
    i++;
  }
  const valueStart = i;
  while (i < line.length && line[i] !== ' ' && line[i] !== '\t') {
    i++;
  }
  const valueText = line.slice(valueStart, i);
  const value = parseValue(valueText);
  if (Number.isNaN(value) && valueText !== 'NaN') {
    throw new ExpositionParseError(lineNo, valueStart + 1, 'a sample value');
  }
  return { name, labels, value };
}

/**
 * Parses an exposition document. When `wanted` is given, only samples whose name is in it are parsed
 * (the rest of the line is not looked at), which keeps a scrape of vLLM's ~100 series cheap.
 */
export function parsePrometheusText(text: string, wanted?: ReadonlySet<string>): Sample[] {
  const samples: Sample[] = [];
  let lineNo = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) {
      end = text.length;
    }
    lineNo++;
    const raw = text.slice(start, end);
    start = end + 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.length === 0 || line.startsWith('#')) {
      continue;
    }
    if (wanted !== undefined) {
      let nameEnd = 0;
      while (nameEnd < line.length && isNameChar(line.charCodeAt(nameEnd))) {
        nameEnd++;
      }
      if (!wanted.has(line.slice(0, nameEnd))) {
        continue;
      }
    }
    samples.push(parseSampleLine(line, lineNo));
  }
  return samples;
}

/** The metric name a sample line starts with. */
function lineName(line: string): string {
  let end = 0;
  while (end < line.length && isNameChar(line.charCodeAt(end))) {
    end++;
  }
  return line.slice(0, end);
}

/**
 * Keeps, while a body streams in, only the sample lines of the wanted series: memory holds those lines and
 * one unfinished line, whatever the size of the body, and each chunk costs time linear in its size. A line
 * longer than `maxLineChars` is an error (no exposition the router reads has one).
 */
export class WantedLines {
  readonly #wanted: ReadonlySet<string>;
  readonly #maxLineChars: number;
  readonly #decoder = new StringDecoder('utf8');
  readonly #kept: string[] = [];
  #partial = '';

  constructor(wanted: ReadonlySet<string>, maxLineChars = 1024 * 1024) {
    this.#wanted = wanted;
    this.#maxLineChars = maxLineChars;
  }

  push(chunk: Buffer): void {
    this.#take(this.#decoder.write(chunk));
  }

  /** The kept lines, one per line, once the body ended. */
  finish(): string {
    this.#take(this.#decoder.end());
    this.#line(this.#partial);
    this.#partial = '';
    return this.#kept.join('\n');
  }

  #take(text: string): void {
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      const piece = text.slice(start, end);
      this.#line(this.#partial.length === 0 ? piece : this.#partial + piece);
      this.#partial = '';
      start = end + 1;
    }
    if (start < text.length) {
      this.#partial += text.slice(start);
    }
    if (this.#partial.length > this.#maxLineChars) {
      throw new Error(`metrics exposition has a line longer than ${this.#maxLineChars} characters`);
    }
  }

  #line(line: string): void {
    if (line.length === 0 || line.startsWith('#')) {
      return;
    }
    if (line.length > this.#maxLineChars) {
      throw new Error(`metrics exposition has a line longer than ${this.#maxLineChars} characters`);
    }
    if (this.#wanted.has(lineName(line))) {
      this.#kept.push(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
  }
}
