// Where an Application finds a chart's values: a multi-source Application renders a chart of this repository
// with value files from a second source of the same repository, referenced as `$values/<path>`, the layout
// Argo CD documents for values kept beside a shared chart.
import type { IComGithubArgoprojArgoCdV3PkgApisApplicationV1alpha1ApplicationSource as ApplicationSource } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/ApplicationSource';
import type { OutputFile } from './types.ts';
import { yamlFile } from './yaml.ts';

export const valuesSource = {
  ref: 'values',
  of(argocd: { readonly repoURL: string; readonly targetRevision: string }): ApplicationSource {
    return { repoURL: argocd.repoURL, targetRevision: argocd.targetRevision, ref: valuesSource.ref };
  },
} as const;

/** apps/<env>/values/<layer>/<name>.yaml. The root Application excludes values/ from what it applies. */
export function valuesFilePath(environment: string, layer: 'models' | 'platform', name: string): string {
  return `apps/${environment}/values/${layer}/${name}.yaml`;
}

export const valuesDirectoryGlob = 'values/**';

export function valuesFile(
  path: string,
  environment: string,
  values: Readonly<Record<string, unknown>>,
): OutputFile {
  return { path, content: yamlFile(values), environment };
}
