// `npm run validate [-- --env NAME] [-- --crds DIR]`: lint and render every chart the way the Argo CD
// Applications say, then validate every object. Exit code 1 when anything is wrong.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { formatProblem, validateRepository } from '../verify/run.ts';

export interface ValidateOptions {
  root: string;
  envs?: readonly string[];
  crdsDir?: string;
}

export async function runValidate(options: ValidateOptions): Promise<number> {
  const crdsDir = options.crdsDir === undefined ? undefined : resolve(options.crdsDir);
  if (crdsDir !== undefined && !(existsSync(crdsDir) && statSync(crdsDir).isDirectory())) {
    console.error(`--crds ${options.crdsDir ?? ''}: not a directory`);
    return 2;
  }
  const report = await validateRepository({ root: options.root, envs: options.envs, crdsDir });
  for (const problem of report.problems) {
    console.log(formatProblem(problem));
  }
  if (crdsDir !== undefined) {
    console.log(
      `checked against ${String(report.crdDefinitions)} CustomResourceDefinitions from ${options.crdsDir ?? ''}`,
    );
  }
  const errors = report.problems.length;
  console.log(
    `validated ${String(report.objects)} objects from ${String(report.charts)} charts and ` +
      `${String(report.applications)} Applications: ${String(errors)} errors`,
  );
  return errors === 0 ? 0 : 1;
}
