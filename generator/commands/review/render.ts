// Renders one planned Application with helm exactly as Argo CD does and keys the objects it would apply.
import { chartDocuments, runHelm } from '../../verify/helm.ts';
import { parseMachineYaml } from '../../verify/machine-yaml.ts';
import { isJsonObject } from '../../verify/openapi-schema.ts';
import { templateArgs } from '../../verify/repository.ts';
import { isHelmTestHook } from '../../verify/run.ts';
import { keyObject, type KeyedObject } from './objects.ts';
import type { PlannedApplication } from './plan.ts';

export interface RenderedApplication {
  objects: KeyedObject[];
  problems: string[];
}

export async function renderApplication(
  application: PlannedApplication,
  workDir: string,
  index: number,
): Promise<RenderedApplication> {
  const objects: KeyedObject[] = [];
  const problems: string[] = [];
  for (const [jobIndex, job] of application.jobs.entries()) {
    const result = await runHelm(templateArgs(job, workDir, index * 100 + jobIndex, []));
    if (!result.ok) {
      const message = result.stderr.trim().split('\n').join(' ') || 'helm template failed';
      problems.push(
        `${job.appSource}: helm template ${job.chartDir}: ${message} [Application ${application.name}]`,
      );
      continue;
    }
    for (const { source, text } of chartDocuments(result.stdout, job.chartDir)) {
      const parsed = parseMachineYaml(text);
      const object: unknown = parsed.ok ? parsed.documents[0] : undefined;
      if (!parsed.ok) {
        problems.push(
          `${source}: rendered YAML is invalid: ${parsed.reason} [Application ${application.name}]`,
        );
      } else if (isJsonObject(object) && !isHelmTestHook(object)) {
        // Argo CD never creates Helm test hooks.
        objects.push(keyObject(object, source, job.namespace ?? 'default'));
      }
    }
  }
  return { objects, problems };
}
