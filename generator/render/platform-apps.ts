import type { IAppProject } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/AppProject';
import type { IApplication } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application';
import type { IComGithubArgoprojArgoCdV3PkgApisApplicationV1alpha1ApplicationSource as ApplicationSource } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/ApplicationSource';
import {
  argocdConfigProjectName,
  platformApplicationName,
  platformProjectName,
} from '../platform/argocd-names.ts';
import { CLUSTER_KINDS, kindKey, type KindRef } from '../platform/kinds.ts';
import { SYNC_WAVES, type PlatformComponent } from '../platform/components.ts';
import type { PlatformSettings } from '../platform/settings.ts';
import { platformChartsDir } from '../model/charts.ts';
import type { NormalizedEnvironment } from '../normalize/types.ts';
import { objectFile } from './object-file.ts';
import { valuesFile, valuesFilePath, valuesSource } from './sources.ts';
import type { OutputFile } from './types.ts';

const CASCADE_FINALIZER = 'resources-finalizer.argocd.argoproj.io';

/** apps/<env>/values/platform/<chart>.yaml: what an environment sets in one of our platform charts. */
export function platformValuesPath(environment: string, chart: string): string {
  return valuesFilePath(environment, 'platform', chart);
}

function applicationSources(component: PlatformComponent, settings: PlatformSettings): ApplicationSource[] {
  const source = component.source;
  switch (source.type) {
    case 'helm':
      return [
        {
          repoURL: source.repoURL,
          chart: source.chart,
          targetRevision: source.version,
          helm: { releaseName: component.name, valuesObject: source.values },
        },
      ];
    case 'git':
      return [
        {
          repoURL: source.repoURL,
          path: source.path,
          targetRevision: source.tag,
          directory: { include: source.include },
        },
      ];
    case 'local':
      return [
        {
          repoURL: settings.argocd.repoURL,
          path: `${platformChartsDir}/${source.chart}`,
          targetRevision: settings.argocd.targetRevision,
          helm: {
            releaseName: component.name,
            valueFiles: [`$${valuesSource.ref}/${platformValuesPath(settings.environment, source.chart)}`],
          },
        },
        valuesSource.of(settings.argocd),
      ];
  }
}

/** One source as `source`, several as `sources` (Argo CD's multi-source form). */
function sourceFields(
  sources: ApplicationSource[],
): { source: ApplicationSource } | { sources: ApplicationSource[] } {
  const [only] = sources;
  return sources.length === 1 && only !== undefined ? { source: only } : { sources };
}

/** CRD-only Applications: deleting or pruning them must never take CRDs (and so every custom resource) away. */
function installsOnlyCrds(component: PlatformComponent): boolean {
  return component.installsCrds.length > 0 && component.name.endsWith('-crds');
}

function installsCrdsOrConfiguresArgoCd(component: PlatformComponent): boolean {
  return component.installsCrds.length > 0 || component.configuresArgoCd === true;
}

function syncOptions(component: PlatformComponent): string[] {
  const options = ['CreateNamespace=true'];
  // Large CRDs exceed the 256 KiB last-applied annotation of client-side apply.
  if (installsCrdsOrConfiguresArgoCd(component)) options.push('ServerSideApply=true');
  // Kinds installed by an earlier Application are unknown to the dry run until that sync has finished.
  if (component.usesKinds.length > 0) options.push('SkipDryRunOnMissingResource=true');
  if (component.ignoreDifferences.length > 0) options.push('RespectIgnoreDifferences=true');
  return options;
}

export function renderPlatformApplication(
  component: PlatformComponent,
  settings: PlatformSettings,
): IApplication {
  const crdOnly = installsOnlyCrds(component);
  const application: IApplication = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: {
      name: platformApplicationName(settings.environment, component.name),
      namespace: settings.argocd.namespace,
      annotations: { 'argocd.argoproj.io/sync-wave': String(component.wave) },
      labels: {
        'app.kubernetes.io/component': component.name,
        'app.kubernetes.io/part-of': 'switchyard',
        'switchyard.dev/environment': settings.environment,
        'switchyard.dev/layer': 'platform',
      },
      // No cascading delete where the Application carries CRDs or Argo CD's own configuration.
      ...(installsCrdsOrConfiguresArgoCd(component) ? {} : { finalizers: [CASCADE_FINALIZER] }),
    },
    spec: {
      project: component.configuresArgoCd
        ? argocdConfigProjectName(settings.environment)
        : platformProjectName(settings.environment),
      destination: { server: settings.argocd.destinationServer, namespace: component.namespace },
      ...sourceFields(applicationSources(component, settings)),
      syncPolicy: {
        automated: { prune: !crdOnly, selfHeal: true },
        syncOptions: syncOptions(component),
        retry: { limit: 10, backoff: { duration: '10s', factor: 2, maxDuration: '5m' } },
        ...(component.namespaceLabels
          ? { managedNamespaceMetadata: { labels: { ...component.namespaceLabels } } }
          : {}),
      },
      ...(component.ignoreDifferences.length > 0
        ? {
            ignoreDifferences: component.ignoreDifferences.map((difference) => ({
              group: difference.group,
              kind: difference.kind,
              jqPathExpressions: [...difference.jqPathExpressions],
            })),
          }
        : {}),
    },
  };
  return application;
}

function uniqueKinds(refs: readonly KindRef[]): { group: string; kind: string }[] {
  const byKey = new Map<string, KindRef>();
  for (const ref of refs) byKey.set(kindKey(ref), ref);
  return [...byKey.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, ref]) => ({ group: ref.group, kind: ref.kind }));
}

function sourceRepository(component: PlatformComponent, settings: PlatformSettings): string {
  return component.source.type === 'local' ? settings.argocd.repoURL : component.source.repoURL;
}

/**
 * The platform AppProject: only the repositories, namespaces and cluster-scoped kinds the enabled
 * components need. Models live in their own project and cannot reach any of these namespaces.
 */
export function renderPlatformProject(
  allComponents: readonly PlatformComponent[],
  settings: PlatformSettings,
): IAppProject {
  const components = allComponents.filter((component) => component.configuresArgoCd !== true);
  const repositories = [
    ...new Set(components.map((component) => sourceRepository(component, settings))),
  ].sort();
  const namespaces = [...new Set(components.map((component) => component.namespace))].sort();
  const clusterKinds = uniqueKinds([
    CLUSTER_KINDS.namespace,
    ...components.flatMap((component) => component.clusterKinds),
  ]);
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AppProject',
    metadata: platformProjectMetadata(platformProjectName(settings.environment), settings),
    spec: {
      description: `Shared platform of the ${settings.environment} environment: CRDs, controllers, mesh, gateway, PKI, monitoring`,
      sourceRepos: repositories,
      destinations: namespaces.map((namespace) => ({ server: settings.argocd.destinationServer, namespace })),
      clusterResourceWhitelist: clusterKinds,
      // Platform Applications never create Argo CD objects: an Application written here could pick any project.
      namespaceResourceBlacklist: [
        { group: 'argoproj.io', kind: 'AppProject' },
        { group: 'argoproj.io', kind: 'Application' },
        { group: 'argoproj.io', kind: 'ApplicationSet' },
      ],
      orphanedResources: { warn: true },
    },
  };
}

/** Metadata of the platform layer's AppProjects: created just before the argocd-config wave. */
function platformProjectMetadata(name: string, settings: PlatformSettings): IAppProject['metadata'] {
  return {
    name,
    namespace: settings.argocd.namespace,
    annotations: { 'argocd.argoproj.io/sync-wave': String(SYNC_WAVES.argocdConfig - 1) },
    labels: {
      'app.kubernetes.io/part-of': 'switchyard',
      'switchyard.dev/environment': settings.environment,
      'switchyard.dev/layer': 'platform',
    },
    finalizers: [CASCADE_FINALIZER],
  };
}

/** The project of the argocd-config Application: this repository, Argo CD's namespace, ConfigMaps only. */
export function renderArgocdConfigProject(settings: PlatformSettings): IAppProject {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AppProject',
    metadata: platformProjectMetadata(argocdConfigProjectName(settings.environment), settings),
    spec: {
      description: `Argo CD settings (argocd-cm keys) the ${settings.environment} platform relies on`,
      sourceRepos: [settings.argocd.repoURL],
      destinations: [{ server: settings.argocd.destinationServer, namespace: settings.argocd.namespace }],
      clusterResourceWhitelist: [],
      namespaceResourceWhitelist: [{ group: '', kind: 'ConfigMap' }],
    },
  };
}

/** The platform AppProjects, one Application per component and our charts' values, for one environment. */
export function renderPlatformEnvironment(
  env: NormalizedEnvironment,
  chartValues: (chart: string, settings: PlatformSettings) => Record<string, unknown>,
): OutputFile[] {
  const platform = env.platform;
  const environment = env.name;
  const files: OutputFile[] = [
    objectFile(
      `apps/${environment}/projects/platform.yaml`,
      environment,
      renderPlatformProject(platform.installed, platform),
    ),
    objectFile(
      `apps/${environment}/projects/argocd-config.yaml`,
      environment,
      renderArgocdConfigProject(platform),
    ),
  ];
  for (const component of platform.installed) {
    files.push(
      objectFile(
        `apps/${environment}/platform/${component.name}.yaml`,
        environment,
        renderPlatformApplication(component, platform),
      ),
    );
    if (component.source.type === 'local') {
      const chart = component.source.chart;
      files.push(
        valuesFile(platformValuesPath(environment, chart), environment, chartValues(chart, platform)),
      );
    }
  }
  return files;
}
