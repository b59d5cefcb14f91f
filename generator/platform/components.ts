import { CLOUD_PROFILES } from './clouds.ts';
import { CLUSTER_KINDS, CRD_BUNDLES, type KindRef } from './kinds.ts';
import type { PlatformSettings } from './settings.ts';

/** Sync waves of the platform's Applications, in dependency order; models come after all of them. */
export const SYNC_WAVES = {
  argocdConfig: -50,
  crds: -40,
  certManager: -30,
  issuers: -25,
  meshBase: -20,
  meshControlPlane: -15,
  controllers: -10,
  controllerPresets: -8,
  gateway: -5,
  monitoring: -5,
  models: 10,
} as const;

/** Wave of model Applications: after every platform component. */
export const MODEL_SYNC_WAVE = SYNC_WAVES.models;

export interface HelmRepositorySource {
  readonly type: 'helm';
  /** Helm repository URL, or an OCI registry path without the oci:// scheme (as Argo CD expects). */
  readonly repoURL: string;
  readonly chart: string;
  readonly version: string;
  readonly values: Readonly<Record<string, unknown>>;
}

export interface GitManifestsSource {
  readonly type: 'git';
  readonly repoURL: string;
  readonly path: string;
  readonly tag: string;
  /** Glob of the manifest files to apply from `path`. */
  readonly include: string;
}

/** One of this repository's generated charts, charts/platform/<chart>. */
export interface LocalChartSource {
  readonly type: 'local';
  readonly chart: string;
}

export type ComponentSource = HelmRepositorySource | GitManifestsSource | LocalChartSource;

export interface IgnoredDifference {
  readonly group: string;
  readonly kind: string;
  readonly jqPathExpressions: readonly string[];
}

export interface PlatformComponent {
  readonly name: string;
  readonly description: string;
  readonly wave: number;
  readonly namespace: string;
  readonly source: ComponentSource;
  /** Custom kinds whose CRDs this component installs. */
  readonly installsCrds: readonly KindRef[];
  /** Custom kinds this component creates objects of (upstream charts: declared; our charts: checked by tests). */
  readonly usesKinds: readonly KindRef[];
  /** Cluster-scoped kinds it creates, for the AppProject whitelist. */
  readonly clusterKinds: readonly KindRef[];
  readonly ignoreDifferences: readonly IgnoredDifference[];
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** Namespaces its objects create besides `namespace` (models must not deploy there either). */
  readonly createsNamespaces?: readonly string[];
  /**
   * Patches Argo CD's own settings: it gets a project of its own that may touch nothing but ConfigMaps
   * in Argo CD's namespace, instead of widening the platform project.
   */
  readonly configuresArgoCd?: true;
}

const WEBHOOK_CA_BUNDLES: readonly IgnoredDifference[] = [
  {
    group: 'admissionregistration.k8s.io',
    kind: 'MutatingWebhookConfiguration',
    jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle'],
  },
  {
    group: 'admissionregistration.k8s.io',
    kind: 'ValidatingWebhookConfiguration',
    jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle', '.webhooks[]?.failurePolicy'],
  },
];

const CRD_CONVERSION_CA_BUNDLE: IgnoredDifference = {
  group: 'apiextensions.k8s.io',
  kind: 'CustomResourceDefinition',
  jqPathExpressions: ['.spec.conversion.webhook.clientConfig.caBundle'],
};

const API_SERVICE_CA_BUNDLE: IgnoredDifference = {
  group: 'apiregistration.k8s.io',
  kind: 'APIService',
  jqPathExpressions: ['.spec.caBundle'],
};

/**
 * vLLM's gauges as per-pod custom metrics (custom.metrics.k8s.io): the autoscalers of autoscaled models read
 * them by these names (charts/model-server/templates/vllm-autoscalers.yaml). Prometheus names hold colons, which
 * metric names of the API may not.
 */
export const VLLM_CUSTOM_METRICS = {
  waitingRequests: 'vllm_num_requests_waiting',
  kvCacheUsage: 'vllm_kv_cache_usage_perc',
} as const;

const VLLM_CUSTOM_METRIC_RULES = Object.entries({
  'vllm:num_requests_waiting': VLLM_CUSTOM_METRICS.waitingRequests,
  'vllm:kv_cache_usage_perc': VLLM_CUSTOM_METRICS.kvCacheUsage,
}).map(([series, name]) => ({
  seriesQuery: `${series}{namespace!="",pod!=""}`,
  resources: { overrides: { namespace: { resource: 'namespace' }, pod: { resource: 'pod' } } },
  name: { matches: `^${series}$`, as: name },
  metricsQuery: 'max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)',
}));

const RBAC_AND_WEBHOOKS: readonly KindRef[] = [
  CLUSTER_KINDS.clusterRole,
  CLUSTER_KINDS.clusterRoleBinding,
  CLUSTER_KINDS.mutatingWebhook,
  CLUSTER_KINDS.validatingWebhook,
];

const SERVICE_MONITOR: KindRef = { group: 'monitoring.coreos.com', kind: 'ServiceMonitor' };
const CERTIFICATE: KindRef = { group: 'cert-manager.io', kind: 'Certificate' };
const ISSUER: KindRef = { group: 'cert-manager.io', kind: 'Issuer' };

/** Namespace of the Istio CNI node agent the istio-control-plane chart creates (OpenShift). */
export const ISTIO_CNI_NAMESPACE = 'istio-cni';

export const ROLLOUTS_GATEWAY_PLUGIN_NAME = 'argoproj-labs/gatewayAPI';

function rolloutsPluginLocation(version: string): string {
  return `https://github.com/argoproj-labs/rollouts-plugin-trafficrouter-gatewayapi/releases/download/${version}/gatewayapi-plugin-linux-amd64`;
}

/**
 * CRDs an environment relies on without installing them: the Gateway API CRDs a distribution manages
 * itself (OpenShift), and the Prometheus Operator CRDs of an existing monitoring stack.
 */
export function clusterProvidedCrds(settings: PlatformSettings): KindRef[] {
  return [
    ...(CLOUD_PROFILES[settings.cloud].installsGatewayApiCrds ? [] : CRD_BUNDLES.gatewayApi),
    ...(settings.monitoring.enabled && !settings.monitoring.installCrds
      ? CRD_BUNDLES.prometheusOperator
      : []),
  ];
}

/** The platform components of one environment, in wave order, from its settings and release. */
export function platformComponents(settings: PlatformSettings): PlatformComponent[] {
  const versions = settings.release.versions;
  const cloud = CLOUD_PROFILES[settings.cloud];
  const monitoring = settings.monitoring.enabled;
  const components: PlatformComponent[] = [];

  components.push({
    name: 'argocd-config',
    description: 'Argo CD health checks, diff rules and resource exclusions (argocd-cm keys)',
    wave: SYNC_WAVES.argocdConfig,
    namespace: settings.argocd.namespace,
    source: { type: 'local', chart: 'argocd-config' },
    installsCrds: [],
    usesKinds: [],
    clusterKinds: [],
    ignoreDifferences: [],
    configuresArgoCd: true,
  });

  if (cloud.installsGatewayApiCrds) {
    components.push({
      name: 'gateway-api-crds',
      description: 'Gateway API CRDs, standard channel',
      wave: SYNC_WAVES.crds,
      namespace: 'default',
      source: {
        type: 'git',
        repoURL: 'https://github.com/kubernetes-sigs/gateway-api.git',
        path: 'config/crd/standard',
        tag: versions.gatewayApi,
        include: 'gateway.networking.k8s.io_*.yaml',
      },
      installsCrds: CRD_BUNDLES.gatewayApi,
      usesKinds: [],
      // The standard channel also ships a safe-upgrades ValidatingAdmissionPolicy and aggregated roles.
      clusterKinds: [
        CLUSTER_KINDS.crd,
        CLUSTER_KINDS.validatingAdmissionPolicy,
        CLUSTER_KINDS.validatingAdmissionPolicyBinding,
        CLUSTER_KINDS.clusterRole,
      ],
      ignoreDifferences: [],
    });
  }

  components.push({
    name: 'inference-crds',
    description:
      'Gateway API inference extension CRDs (InferencePool v1, InferenceObjective, InferenceModelRewrite)',
    wave: SYNC_WAVES.crds,
    namespace: 'default',
    source: {
      type: 'git',
      repoURL: 'https://github.com/kubernetes-sigs/gateway-api-inference-extension.git',
      path: 'config/crd/bases',
      tag: versions.inferenceExtension,
      include: 'inference.networking.*.yaml',
    },
    installsCrds: CRD_BUNDLES.inferenceExtension,
    usesKinds: [],
    clusterKinds: [CLUSTER_KINDS.crd],
    ignoreDifferences: [],
  });

  if (monitoring && settings.monitoring.installCrds) {
    components.push({
      name: 'prometheus-operator-crds',
      description: 'Prometheus Operator CRDs (PodMonitor, ServiceMonitor, PrometheusRule)',
      wave: SYNC_WAVES.crds,
      namespace: settings.monitoring.namespace,
      source: {
        type: 'helm',
        repoURL: 'https://prometheus-community.github.io/helm-charts',
        chart: 'prometheus-operator-crds',
        version: versions.prometheusOperatorCrds,
        values: {},
      },
      installsCrds: CRD_BUNDLES.prometheusOperator,
      usesKinds: [],
      clusterKinds: [CLUSTER_KINDS.crd],
      ignoreDifferences: [],
    });
  }

  if (settings.components.kserve) {
    components.push({
      name: 'kserve-crds',
      description: 'KServe LLMInferenceService CRDs',
      wave: SYNC_WAVES.crds,
      namespace: 'kserve',
      source: {
        type: 'helm',
        repoURL: 'ghcr.io/kserve/charts',
        chart: 'kserve-llmisvc-crd',
        version: versions.kserve,
        values: {},
      },
      installsCrds: CRD_BUNDLES.kserve,
      usesKinds: [],
      clusterKinds: [CLUSTER_KINDS.crd],
      ignoreDifferences: [CRD_CONVERSION_CA_BUNDLE],
    });
  }

  components.push({
    name: 'cert-manager',
    description: 'cert-manager controller, cainjector and webhook, with its CRDs',
    wave: SYNC_WAVES.certManager,
    namespace: 'cert-manager',
    source: {
      type: 'helm',
      repoURL: 'https://charts.jetstack.io',
      chart: 'cert-manager',
      version: versions.certManager,
      values: {
        crds: { enabled: true, keep: true },
        prometheus: { enabled: monitoring, servicemonitor: { enabled: monitoring } },
        // ACME HTTP-01 through the shared Gateway needs cert-manager's Gateway API support.
        ...(settings.pki.acme === null
          ? {}
          : {
              config: {
                apiVersion: 'controller.config.cert-manager.io/v1alpha1',
                kind: 'ControllerConfiguration',
                enableGatewayAPI: true,
              },
            }),
      },
    },
    installsCrds: CRD_BUNDLES.certManager,
    usesKinds: monitoring ? [SERVICE_MONITOR] : [],
    clusterKinds: [CLUSTER_KINDS.crd, ...RBAC_AND_WEBHOOKS],
    ignoreDifferences: WEBHOOK_CA_BUNDLES,
  });

  components.push({
    name: 'pki',
    description: 'Self-signed root issuer, CA certificate and CA ClusterIssuer; optional ACME issuer',
    wave: SYNC_WAVES.issuers,
    namespace: settings.pki.namespace,
    source: { type: 'local', chart: 'pki' },
    installsCrds: [],
    usesKinds: [{ group: 'cert-manager.io', kind: 'ClusterIssuer' }, CERTIFICATE],
    clusterKinds: [CLUSTER_KINDS.clusterIssuer],
    ignoreDifferences: [],
  });

  const inferenceEnv = { ENABLE_GATEWAY_API_INFERENCE_EXTENSION: 'true' };
  if (cloud.meshInstall === 'istio-charts') {
    components.push({
      name: 'istio-base',
      description: 'Istio CRDs and cluster roles (istio/base chart)',
      wave: SYNC_WAVES.meshBase,
      namespace: 'istio-system',
      source: {
        type: 'helm',
        repoURL: 'https://istio-release.storage.googleapis.com/charts',
        chart: 'base',
        version: versions.istio,
        values: { defaultRevision: 'default' },
      },
      installsCrds: CRD_BUNDLES.istio,
      usesKinds: [],
      clusterKinds: [CLUSTER_KINDS.crd, ...RBAC_AND_WEBHOOKS],
      ignoreDifferences: WEBHOOK_CA_BUNDLES,
    });
    components.push({
      name: 'istiod',
      description: 'Istio control plane with the Gateway API inference extension enabled',
      wave: SYNC_WAVES.meshControlPlane,
      namespace: 'istio-system',
      source: {
        type: 'helm',
        repoURL: 'https://istio-release.storage.googleapis.com/charts',
        chart: 'istiod',
        version: versions.istio,
        values: {
          meshConfig: { defaultConfig: { proxyMetadata: inferenceEnv } },
          pilot: { env: inferenceEnv },
        },
      },
      installsCrds: [],
      usesKinds: [],
      clusterKinds: RBAC_AND_WEBHOOKS,
      ignoreDifferences: WEBHOOK_CA_BUNDLES,
    });
  } else {
    components.push({
      name: 'sail-operator',
      description: 'Sail operator (Istio lifecycle) with the Istio CRDs',
      wave: SYNC_WAVES.meshBase,
      namespace: 'sail-operator',
      source: {
        type: 'helm',
        repoURL: 'https://istio-ecosystem.github.io/sail-operator',
        chart: 'sail-operator',
        version: versions.sailOperator,
        values: {},
      },
      installsCrds: [...CRD_BUNDLES.sailOperator, ...CRD_BUNDLES.istio],
      usesKinds: [],
      clusterKinds: [CLUSTER_KINDS.crd, ...RBAC_AND_WEBHOOKS],
      ignoreDifferences: WEBHOOK_CA_BUNDLES,
    });
    components.push({
      name: 'istio-control-plane',
      description: 'Istio and IstioCNI resources reconciled by the Sail operator',
      wave: SYNC_WAVES.meshControlPlane,
      namespace: 'istio-system',
      source: { type: 'local', chart: 'istio-control-plane' },
      installsCrds: [],
      usesKinds: [
        { group: 'sailoperator.io', kind: 'Istio' },
        { group: 'sailoperator.io', kind: 'IstioCNI' },
      ],
      clusterKinds: [CLUSTER_KINDS.sailIstio, CLUSTER_KINDS.sailIstioCni],
      ignoreDifferences: [],
      createsNamespaces: [ISTIO_CNI_NAMESPACE],
    });
  }

  if (settings.components.leaderWorkerSet) {
    components.push({
      name: 'lws',
      description: 'LeaderWorkerSet controller and CRD, for models whose replicas span nodes',
      wave: SYNC_WAVES.controllers,
      namespace: 'lws-system',
      source: {
        type: 'helm',
        repoURL: 'registry.k8s.io/lws/charts',
        chart: 'lws',
        version: versions.leaderWorkerSet,
        values: { enableCertManager: true, enablePrometheus: monitoring },
      },
      installsCrds: CRD_BUNDLES.leaderWorkerSet,
      usesKinds: [CERTIFICATE, ISSUER, ...(monitoring ? [SERVICE_MONITOR] : [])],
      clusterKinds: [CLUSTER_KINDS.crd, ...RBAC_AND_WEBHOOKS],
      ignoreDifferences: [...WEBHOOK_CA_BUNDLES, CRD_CONVERSION_CA_BUNDLE],
    });
  }

  if (settings.components.kserve) {
    components.push({
      name: 'kserve',
      description: 'KServe LLMInferenceService controller (kserve mode)',
      wave: SYNC_WAVES.controllers,
      namespace: 'kserve',
      source: {
        type: 'helm',
        repoURL: 'ghcr.io/kserve/charts',
        chart: 'kserve-llmisvc-resources',
        version: versions.kserve,
        values: {
          kserve: {
            controller: {
              gateway: {
                ingressGateway: {
                  enableGatewayApi: true,
                  kserveGateway: `${settings.gateway.namespace}/${settings.gateway.name}`,
                },
              },
            },
          },
        },
      },
      installsCrds: [],
      usesKinds: [
        CERTIFICATE,
        ISSUER,
        ...CRD_BUNDLES.kserve.filter((ref) => ref.kind === 'LLMInferenceServiceConfig'),
      ],
      clusterKinds: RBAC_AND_WEBHOOKS,
      ignoreDifferences: WEBHOOK_CA_BUNDLES,
    });
    components.push({
      name: 'kserve-presets',
      description: 'KServe presets the controller looks up and does not ship (pipeline-parallel workers)',
      // After the controller: its webhook validates LLMInferenceServiceConfigs.
      wave: SYNC_WAVES.controllerPresets,
      namespace: 'kserve',
      source: { type: 'local', chart: 'kserve-presets' },
      installsCrds: [],
      usesKinds: CRD_BUNDLES.kserve.filter((ref) => ref.kind === 'LLMInferenceServiceConfig'),
      clusterKinds: [],
      ignoreDifferences: [],
    });
  }

  if (settings.components.argoRollouts) {
    components.push({
      name: 'argo-rollouts',
      description: 'Argo Rollouts controller with the Gateway API traffic-router plugin',
      wave: SYNC_WAVES.controllers,
      namespace: 'argo-rollouts',
      source: {
        type: 'helm',
        repoURL: 'https://argoproj.github.io/argo-helm',
        chart: 'argo-rollouts',
        version: versions.argoRollouts,
        values: {
          keepCRDs: true,
          controller: {
            metrics: { enabled: monitoring, serviceMonitor: { enabled: monitoring } },
            trafficRouterPlugins: [
              {
                name: ROLLOUTS_GATEWAY_PLUGIN_NAME,
                location: rolloutsPluginLocation(versions.rolloutsGatewayPlugin),
              },
            ],
          },
          providerRBAC: {
            additionalRules: [
              { apiGroups: [''], resources: ['services'], verbs: ['get'] },
              {
                apiGroups: ['gateway.networking.k8s.io'],
                resources: ['httproutes', 'grpcroutes', 'tcproutes', 'tlsroutes'],
                verbs: ['get', 'list', 'update', 'patch'],
              },
            ],
          },
        },
      },
      installsCrds: CRD_BUNDLES.argoRollouts,
      usesKinds: monitoring ? [SERVICE_MONITOR] : [],
      clusterKinds: [CLUSTER_KINDS.crd, CLUSTER_KINDS.clusterRole, CLUSTER_KINDS.clusterRoleBinding],
      ignoreDifferences: [],
    });
  }

  if (settings.components.keda) {
    components.push({
      name: 'keda',
      description: 'KEDA, scaling autoscaled models on vLLM’s queue in Prometheus',
      wave: SYNC_WAVES.controllers,
      namespace: 'keda',
      source: {
        type: 'helm',
        repoURL: 'https://kedacore.github.io/charts',
        chart: 'keda',
        version: versions.keda,
        values: {
          prometheus: { operator: { enabled: monitoring, serviceMonitor: { enabled: monitoring } } },
        },
      },
      installsCrds: CRD_BUNDLES.keda,
      usesKinds: monitoring ? [SERVICE_MONITOR] : [],
      clusterKinds: [CLUSTER_KINDS.crd, ...RBAC_AND_WEBHOOKS, CLUSTER_KINDS.apiService],
      ignoreDifferences: [...WEBHOOK_CA_BUNDLES, API_SERVICE_CA_BUNDLE],
    });
  }

  if (settings.components.prometheusAdapter) {
    const prometheus = new URL(settings.monitoring.prometheusUrl);
    components.push({
      name: 'prometheus-adapter',
      description:
        'prometheus-adapter, serving vLLM’s queue and KV-cache use as custom metrics to autoscalers',
      wave: SYNC_WAVES.controllers,
      namespace: settings.monitoring.namespace,
      source: {
        type: 'helm',
        repoURL: 'https://prometheus-community.github.io/helm-charts',
        chart: 'prometheus-adapter',
        version: versions.prometheusAdapter,
        values: {
          prometheus: {
            url: `${prometheus.protocol}//${prometheus.hostname}`,
            port: Number(prometheus.port || (prometheus.protocol === 'https:' ? 443 : 80)),
            path: prometheus.pathname === '/' ? '' : prometheus.pathname,
          },
          rules: { default: false, custom: VLLM_CUSTOM_METRIC_RULES },
        },
      },
      installsCrds: [],
      usesKinds: [],
      clusterKinds: [CLUSTER_KINDS.clusterRole, CLUSTER_KINDS.clusterRoleBinding, CLUSTER_KINDS.apiService],
      ignoreDifferences: [API_SERVICE_CA_BUNDLE],
    });
  }

  components.push({
    name: 'gateway',
    description: `The shared ${settings.gateway.name} Gateway, its listener certificate and load balancer, and the body-based router of the shared OpenAI endpoint`,
    wave: SYNC_WAVES.gateway,
    namespace: settings.gateway.namespace,
    source: { type: 'local', chart: 'gateway' },
    installsCrds: [],
    usesKinds: [
      { group: 'gateway.networking.k8s.io', kind: 'Gateway' },
      ...(settings.gateway.tls.enabled ? [CERTIFICATE] : []),
      // Priority from the caller's identity: token validation and, when required, refusal without one.
      ...(settings.gateway.identity === null
        ? []
        : [
            { group: 'security.istio.io', kind: 'RequestAuthentication' },
            ...(settings.gateway.identity.required
              ? [{ group: 'security.istio.io', kind: 'AuthorizationPolicy' }]
              : []),
          ]),
      // The shared endpoint: the body-based router's filter on the Gateway and the /v1/models route.
      ...(settings.sharedEndpoint.models.length > 0
        ? [
            { group: 'networking.istio.io', kind: 'EnvoyFilter' },
            { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' },
          ]
        : []),
    ],
    clusterKinds: [],
    ignoreDifferences: [],
    namespaceLabels: { 'switchyard.dev/gateway': 'true' },
  });

  if (monitoring) {
    components.push({
      name: 'monitoring',
      description: 'Monitors for vLLM and the router, alert rules and a Grafana dashboard',
      wave: SYNC_WAVES.monitoring,
      namespace: settings.monitoring.namespace,
      source: { type: 'local', chart: 'monitoring' },
      installsCrds: [],
      usesKinds: [
        { group: 'monitoring.coreos.com', kind: 'PodMonitor' },
        { group: 'monitoring.coreos.com', kind: 'PrometheusRule' },
        SERVICE_MONITOR,
      ],
      clusterKinds: [],
      ignoreDifferences: [],
    });
  }

  return components;
}
