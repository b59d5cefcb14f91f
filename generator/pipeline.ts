// load → validate → normalize → render → validate output. Pure apart from reading the input files.
import { InputError } from './errors.ts';
import { loadCharts } from './load/charts.ts';
import { loadEnvironments } from './load/environments.ts';
import { chartProblems, chartVersionRecord } from './normalize/charts.ts';
import { normalizeEnvironments } from './normalize/index.ts';
import type { NormalizedRepository } from './normalize/types.ts';
import { outputObjectErrors } from './output/check-objects.ts';
import { renderAll } from './render/index.ts';
import type { OutputFile } from './render/types.ts';

export interface BuildResult {
  readonly repository: NormalizedRepository;
  readonly files: readonly OutputFile[];
}

/**
 * Builds every output file from the inputs under `root` (environments/ and the charts' sources). Throws
 * InputError listing every input problem, or Error when the rendered output itself is invalid (a generator
 * bug).
 */
export function buildOutputs(root: string, only?: readonly string[]): BuildResult {
  const loaded = loadEnvironments(root, only);
  const charts = loadCharts(root);
  const normalized = normalizeEnvironments(loaded.environments);
  const problems = [
    ...loaded.problems,
    ...(charts.ok ? chartProblems(charts.inputs) : charts.problems),
    ...(normalized.ok ? [] : normalized.problems),
  ];
  if (problems.length > 0 || !normalized.ok || !charts.ok) {
    throw new InputError(problems);
  }
  const repository: NormalizedRepository = {
    environments: normalized.environments,
    charts: { sources: charts.inputs.charts, versions: chartVersionRecord(charts.inputs) },
  };
  const files = renderAll(repository);
  const errors = outputObjectErrors(files);
  if (errors.length > 0) {
    throw new Error(`generated output is invalid:\n${errors.join('\n')}`);
  }
  return { repository, files };
}
