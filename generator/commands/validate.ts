// `npm run validate [-- --env NAME] [-- --crds DIR] [-- --json]`: lint and render every chart the way the
// Argo CD Applications say, then validate every object. Exit codes: 0 valid, 1 any problem, 2 bad arguments
// (a --crds path that is not a directory).
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { describeObject, formatProblem, validateRepository } from '../verify/run.ts';
import { terminalProgress } from './progress.ts';

export interface ValidateOptions {
  root: string;
  envs?: readonly string[];
  crdsDir?: string;
  /** One JSON document on stdout instead of lines. */
  json?: boolean;
}

export async function runValidate(options: ValidateOptions): Promise<number> {
  const crdsDir = options.crdsDir === undefined ? undefined : resolve(options.crdsDir);
  if (crdsDir !== undefined && !(existsSync(crdsDir) && statSync(crdsDir).isDirectory())) {
    console.error(`--crds ${options.crdsDir ?? ''}: not a directory`);
    return 2;
  }
  const progress = terminalProgress('validate: helm runs');
  const report = await validateRepository({
    root: options.root,
    envs: options.envs,
    crdsDir,
    progress: (done, total) => progress.update(done, total),
  });
  progress.done();
  const errors = report.problems.length;
  if (options.json === true) {
    const problems = report.problems.map((problem) => ({
      source: problem.source,
      ...(problem.object === undefined ? {} : { object: describeObject(problem.object, problem.namespace) }),
      ...(problem.path === undefined ? {} : { path: problem.path }),
      message: problem.message,
      line: formatProblem(problem),
    }));
    const { objects, charts, applications, crdDefinitions } = report;
    console.log(
      JSON.stringify({ ok: errors === 0, objects, charts, applications, crdDefinitions, problems }, null, 2),
    );
    return errors === 0 ? 0 : 1;
  }
  for (const problem of report.problems) {
    console.log(formatProblem(problem));
  }
  if (crdsDir !== undefined) {
    console.log(
      `checked against ${String(report.crdDefinitions)} CustomResourceDefinitions from ${options.crdsDir ?? ''}`,
    );
  }
  console.log(
    `validated ${String(report.objects)} objects from ${String(report.charts)} charts and ` +
      `${String(report.applications)} Applications: ${String(errors)} errors`,
  );
  return errors === 0 ? 0 : 1;
}
