// `generate [--env NAME] [--check]`: build every output, then write it (or, with --check, compare it).
import { formatProblem, InputError } from '../errors.ts';
import { buildOutputs } from '../pipeline.ts';
import { desiredTree, diffTrees, isEmptyDiff, readTree, replaceTree } from '../write/tree.ts';

export interface GenerateOptions {
  readonly root: string;
  readonly env?: string;
  readonly check?: boolean;
}

export interface Console {
  out(line: string): void;
  err(line: string): void;
}

export function runGenerate(options: GenerateOptions, console: Console): number {
  let files;
  try {
    files = buildOutputs(options.root, options.env === undefined ? undefined : [options.env]).files;
  } catch (error) {
    if (error instanceof InputError) {
      error.problems.forEach((problem) => console.err(formatProblem(problem)));
      console.err(`generate: ${error.problems.length} input error(s); nothing written`);
      return 1;
    }
    throw error;
  }
  const current = readTree(options.root);
  const desired = desiredTree(current, files, options.env);
  const diff = diffTrees(current, desired);
  if (options.check === true) {
    if (isEmptyDiff(diff)) {
      console.out(`generate --check: ${desired.size} files up to date`);
      return 0;
    }
    for (const path of diff.changed) console.err(`differs: ${path}`);
    for (const path of diff.added) console.err(`missing: ${path}`);
    for (const path of diff.removed) console.err(`stale:   ${path}`);
    const count = diff.changed.length + diff.added.length + diff.removed.length;
    console.err(
      `generate --check: ${count} file(s) differ from the generator's output; run npm run generate`,
    );
    return 1;
  }
  if (!isEmptyDiff(diff)) {
    replaceTree(options.root, desired);
  }
  console.out(
    `generate: ${desired.size} files (${diff.changed.length} changed, ${diff.added.length} added, ${diff.removed.length} removed)`,
  );
  return 0;
}
