/** Cloud profiles: what differs between Kubernetes offerings for the same platform and models. */
export const CLOUD_IDS = ['eks', 'aks', 'gke', 'openshift', 'generic'] as const;
export type CloudId = (typeof CLOUD_IDS)[number];

export const ACCELERATOR_TYPES = [
  // Any NVIDIA GPU: no product label, only the GPU taint toleration.
  'nvidia-gpu',
  'nvidia-l4',
  'nvidia-a10g',
  'nvidia-l40s',
  'nvidia-a100-80gb',
  'nvidia-h100-80gb',
  'nvidia-h200',
  'amd-mi300x',
] as const;
export type AcceleratorType = (typeof ACCELERATOR_TYPES)[number];

export interface Toleration {
  readonly key: string;
  readonly operator: 'Exists' | 'Equal';
  readonly value?: string;
  readonly effect: 'NoSchedule' | 'NoExecute' | 'PreferNoSchedule';
}

/** Where pods that need an accelerator go, which extended resource they request, and the node shape. */
export interface AcceleratorPlacement {
  readonly resourceName: string;
  readonly nodeSelector: Readonly<Record<string, string>>;
  readonly tolerations: readonly Toleration[];
  /** GPUs of this type on one node: a replica that needs more spans nodes. */
  readonly gpusPerNode?: number;
  /** Node label whose value names a placement domain (a node group); a multi-node group gets one for itself. */
  readonly groupTopologyKey?: string;
}

export type GatewayExposure = 'external' | 'internal';

export interface StorageClasses {
  /** Block storage for single-writer volumes; null means the cluster default. */
  readonly block: string | null;
  /** Shared (ReadWriteMany) storage for model caches; null means none is known for this cloud. */
  readonly sharedModelCache: string | null;
}

export interface CloudProfile {
  readonly id: CloudId;
  readonly description: string;
  /** How the mesh is installed: upstream Istio Helm charts, or the Sail operator with an Istio resource. */
  readonly meshInstall: 'istio-charts' | 'sail-operator';
  /** False where the distribution manages the Gateway API CRDs itself and rejects other owners. */
  readonly installsGatewayApiCrds: boolean;
  readonly loadBalancerAnnotations: Readonly<Record<GatewayExposure, Readonly<Record<string, string>>>>;
  readonly storageClasses: StorageClasses;
  readonly acceleratorLabels: Readonly<Partial<Record<AcceleratorType, Readonly<Record<string, string>>>>>;
  readonly acceleratorTolerations: Readonly<Record<'nvidia' | 'amd', readonly Toleration[]>>;
  /** GPUs per node of the usual instance type for each accelerator (the largest common shape). */
  readonly gpusPerNode: Readonly<Partial<Record<AcceleratorType, number>>>;
  /** Node label that names a node group, for exclusive placement of multi-node groups; null: none known. */
  readonly groupTopologyKey: string | null;
}

/** GPUs per node where a cloud profile does not say (the common 8-GPU server). */
export const DEFAULT_GPUS_PER_NODE = 8;

// Labels of NVIDIA GPU feature discovery (deployed by the NVIDIA GPU operator / device plugin).
const NVIDIA_GPU_FEATURE_DISCOVERY: Readonly<
  Partial<Record<AcceleratorType, Readonly<Record<string, string>>>>
> = {
  'nvidia-gpu': {},
  'nvidia-l4': { 'nvidia.com/gpu.product': 'NVIDIA-L4' },
  'nvidia-a10g': { 'nvidia.com/gpu.product': 'NVIDIA-A10G' },
  'nvidia-l40s': { 'nvidia.com/gpu.product': 'NVIDIA-L40S' },
  'nvidia-a100-80gb': { 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-80GB' },
  'nvidia-h100-80gb': { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' },
  'nvidia-h200': { 'nvidia.com/gpu.product': 'NVIDIA-H200' },
};

const AMD_GPU_LABELS: Readonly<Partial<Record<AcceleratorType, Readonly<Record<string, string>>>>> = {
  'amd-mi300x': { 'amd.com/gpu.product-name': 'AMD_Instinct_MI300X' },
};

const GPU_TAINT_TOLERATION: readonly Toleration[] = [
  { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
];
const AMD_TAINT_TOLERATION: readonly Toleration[] = [
  { key: 'amd.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
];

export const CLOUD_PROFILES: Readonly<Record<CloudId, CloudProfile>> = {
  eks: {
    id: 'eks',
    description:
      'Amazon EKS with the AWS Load Balancer Controller (NLB, IP targets) and the EBS/EFS CSI drivers',
    meshInstall: 'istio-charts',
    installsGatewayApiCrds: true,
    loadBalancerAnnotations: {
      external: {
        'service.beta.kubernetes.io/aws-load-balancer-nlb-target-type': 'ip',
        'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing',
        'service.beta.kubernetes.io/aws-load-balancer-type': 'external',
      },
      internal: {
        'service.beta.kubernetes.io/aws-load-balancer-nlb-target-type': 'ip',
        'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internal',
        'service.beta.kubernetes.io/aws-load-balancer-type': 'external',
      },
    },
    storageClasses: { block: 'gp3', sharedModelCache: 'efs-sc' },
    acceleratorLabels: { ...NVIDIA_GPU_FEATURE_DISCOVERY, ...AMD_GPU_LABELS },
    acceleratorTolerations: { nvidia: GPU_TAINT_TOLERATION, amd: AMD_TAINT_TOLERATION },
    // g6.12xlarge, g5.12xlarge, g6e.12xlarge: 4 GPUs; p4de, p5, p5e: 8.
    gpusPerNode: {
      'nvidia-l4': 4,
      'nvidia-a10g': 4,
      'nvidia-l40s': 4,
      'nvidia-a100-80gb': 8,
      'nvidia-h100-80gb': 8,
      'nvidia-h200': 8,
      'amd-mi300x': 8,
    },
    groupTopologyKey: 'eks.amazonaws.com/nodegroup',
  },
  aks: {
    id: 'aks',
    description: 'Azure Kubernetes Service with the Azure load balancer and the Azure Disk/Files CSI drivers',
    meshInstall: 'istio-charts',
    installsGatewayApiCrds: true,
    loadBalancerAnnotations: {
      external: {
        'service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path': '/healthz/ready',
      },
      internal: {
        'service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path': '/healthz/ready',
        'service.beta.kubernetes.io/azure-load-balancer-internal': 'true',
      },
    },
    storageClasses: { block: 'managed-csi-premium', sharedModelCache: 'azurefile-csi-premium' },
    acceleratorLabels: { ...NVIDIA_GPU_FEATURE_DISCOVERY, ...AMD_GPU_LABELS },
    acceleratorTolerations: {
      nvidia: [{ key: 'sku', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }],
      amd: [{ key: 'sku', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }],
    },
    // ND A100 v4, ND H100 v5, ND H200 v5, ND MI300X v5: 8 GPUs.
    gpusPerNode: { 'nvidia-a100-80gb': 8, 'nvidia-h100-80gb': 8, 'nvidia-h200': 8, 'amd-mi300x': 8 },
    groupTopologyKey: 'kubernetes.azure.com/agentpool',
  },
  gke: {
    id: 'gke',
    description:
      'Google Kubernetes Engine with backend-service based network load balancers and Persistent Disk / Filestore',
    meshInstall: 'istio-charts',
    installsGatewayApiCrds: true,
    loadBalancerAnnotations: {
      external: { 'cloud.google.com/l4-rbs': 'enabled' },
      internal: { 'networking.gke.io/load-balancer-type': 'Internal' },
    },
    storageClasses: { block: 'premium-rwo', sharedModelCache: 'standard-rwx' },
    acceleratorLabels: {
      'nvidia-gpu': {},
      'nvidia-l4': { 'cloud.google.com/gke-accelerator': 'nvidia-l4' },
      'nvidia-a100-80gb': { 'cloud.google.com/gke-accelerator': 'nvidia-a100-80gb' },
      'nvidia-h100-80gb': { 'cloud.google.com/gke-accelerator': 'nvidia-h100-80gb' },
      'nvidia-h200': { 'cloud.google.com/gke-accelerator': 'nvidia-h200-141gb' },
    },
    acceleratorTolerations: {
      nvidia: [{ key: 'nvidia.com/gpu', operator: 'Equal', value: 'present', effect: 'NoSchedule' }],
      amd: [],
    },
    // g2-standard-96: 8 L4; a2-ultragpu-8g, a3-highgpu-8g, a3-ultragpu-8g: 8.
    gpusPerNode: { 'nvidia-l4': 8, 'nvidia-a100-80gb': 8, 'nvidia-h100-80gb': 8, 'nvidia-h200': 8 },
    groupTopologyKey: 'cloud.google.com/gke-nodepool',
  },
  openshift: {
    id: 'openshift',
    description:
      'Red Hat OpenShift: Sail operator for Istio, cluster-managed Gateway API CRDs, NVIDIA GPU operator labels',
    meshInstall: 'sail-operator',
    installsGatewayApiCrds: false,
    loadBalancerAnnotations: { external: {}, internal: {} },
    storageClasses: { block: null, sharedModelCache: null },
    acceleratorLabels: { ...NVIDIA_GPU_FEATURE_DISCOVERY, ...AMD_GPU_LABELS },
    acceleratorTolerations: { nvidia: [], amd: [] },
    // no shape known: the default or the platform profile's gpusPerNode.
    gpusPerNode: {},
    groupTopologyKey: null,
  },
  generic: {
    id: 'generic',
    description: 'Any conformant cluster with a LoadBalancer implementation and the NVIDIA GPU operator',
    meshInstall: 'istio-charts',
    installsGatewayApiCrds: true,
    loadBalancerAnnotations: { external: {}, internal: {} },
    storageClasses: { block: null, sharedModelCache: null },
    acceleratorLabels: { ...NVIDIA_GPU_FEATURE_DISCOVERY, ...AMD_GPU_LABELS },
    acceleratorTolerations: { nvidia: GPU_TAINT_TOLERATION, amd: AMD_TAINT_TOLERATION },
    // no shape known: the default or the platform profile's gpusPerNode.
    gpusPerNode: {},
    groupTopologyKey: null,
  },
};

export function isCloudId(value: string): value is CloudId {
  return (CLOUD_IDS as readonly string[]).includes(value);
}

export function isAcceleratorType(value: string): value is AcceleratorType {
  return (ACCELERATOR_TYPES as readonly string[]).includes(value);
}

export function acceleratorVendor(accelerator: AcceleratorType): 'nvidia' | 'amd' {
  return accelerator.startsWith('amd-') ? 'amd' : 'nvidia';
}

/** Accelerator types a cloud can place, in catalogue order. */
export function supportedAccelerators(cloud: CloudId): readonly AcceleratorType[] {
  return ACCELERATOR_TYPES.filter((type) => CLOUD_PROFILES[cloud].acceleratorLabels[type] !== undefined);
}

/**
 * Node selector, tolerations and extended resource name for pods that need `accelerator` on `cloud`.
 * Returns undefined when the cloud offers no such accelerator, so callers can report it at the input.
 */
export function acceleratorPlacement(
  cloud: CloudId,
  accelerator: AcceleratorType,
): AcceleratorPlacement | undefined {
  const profile = CLOUD_PROFILES[cloud];
  const labels = profile.acceleratorLabels[accelerator];
  if (labels === undefined) return undefined;
  const vendor = acceleratorVendor(accelerator);
  const gpusPerNode = profile.gpusPerNode[accelerator];
  return {
    resourceName: vendor === 'amd' ? 'amd.com/gpu' : 'nvidia.com/gpu',
    nodeSelector: { ...labels },
    tolerations: profile.acceleratorTolerations[vendor].map((toleration) => ({ ...toleration })),
    ...(gpusPerNode === undefined ? {} : { gpusPerNode }),
    ...(profile.groupTopologyKey === null ? {} : { groupTopologyKey: profile.groupTopologyKey }),
  };
}

export function loadBalancerAnnotations(cloud: CloudId, exposure: GatewayExposure): Record<string, string> {
  return { ...CLOUD_PROFILES[cloud].loadBalancerAnnotations[exposure] };
}

/** acceleratorPlacement for unchecked input: undefined for an unknown cloud or accelerator type. */
export function cloudAcceleratorPlacement(
  cloud: string,
  accelerator: string,
): AcceleratorPlacement | undefined {
  if (!isCloudId(cloud) || !isAcceleratorType(accelerator)) return undefined;
  return acceleratorPlacement(cloud, accelerator);
}
