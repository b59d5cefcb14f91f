// Input problems carry their source position so that every message reads
// `file:line:column: /json/pointer: what was expected`, followed by the offending source line and a caret.

export interface SourcePosition {
  /** Repository-relative path, with forward slashes. */
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  /** The text of that line, shown under the message with a caret at the column. */
  readonly sourceLine?: string;
}

export interface InputProblem extends SourcePosition {
  /** JSON pointer of the offending field inside the file ('' for the whole document). */
  readonly pointer: string;
  readonly message: string;
}

/** Problems shown per file; the rest are counted in one last problem of that file. */
export const maxProblemsPerFile = 50;

/**
 * The first line is `file:line:column: /pointer: message`; when the source line is known, it follows with a
 * caret under the column.
 */
export function formatProblem(problem: InputProblem): string {
  const head = `${problem.file}:${problem.line}:${problem.column}: ${problem.pointer === '' ? '/' : problem.pointer}: ${problem.message}`;
  if (problem.sourceLine === undefined) {
    return head;
  }
  const { text, caretAt } = excerpt(problem.sourceLine, problem.column - 1);
  const gutter = String(problem.line);
  return [
    head,
    `  ${gutter} | ${text}`,
    `  ${' '.repeat(gutter.length)} | ${text.slice(0, caretAt).replace(/[^\t]/g, ' ')}^`,
  ].join('\n');
}

const excerptWidth = 120;

/** At most excerptWidth characters of a long line, around the column. */
function excerpt(line: string, column: number): { text: string; caretAt: number } {
  const clamped = Math.min(Math.max(column, 0), line.length);
  if (line.length <= excerptWidth) {
    return { text: line, caretAt: clamped };
  }
  const start = Math.max(0, Math.min(clamped - excerptWidth / 2, line.length - excerptWidth));
  const prefix = start > 0 ? '...' : '';
  const suffix = start + excerptWidth < line.length ? '...' : '';
  return {
    text: `${prefix}${line.slice(start, start + excerptWidth)}${suffix}`,
    caretAt: prefix.length + clamped - start,
  };
}

/** Thrown when any input is invalid; holds the problems found, sorted by position, at most maxProblemsPerFile per file. */
export class InputError extends Error {
  readonly problems: readonly InputProblem[];

  constructor(problems: readonly InputProblem[]) {
    const sorted = capPerFile([...problems].sort(compareProblems));
    super(`${sorted.length} input error(s):\n${sorted.map(formatProblem).join('\n')}`);
    this.name = 'InputError';
    this.problems = sorted;
  }
}

/** Keeps the first maxProblemsPerFile problems of each file (sorted input) and says how many were left out. */
function capPerFile(sorted: readonly InputProblem[]): InputProblem[] {
  const kept: InputProblem[] = [];
  const omitted = new Map<string, { first: InputProblem; count: number }>();
  let shownInFile = 0;
  let file: string | undefined;
  for (const problem of sorted) {
    if (problem.file !== file) {
      file = problem.file;
      shownInFile = 0;
    }
    if (shownInFile < maxProblemsPerFile) {
      kept.push(problem);
      shownInFile += 1;
      continue;
    }
    const entry = omitted.get(problem.file);
    if (entry === undefined) omitted.set(problem.file, { first: problem, count: 1 });
    else entry.count += 1;
  }
  for (const [name, { first, count }] of omitted) {
    const index = kept.findLastIndex((problem) => problem.file === name);
    kept.splice(index + 1, 0, {
      file: name,
      line: first.line,
      column: first.column,
      pointer: '',
      message: `expected at most ${maxProblemsPerFile} problems per file: ${count} more from here on are not shown`,
    });
  }
  return kept;
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

/** Edit distance of two short names (insertions, deletions, substitutions, adjacent swaps). */
function distance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i += 1) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j += 1) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const above = rows[i - 1] ?? [];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((above[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (above[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, (rows[i - 2]?.[j - 2] ?? 0) + 1);
      }
      row.push(best);
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] ?? Math.max(a.length, b.length);
}

/** The candidate closest to `name` when it is close enough to be a likely typo; case differences count as near. */
export function nearestName(name: string, candidates: readonly string[]): string | undefined {
  if (name.length > 100) return undefined;
  const limit = Math.max(1, Math.floor(Math.max(name.length, 3) / 3));
  let best: { candidate: string; score: number } | undefined;
  for (const candidate of candidates) {
    // The distance is at least the difference in length: skip candidates that cannot be near.
    if (Math.abs(candidate.length - name.length) > limit) continue;
    const score = distance(name.toLowerCase(), candidate.toLowerCase());
    if (best === undefined || score < best.score) best = { candidate, score };
  }
  return best !== undefined && best.score <= limit && best.candidate !== name ? best.candidate : undefined;
}

/** `; did you mean "x"?` when a candidate is near, else ''. */
export function didYouMean(name: string, candidates: readonly string[]): string {
  const nearest = nearestName(name, candidates);
  return nearest === undefined ? '' : `; did you mean "${nearest}"?`;
}
