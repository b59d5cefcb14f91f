import { describe, expect, it } from 'vitest';
import {
  applicationPermissionErrors,
  globMatch,
  isClusterScoped,
  projectRules,
  resourcePermissionError,
} from '../../../generator/verify/projects.ts';

const project = projectRules({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'AppProject',
  metadata: { name: 'models' },
  spec: {
    sourceRepos: ['https://git.example.com/*', '!https://git.example.com/forbidden.git'],
    destinations: [{ server: 'https://kubernetes.default.svc', namespace: 'llm-*' }],
    clusterResourceWhitelist: [{ group: '', kind: 'Namespace' }],
    namespaceResourceBlacklist: [{ group: 'argoproj.io', kind: '*' }],
  },
});

function application(repoURL: string, namespace: string): Record<string, unknown> {
  return {
    spec: {
      source: { repoURL, path: 'charts/models/a' },
      destination: { server: 'https://kubernetes.default.svc', namespace },
    },
  };
}

describe('AppProject rules', () => {
  it('matches Argo CD globs', () => {
    expect(globMatch('*', 'anything')).toBe(true);
    expect(globMatch('llm-*', 'llm-dev')).toBe(true);
    expect(globMatch('llm-*', 'llm')).toBe(false);
    expect(globMatch('a.b', 'axb')).toBe(false);
    expect(globMatch('v?', 'v1')).toBe(true);
  });

  it('checks source repositories with negations and destinations', () => {
    expect(
      applicationPermissionErrors(application('https://git.example.com/p.git', 'llm-dev'), project, 'models'),
    ).toEqual([]);
    expect(
      applicationPermissionErrors(
        application('https://git.example.com/forbidden.git', 'default'),
        project,
        'models',
      ),
    ).toEqual([
      {
        path: 'spec.source.repoURL',
        message: 'AppProject models does not permit source repository https://git.example.com/forbidden.git',
      },
      {
        path: 'spec.destination',
        message:
          'AppProject models does not permit destination https://kubernetes.default.svc namespace default',
      },
    ]);
  });

  it('allows every namespaced kind without a whitelist, except blacklisted ones, and only whitelisted cluster kinds', () => {
    expect(resourcePermissionError(project, 'models', 'apps', 'Deployment', false)).toBeUndefined();
    expect(resourcePermissionError(project, 'models', 'argoproj.io', 'Rollout', false)).toBe(
      'AppProject models does not permit namespaced argoproj.io/Rollout',
    );
    expect(resourcePermissionError(project, 'models', '', 'Namespace', true)).toBeUndefined();
    expect(resourcePermissionError(project, 'models', 'rbac.authorization.k8s.io', 'ClusterRole', true)).toBe(
      'AppProject models does not permit cluster-scoped rbac.authorization.k8s.io/ClusterRole',
    );
  });

  it('knows the scope of well-known kinds and prefers the CRD scope', () => {
    expect(isClusterScoped('', 'Namespace', undefined)).toBe(true);
    expect(isClusterScoped('apps', 'Deployment', undefined)).toBe(false);
    expect(isClusterScoped('example.com', 'Widget', 'Cluster')).toBe(true);
  });
});
