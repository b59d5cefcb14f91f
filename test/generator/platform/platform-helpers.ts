// Helpers of the platform tests: reading generated Argo CD objects and rendering charts with real helm.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
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

export interface ApplicationObject extends KubeObject {
  readonly spec: {
    readonly project: string;
    readonly destination: { readonly namespace?: string };
    readonly source: {
      readonly repoURL: string;
      readonly path?: string;
      readonly chart?: string;
      readonly targetRevision: string;
      readonly helm?: { readonly releaseName?: string; readonly valueFiles?: string[] };
      readonly directory?: { readonly include?: string };
    };
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

/** Renders an Application's in-repository chart exactly as Argo CD would (path, value files, release, namespace). */
export function renderRepositoryChart(root: string, application: ApplicationObject): KubeObject[] {
  const source = application.spec.source;
  if (source.path === undefined || source.chart !== undefined)
    throw new Error('not a chart of this repository');
  const chartDir = join(root, source.path);
  const args = ['template', source.helm?.releaseName ?? application.metadata.name, chartDir];
  for (const file of source.helm?.valueFiles ?? []) args.push('-f', join(chartDir, file));
  args.push('--namespace', application.spec.destination.namespace ?? 'default');
  return parseObjects(execFileSync(helm, args, { encoding: 'utf8' }));
}

export function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? (apiVersion.split('/')[0] ?? '') : '';
}
