// Input problems carry their source position so that every message reads
// `file:line:column: /json/pointer: what was expected`.

export interface SourcePosition {
  /** Repository-relative path, with forward slashes. */
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
}

export interface InputProblem extends SourcePosition {
  /** JSON pointer of the offending field inside the file ('' for the whole document). */
  readonly pointer: string;
  readonly message: string;
}

export function formatProblem(problem: InputProblem): string {
  return `${problem.file}:${problem.line}:${problem.column}: ${problem.pointer === '' ? '/' : problem.pointer}: ${problem.message}`;
}

/** Thrown when any input is invalid; holds every problem found, sorted by position. */
export class InputError extends Error {
  readonly problems: readonly InputProblem[];

  constructor(problems: readonly InputProblem[]) {
    const sorted = [...problems].sort(compareProblems);
    super(`${sorted.length} input error(s):\n${sorted.map(formatProblem).join('\n')}`);
    this.name = 'InputError';
    this.problems = sorted;
  }
}

function compareProblems(a: InputProblem, b: InputProblem): number {
  return (
    a.file.localeCompare(b.file) ||
    a.line - b.line ||
    a.column - b.column ||
    a.pointer.localeCompare(b.pointer) ||
    a.message.localeCompare(b.message)
  );
}

export function escapePointerSegment(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

export function toPointer(segments: readonly (string | number)[]): string {
  return segments.map((s) => `/${escapePointerSegment(String(s))}`).join('');
}

export function describeValue(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) {
    return 'nothing';
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
