// load → validate → normalize → render → validate output. Pure apart from reading the input files.
import { InputError } from './errors.ts';
import { loadEnvironments } from './load/environments.ts';
import { normalizeEnvironments } from './normalize/index.ts';
import type { NormalizedEnvironment } from './normalize/types.ts';
import { outputObjectErrors } from './output/check-objects.ts';
import { renderAll } from './render/index.ts';
import type { OutputFile } from './render/types.ts';

export interface BuildResult {
  readonly environments: readonly NormalizedEnvironment[];
  readonly files: readonly OutputFile[];
}

/**
 * Builds every output file from the inputs under `root`. Throws InputError listing every input problem,
 * or Error when the rendered output itself is invalid (a generator bug).
 */
export function buildOutputs(root: string, only?: readonly string[]): BuildResult {
  const loaded = loadEnvironments(root, only);
  const normalized = normalizeEnvironments(loaded.environments);
  const problems = [...loaded.problems, ...(normalized.ok ? [] : normalized.problems)];
  if (problems.length > 0 || !normalized.ok) {
    throw new InputError(problems);
  }
  const files = renderAll(normalized.environments);
  const errors = outputObjectErrors(files);
  if (errors.length > 0) {
    throw new Error(`generated output is invalid:\n${errors.join('\n')}`);
  }
  return { environments: normalized.environments, files };
}
