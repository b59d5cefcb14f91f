/** A Kubernetes kind by API group ('' for the core group). */
export interface KindRef {
  readonly group: string;
  readonly kind: string;
}

export function kindKey(ref: KindRef): string {
  return ref.group === '' ? ref.kind : `${ref.group}/${ref.kind}`;
}

function kinds(group: string, names: readonly string[]): KindRef[] {
  return names.map((kind) => ({ group, kind }));
}

/** Custom kinds installed by each CRD bundle the platform deploys. */
export const CRD_BUNDLES = {
  gatewayApi: kinds('gateway.networking.k8s.io', [
    'BackendTLSPolicy',
    'GRPCRoute',
    'Gateway',
    'GatewayClass',
    'HTTPRoute',
    'ReferenceGrant',
  ]),
  inferenceExtension: [
    ...kinds('inference.networking.k8s.io', ['InferencePool']),
    ...kinds('inference.networking.x-k8s.io', [
      'InferenceModelRewrite',
      'InferenceObjective',
      'InferencePool',
      'InferencePoolImport',
    ]),
  ],
  certManager: [
    ...kinds('cert-manager.io', ['Certificate', 'CertificateRequest', 'ClusterIssuer', 'Issuer']),
    ...kinds('acme.cert-manager.io', ['Challenge', 'Order']),
  ],
  istio: [
    ...kinds('networking.istio.io', [
      'DestinationRule',
      'EnvoyFilter',
      'Gateway',
      'ProxyConfig',
      'ServiceEntry',
      'Sidecar',
      'VirtualService',
      'WorkloadEntry',
      'WorkloadGroup',
    ]),
    ...kinds('security.istio.io', ['AuthorizationPolicy', 'PeerAuthentication', 'RequestAuthentication']),
    ...kinds('telemetry.istio.io', ['Telemetry']),
    ...kinds('extensions.istio.io', ['WasmPlugin']),
  ],
  sailOperator: kinds('sailoperator.io', [
    'Istio',
    'IstioCNI',
    'IstioRevision',
    'IstioRevisionTag',
    'ZTunnel',
  ]),
  leaderWorkerSet: kinds('leaderworkerset.x-k8s.io', ['LeaderWorkerSet']),
  kserve: kinds('serving.kserve.io', ['LLMInferenceService', 'LLMInferenceServiceConfig']),
  argoRollouts: kinds('argoproj.io', [
    'AnalysisRun',
    'AnalysisTemplate',
    'ClusterAnalysisTemplate',
    'Experiment',
    'Rollout',
  ]),
  keda: [
    ...kinds('keda.sh', [
      'ClusterTriggerAuthentication',
      'ScaledJob',
      'ScaledObject',
      'TriggerAuthentication',
    ]),
    ...kinds('eventing.keda.sh', ['CloudEventSource', 'ClusterCloudEventSource']),
  ],
  prometheusOperator: kinds('monitoring.coreos.com', [
    'Alertmanager',
    'AlertmanagerConfig',
    'PodMonitor',
    'Probe',
    'Prometheus',
    'PrometheusAgent',
    'PrometheusRule',
    'ScrapeConfig',
    'ServiceMonitor',
    'ThanosRuler',
  ]),
} as const satisfies Record<string, readonly KindRef[]>;

/** Cluster-scoped kinds, each allowed in an AppProject only when a component of it creates one. */
export const CLUSTER_KINDS = {
  crd: { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
  clusterRole: { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
  clusterRoleBinding: { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
  mutatingWebhook: { group: 'admissionregistration.k8s.io', kind: 'MutatingWebhookConfiguration' },
  validatingWebhook: { group: 'admissionregistration.k8s.io', kind: 'ValidatingWebhookConfiguration' },
  validatingAdmissionPolicy: { group: 'admissionregistration.k8s.io', kind: 'ValidatingAdmissionPolicy' },
  validatingAdmissionPolicyBinding: {
    group: 'admissionregistration.k8s.io',
    kind: 'ValidatingAdmissionPolicyBinding',
  },
  namespace: { group: '', kind: 'Namespace' },
  clusterIssuer: { group: 'cert-manager.io', kind: 'ClusterIssuer' },
  sailIstio: { group: 'sailoperator.io', kind: 'Istio' },
  sailIstioCni: { group: 'sailoperator.io', kind: 'IstioCNI' },
  clusterAnalysisTemplate: { group: 'argoproj.io', kind: 'ClusterAnalysisTemplate' },
  apiService: { group: 'apiregistration.k8s.io', kind: 'APIService' },
} as const satisfies Record<string, KindRef>;
