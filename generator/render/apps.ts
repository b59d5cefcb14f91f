// Argo CD objects of one environment: the root app-of-apps, the AppProject for models and one
// Application per model. The Applications are the truth of what gets deployed: `npm run validate`
// renders each chart exactly with the path, value files, release name and namespace written here.
import type { IApplication, IAppProject } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1';
import type { NormalizedAutoscaling, NormalizedEnvironment, NormalizedModel } from '../normalize/types.ts';
import { modelServerChartDir } from '../model/charts.ts';
import { modelApplicationName, modelsProjectName, rootApplicationName } from '../platform/argocd-names.ts';
import type { OutputFile } from './types.ts';
import { objectFile } from './object-file.ts';
import { valuesDirectoryGlob, valuesFilePath, valuesSource } from './sources.ts';

/** Models sync after every platform component (their waves are below this). */
export const modelSyncWave = '10';
export const appsDir = 'apps';

/** Kinds the model charts create; the models AppProject allows nothing else. */
export const modelNamespacedKinds: readonly { group: string; kind: string }[] = [
  { group: '', kind: 'ConfigMap' },
  { group: '', kind: 'Service' },
  { group: '', kind: 'ServiceAccount' },
  { group: 'apps', kind: 'Deployment' },
  { group: 'leaderworkerset.x-k8s.io', kind: 'LeaderWorkerSet' },
  { group: 'policy', kind: 'PodDisruptionBudget' },
  { group: 'rbac.authorization.k8s.io', kind: 'Role' },
  { group: 'rbac.authorization.k8s.io', kind: 'RoleBinding' },
  { group: 'networking.k8s.io', kind: 'NetworkPolicy' },
  { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' },
  { group: 'inference.networking.k8s.io', kind: 'InferencePool' },
  { group: 'inference.networking.x-k8s.io', kind: 'InferenceObjective' },
  { group: 'inference.networking.x-k8s.io', kind: 'InferenceModelRewrite' },
  { group: 'monitoring.coreos.com', kind: 'PodMonitor' },
  { group: 'monitoring.coreos.com', kind: 'ServiceMonitor' },
  { group: 'cert-manager.io', kind: 'Certificate' },
  { group: 'networking.istio.io', kind: 'DestinationRule' },
];

/** Kinds only a model with a canary rollout creates; the AppProject allows them where one exists. */
export const rolloutKinds: readonly { group: string; kind: string }[] = [
  { group: 'argoproj.io', kind: 'Rollout' },
  { group: 'argoproj.io', kind: 'AnalysisTemplate' },
];

/** The PostSync gate of a version split with analysis; allowed where one exists. */
export const versionGateKinds: readonly { group: string; kind: string }[] = [
  { group: 'argoproj.io', kind: 'AnalysisRun' },
];

/** KServe mode's workload; allowed where a model is served by KServe. */
export const kserveKinds: readonly { group: string; kind: string }[] = [
  { group: 'serving.kserve.io', kind: 'LLMInferenceService' },
];

/** The claim of a shared model cache; allowed where a model has one. */
export const sharedCacheKinds: readonly { group: string; kind: string }[] = [
  { group: '', kind: 'PersistentVolumeClaim' },
];

/** The autoscalers of autoscaled models, by engine; allowed where one exists. */
export const autoscalerKinds: Readonly<
  Record<NormalizedAutoscaling['engine'], readonly { group: string; kind: string }[]>
> = {
  hpa: [{ group: 'autoscaling', kind: 'HorizontalPodAutoscaler' }],
  keda: [{ group: 'keda.sh', kind: 'ScaledObject' }],
};

function modelKinds(env: NormalizedEnvironment): readonly { group: string; kind: string }[] {
  return [
    ...modelNamespacedKinds,
    ...(env.models.some((model) => model.vllm.sharedCacheStorageClass !== undefined) ? sharedCacheKinds : []),
    ...(env.models.some((model) => model.rollout !== undefined) ? rolloutKinds : []),
    ...(env.models.some((model) => model.kserve !== undefined) ? kserveKinds : []),
    ...(env.models.some((model) => model.versionSplit?.analysis !== undefined) ? versionGateKinds : []),
    ...(['hpa', 'keda'] as const).flatMap((engine): readonly { group: string; kind: string }[] =>
      env.models.some((model) => model.autoscaling?.engine === engine) ? autoscalerKinds[engine] : [],
    ),
  ];
}

/**
 * While a canary runs, Argo Rollouts' Gateway API plugin rewrites the model route's weights and labels it; git
 * keeps stable 100 / canary 0. Argo CD ignores those fields (and applies around them: RespectIgnoreDifferences),
 * so self-heal never undoes a step.
 */
function rolloutIgnoreDifferences(
  model: NormalizedModel,
): NonNullable<IApplication['spec']['ignoreDifferences']> {
  return [
    {
      group: 'gateway.networking.k8s.io',
      kind: 'HTTPRoute',
      name: model.names.route,
      namespace: model.namespace,
      jqPathExpressions: [
        '.spec.rules[].backendRefs[]?.weight',
        '.metadata.labels["rollouts.argoproj.io/gatewayapi-canary"]',
      ],
    },
  ];
}

/**
 * Pod Security admission labels of a model namespace. Every chart pod meets the restricted profile, whose volume
 * list predates image volumes: a namespace holding an oci:// model (an image volume) enforces baseline and
 * still audits and warns at restricted. Every model of a namespace gets the same labels.
 */
export function modelNamespaceLabels(env: NormalizedEnvironment, namespace: string): Record<string, string> {
  const imageVolumes = env.models.some((m) => m.namespace === namespace && m.source.kind === 'oci');
  return {
    'pod-security.kubernetes.io/enforce': imageVolumes ? 'baseline' : 'restricted',
    'pod-security.kubernetes.io/audit': 'restricted',
    'pod-security.kubernetes.io/warn': 'restricted',
  };
}

const retry = { limit: 10, backoff: { duration: '10s', factor: 2, maxDuration: '5m' } };

export function rootApplication(env: NormalizedEnvironment): IApplication {
  const { argocd } = env.platform;
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: {
      name: rootApplicationName(env.name),
      namespace: argocd.namespace,
      labels: { 'app.kubernetes.io/part-of': 'switchyard', 'switchyard.dev/environment': env.name },
    },
    spec: {
      project: 'default',
      source: {
        repoURL: argocd.repoURL,
        targetRevision: argocd.targetRevision,
        path: `${appsDir}/${env.name}`,
        // The values files are read by the model and platform Applications, not applied as manifests.
        directory: { recurse: true, exclude: `{root.yaml,${valuesDirectoryGlob}}` },
      },
      destination: { server: argocd.destinationServer, namespace: argocd.namespace },
      syncPolicy: { automated: { prune: true, selfHeal: true }, retry },
    },
  };
}

export function modelsProject(env: NormalizedEnvironment): IAppProject {
  const { argocd } = env.platform;
  const namespaces = [...new Set(env.models.map((m) => m.namespace))].sort();
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AppProject',
    metadata: {
      name: modelsProjectName(env.name),
      namespace: argocd.namespace,
      labels: { 'app.kubernetes.io/part-of': 'switchyard', 'switchyard.dev/environment': env.name },
      finalizers: ['resources-finalizer.argocd.argoproj.io'],
    },
    spec: {
      description: `Models of environment ${env.name}: namespaced serving objects only.`,
      sourceRepos: [argocd.repoURL],
      destinations: namespaces.map((namespace) => ({ server: argocd.destinationServer, namespace })),
      clusterResourceWhitelist: [{ group: '', kind: 'Namespace' }],
      namespaceResourceWhitelist: modelKinds(env).map((k) => ({ group: k.group, kind: k.kind })),
    },
  };
}

export function modelApplication(env: NormalizedEnvironment, model: NormalizedModel): IApplication {
  const { argocd } = env.platform;
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: {
      name: modelApplicationName(env.name, model.name),
      namespace: argocd.namespace,
      labels: {
        'app.kubernetes.io/part-of': 'switchyard',
        'switchyard.dev/environment': env.name,
        'switchyard.dev/model': model.name,
      },
      annotations: { 'argocd.argoproj.io/sync-wave': modelSyncWave },
      finalizers: ['resources-finalizer.argocd.argoproj.io'],
    },
    spec: {
      project: modelsProjectName(env.name),
      sources: [
        {
          repoURL: argocd.repoURL,
          targetRevision: argocd.targetRevision,
          path: modelServerChartDir,
          helm: {
            releaseName: model.name,
            valueFiles: [`$${valuesSource.ref}/${modelValuesPath(env.name, model.name)}`],
          },
        },
        valuesSource.of(argocd),
      ],
      destination: { server: argocd.destinationServer, namespace: model.namespace },
      ...(model.rollout === undefined ? {} : { ignoreDifferences: rolloutIgnoreDifferences(model) }),
      syncPolicy: {
        automated: { prune: true, selfHeal: true },
        syncOptions: [
          'CreateNamespace=true',
          'PruneLast=true',
          ...(model.rollout === undefined ? [] : ['RespectIgnoreDifferences=true']),
        ],
        managedNamespaceMetadata: { labels: modelNamespaceLabels(env, model.namespace) },
        retry,
      },
    },
  };
}

/** apps/<env>/values/models/<model>.yaml: the model's values for the model-server chart. */
export function modelValuesPath(environment: string, model: string): string {
  return valuesFilePath(environment, 'models', model);
}

/** The root Application, the models AppProject and one Application per model of one environment. */
export function renderModelApps(env: NormalizedEnvironment): OutputFile[] {
  const dir = `${appsDir}/${env.name}`;
  const file = (path: string, object: IApplication | IAppProject): OutputFile =>
    objectFile(path, env.name, object);
  return [
    file(`${dir}/root.yaml`, rootApplication(env)),
    file(`${dir}/projects/models.yaml`, modelsProject(env)),
    ...env.models.map((model) => file(`${dir}/models/${model.name}.yaml`, modelApplication(env, model))),
  ];
}
