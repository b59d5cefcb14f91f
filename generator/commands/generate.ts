// `generate [--env NAME] [--check] [--json]`: build every output, then write it (or, with --check, compare it
// and show each difference as a unified diff).
import { createTwoFilesPatch } from 'diff';
import { formatProblem, InputError } from '../errors.ts';
import { buildOutputs } from '../pipeline.ts';
import { desiredTree, diffTrees, isEmptyDiff, readTree, replaceTree, type TreeDiff } from '../write/tree.ts';

export interface GenerateOptions {
  readonly root: string;
  readonly env?: string;
  readonly check?: boolean;
  /** One JSON document on stdout instead of lines. */
  readonly json?: boolean;
}

export interface Console {
  out(line: string): void;
  err(line: string): void;
}

/** A file that differs from the generator's output, with the unified diff from disk to the output. */
export interface FileDifference {
  path: string;
  status: 'differs' | 'missing' | 'stale';
  diff: string;
}

export function unifiedDiff(path: string, current: string | undefined, desired: string | undefined): string {
  return createTwoFilesPatch(
    current === undefined ? '/dev/null' : `a/${path}`,
    desired === undefined ? '/dev/null' : `b/${path}`,
    current ?? '',
    desired ?? '',
    undefined,
    undefined,
    { context: 3, headerOptions: { includeIndex: false, includeUnderline: false, includeFileHeaders: true } },
  );
}

function differences(
  diff: TreeDiff,
  current: ReadonlyMap<string, string>,
  desired: ReadonlyMap<string, string>,
): FileDifference[] {
  const entry = (path: string, status: FileDifference['status']): FileDifference => ({
    path,
    status,
    diff: unifiedDiff(path, current.get(path), desired.get(path)),
  });
  return [
    ...diff.changed.map((path) => entry(path, 'differs')),
    ...diff.added.map((path) => entry(path, 'missing')),
    ...diff.removed.map((path) => entry(path, 'stale')),
  ];
}

export function runGenerate(options: GenerateOptions, console: Console): number {
  const json = (value: object): void => console.out(JSON.stringify(value, null, 2));
  let files;
  try {
    files = buildOutputs(options.root, options.env === undefined ? undefined : [options.env]).files;
  } catch (error) {
    if (error instanceof InputError) {
      if (options.json === true) {
        json({ ok: false, errors: error.problems.map(formatProblem) });
      } else {
        error.problems.forEach((problem) => console.err(formatProblem(problem)));
      }
      console.err(`generate: ${error.problems.length} input error(s); nothing written`);
      return 1;
    }
    throw error;
  }
  const current = readTree(options.root);
  const desired = desiredTree(current, files, options.env);
  const diff = diffTrees(current, desired);
  if (options.check === true) {
    const found = differences(diff, current, desired);
    if (options.json === true) {
      json({ ok: found.length === 0, files: desired.size, differences: found });
    } else {
      for (const { diff: patch } of found) console.out(patch.trimEnd());
      for (const { path, status } of found) console.err(`${`${status}:`.padEnd(9)}${path}`);
    }
    if (found.length === 0) {
      if (options.json !== true) console.out(`generate --check: ${desired.size} files up to date`);
      return 0;
    }
    console.err(
      `generate --check: ${found.length} file(s) differ from the generator's output; run npm run generate`,
    );
    return 1;
  }
  if (!isEmptyDiff(diff)) {
    replaceTree(options.root, desired);
  }
  if (options.json === true) {
    json({ ok: true, files: desired.size, changed: diff.changed, added: diff.added, removed: diff.removed });
  } else {
    console.out(
      `generate: ${desired.size} files (${diff.changed.length} changed, ${diff.added.length} added, ${diff.removed.length} removed)`,
    );
  }
  return 0;
}
