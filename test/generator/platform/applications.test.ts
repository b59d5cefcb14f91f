import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildOutputs } from '../../../generator/pipeline.ts';
import { PLATFORM_RELEASES } from '../../../generator/platform/releases.ts';
import { platformComponents } from '../../../generator/platform/components.ts';

import { DEFAULT_ALERTS, PLATFORM_SETTING_DEFAULTS } from '../../../generator/platform/settings.ts';
import { kindKey } from '../../../generator/platform/kinds.ts';
import { repoRoot } from '../helpers.ts';
import {
  chartSource,
  generatedArgoObjects,
  isApplication,
  sourcesOf,
  type KubeObject,
} from './platform-helpers.ts';

const { environments } = buildOutputs(repoRoot).repository;
const PINNED = /^v?\d+\.\d+\.\d+$/;

interface ProjectSpec {
  sourceRepos: string[];
  destinations: { namespace: string }[];
  clusterResourceWhitelist?: { group: string; kind: string }[];
  namespaceResourceWhitelist?: { group: string; kind: string }[];
  namespaceResourceBlacklist?: { group: string; kind: string }[];
}

describe.each(environments.map((env) => env.name))('platform Applications of %s', (environment) => {
  const env = environments.find((candidate) => candidate.name === environment);
  if (env === undefined) throw new Error(environment);
  const settings = env.platform;
  const components = platformComponents(settings);
  const objects = generatedArgoObjects(repoRoot, environment);
  const platformApps = objects
    .filter(isApplication)
    .filter((app) => app.metadata.labels?.['switchyard.dev/layer'] === 'platform');
  const byComponent = new Map(
    platformApps.map((app) => [app.metadata.labels?.['app.kubernetes.io/component'], app]),
  );
  const project = (name: string): ProjectSpec =>
    (
      objects.find((object) => object.kind === 'AppProject' && object.metadata.name === name) as
        KubeObject | undefined
    )?.spec as unknown as ProjectSpec;

  it('has one Application per component, in apps/<env>/platform/<component>.yaml', () => {
    expect([...byComponent.keys()].sort()).toEqual(components.map((component) => component.name).sort());
    for (const component of components) {
      const text = readFileSync(
        join(repoRoot, 'apps', environment, 'platform', `${component.name}.yaml`),
        'utf8',
      );
      expect(text).toContain(`name: ${environment}-platform-${component.name}`);
    }
  });

  it('pins every upstream source to an exact release of the environment’s platform release', () => {
    const release = PLATFORM_RELEASES.find((candidate) => candidate.id === settings.release.id);
    const pinned = new Set(Object.values(release?.versions ?? {}).map((pin) => pin.version));
    for (const app of platformApps) {
      const source = chartSource(app);
      if (source.repoURL === settings.argocd.repoURL) {
        expect(source.targetRevision).toBe(settings.argocd.targetRevision);
        const chart = source.path?.split('/').pop() ?? '';
        expect(source.helm?.valueFiles).toEqual([
          `$values/apps/${environment}/values/platform/${chart}.yaml`,
        ]);
        expect(sourcesOf(app)).toContainEqual({
          repoURL: settings.argocd.repoURL,
          targetRevision: settings.argocd.targetRevision,
          ref: 'values',
        });
      } else {
        expect(source.targetRevision, app.metadata.name).toMatch(PINNED);
        expect(pinned.has(source.targetRevision), app.metadata.name).toBe(true);
      }
    }
  });

  it('syncs CRD-bearing Applications server-side, without cascading delete, and CRD-only ones without pruning', () => {
    for (const component of components) {
      const app = byComponent.get(component.name);
      const options = app?.spec.syncPolicy?.syncOptions ?? [];
      if (component.installsCrds.length > 0) {
        expect(options, component.name).toContain('ServerSideApply=true');
        expect(app?.metadata.finalizers ?? [], component.name).toEqual([]);
      }
      if (component.name.endsWith('-crds'))
        expect(app?.spec.syncPolicy?.automated?.prune, component.name).toBe(false);
      if (component.usesKinds.length > 0)
        expect(options, component.name).toContain('SkipDryRunOnMissingResource=true');
      if (component.ignoreDifferences.length > 0)
        expect(options, component.name).toContain('RespectIgnoreDifferences=true');
      expect(app?.spec.syncPolicy, component.name).toMatchObject({ retry: { limit: 10 } });
    }
  });

  it('lets only the environment’s model namespaces (and its own, for /v1/models) attach routes to the gateway', () => {
    const values = parse(
      readFileSync(join(repoRoot, 'apps', environment, 'values/platform/gateway.yaml'), 'utf8'),
    ) as { allowedRoutes: { from: string; namespaces: string[] } };
    const namespaces = [
      ...new Set([...env.models.map((model) => model.namespace), env.platform.gateway.namespace]),
    ].sort();
    expect(values.allowedRoutes).toEqual({ from: 'Selector', namespaces });
  });

  it('ignores injected webhook CA bundles wherever a component runs webhooks', () => {
    const certManager = byComponent.get('cert-manager') as unknown as {
      spec: { ignoreDifferences: unknown[] };
    };
    expect(certManager.spec.ignoreDifferences).toContainEqual({
      group: 'admissionregistration.k8s.io',
      kind: 'ValidatingWebhookConfiguration',
      jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle', '.webhooks[]?.failurePolicy'],
    });
  });

  it('separates the platform and models projects with least privilege', () => {
    const platform = project(`${environment}-platform`);
    const models = project(`${environment}-models`);
    const platformNamespaces = platform.destinations.map((destination) => destination.namespace);
    const modelNamespaces = models.destinations.map((destination) => destination.namespace);
    expect(platformNamespaces.filter((namespace) => modelNamespaces.includes(namespace))).toEqual([]);
    expect(models.sourceRepos).toEqual([settings.argocd.repoURL]);
    expect(models.clusterResourceWhitelist).toEqual([{ group: '', kind: 'Namespace' }]);
    const needed = new Set([
      'Namespace',
      ...components.flatMap((component) => component.clusterKinds.map(kindKey)),
    ]);
    expect(platform.clusterResourceWhitelist?.map(kindKey).sort()).toEqual([...needed].sort());
    expect(platform.namespaceResourceBlacklist).toContainEqual({ group: 'argoproj.io', kind: 'Application' });
    expect(platform.sourceRepos).not.toContain('*');
    expect(platformNamespaces).not.toContain(settings.argocd.namespace);
    const argocdConfig = project(`${environment}-argocd-config`);
    expect(argocdConfig.destinations.map((destination) => destination.namespace)).toEqual([
      settings.argocd.namespace,
    ]);
    expect(argocdConfig.namespaceResourceWhitelist).toEqual([{ group: '', kind: 'ConfigMap' }]);
    expect(argocdConfig.clusterResourceWhitelist).toEqual([]);
    expect(byComponent.get('argocd-config')?.spec.project).toBe(`${environment}-argocd-config`);
  });
});

describe('platform schema defaults', () => {
  it('match the defaults the platform renderers apply', () => {
    const schema = JSON.parse(readFileSync(join(repoRoot, 'schemas/platform.schema.json'), 'utf8')) as {
      properties: Record<
        string,
        {
          properties: Record<
            string,
            { default?: unknown; properties?: Record<string, { default?: unknown }> }
          >;
        }
      >;
    };
    const p = schema.properties;
    const D = PLATFORM_SETTING_DEFAULTS;
    expect(p['gateway']?.properties['exposure']?.default).toBe(D.exposure);
    expect(p['gateway']?.properties['tls']?.properties?.['enabled']?.default).toBe(D.tlsEnabled);
    expect(p['pki']?.properties['caIssuer']?.default).toBe(D.caIssuer);
    expect(p['pki']?.properties['acme']?.properties?.['issuer']?.default).toBe(D.acmeIssuer);
    expect(p['monitoring']?.properties['installCrds']?.default).toBe(D.installCrds);
    expect(p['monitoring']?.properties['dashboardLabels']?.default).toEqual(D.dashboardLabels);
    expect(p['components']?.properties['leaderWorkerSet']?.default).toBe(D.leaderWorkerSet);
    expect(p['components']?.properties['argoRollouts']?.default).toBe(D.argoRollouts);
    expect(p['components']?.properties['kserve']?.default).toBe(D.kserve);
    const alerts = p['monitoring']?.properties['alerts']?.properties ?? {};
    expect(Object.fromEntries(Object.entries(alerts).map(([key, value]) => [key, value.default]))).toEqual(
      DEFAULT_ALERTS,
    );
  });
});
