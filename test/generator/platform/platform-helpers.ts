// Helpers of the platform tests: reading generated Argo CD objects and rendering charts with real helm.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { JsonObject } from '../../../generator/verify/openapi-schema.ts';
import { renderJobsFor } from '../../../generator/verify/repository.ts';
import { repoRoot } from '../helpers.ts';

export const helm = join(repoRoot, '.tools/bin/helm');

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly annotations?: Record<string, string>;
    readonly labels?: Record<string, string>;
    readonly finalizers?: string[];
  };
  readonly spec?: Record<string, unknown>;
}

export interface ApplicationSource {
  readonly repoURL: string;
  readonly path?: string;
  readonly chart?: string;
  readonly ref?: string;
  readonly targetRevision: string;
  readonly helm?: {
    readonly releaseName?: string;
    readonly valueFiles?: string[];
    readonly valuesObject?: Record<string, unknown>;
  };
  readonly directory?: { readonly include?: string; readonly exclude?: string };
}

export interface ApplicationObject extends KubeObject {
  readonly spec: {
    readonly project: string;
    readonly destination: { readonly namespace?: string };
    readonly source?: ApplicationSource;
    readonly sources?: readonly ApplicationSource[];
    readonly syncPolicy?: { readonly syncOptions?: string[]; readonly automated?: { prune?: boolean } };
  };
}

export function parseObjects(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((document) => document.toJS() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null && typeof object === 'object');
}

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return yamlFiles(path);
      return name.endsWith('.yaml') ? [path] : [];
    });
}

/** Every generated Argo CD object of an environment (apps/<env>/**), root app excluded. */
export function generatedArgoObjects(root: string, environment: string): KubeObject[] {
  return yamlFiles(join(root, 'apps', environment))
    .filter((path) => !path.endsWith('/root.yaml'))
    .flatMap((path) => parseObjects(readFileSync(path, 'utf8')));
}

export function isApplication(object: KubeObject): object is ApplicationObject {
  return object.kind === 'Application' && object.apiVersion === 'argoproj.io/v1alpha1';
}

export function syncWave(object: KubeObject): number {
  return Number(object.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? '0');
}

/** The Application's sources, whether written as `source` or `sources`. */
export function sourcesOf(application: ApplicationObject): readonly ApplicationSource[] {
  return application.spec.sources ?? (application.spec.source === undefined ? [] : [application.spec.source]);
}

/** The source that renders a chart (not a `ref` source of value files). */
export function chartSource(application: ApplicationObject): ApplicationSource {
  const source = sourcesOf(application).find((candidate) => candidate.ref === undefined);
  if (source === undefined) throw new Error(`${application.metadata.name} has no chart source`);
  return source;
}

/**
 * Renders an Application's in-repository chart exactly as Argo CD would (path, value files with `$values`
 * references resolved, release, namespace), through the validator's own resolution.
 */
export function renderRepositoryChart(root: string, application: ApplicationObject): KubeObject[] {
  const repoURLs = new Set(sourcesOf(application).map((source) => source.repoURL));
  const planned = renderJobsFor(root, application as unknown as JsonObject, 'test', repoURLs);
  const [job] = planned.jobs;
  if (job === undefined || planned.problems.length > 0) {
    throw new Error(`cannot render ${application.metadata.name}: ${JSON.stringify(planned.problems)}`);
  }
  return parseObjects(execFileSync(helm, job.args, { encoding: 'utf8' }));
}

export function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? (apiVersion.split('/')[0] ?? '') : '';
}

/** The objects of one generated Application of an environment, rendered as Argo CD would. */
export function renderedApplication(root: string, environment: string, name: string): KubeObject[] {
  const application = generatedArgoObjects(root, environment)
    .filter(isApplication)
    .find((app) => app.metadata.name === name);
  if (application === undefined) throw new Error(`no Application ${name} in ${environment}`);
  return renderRepositoryChart(root, application);
}
