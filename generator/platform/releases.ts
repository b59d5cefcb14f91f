import { describeRange, isInRange, parseVersion, type VersionRange } from './versions.ts';

/** Upstream pieces whose versions a platform release pins. */
export const COMPONENT_VERSION_KEYS = [
  'certManager',
  'gatewayApi',
  'inferenceExtension',
  'istio',
  'sailOperator',
  'leaderWorkerSet',
  'kserve',
  'argoRollouts',
  'rolloutsGatewayPlugin',
  'prometheusOperatorCrds',
  'router',
  'pdSidecar',
  'keda',
  'prometheusAdapter',
] as const;

/** Image of llm-d's prefill/decode routing sidecar; the release pins its tag (pdSidecar). */
export const PD_SIDECAR_REPOSITORY = 'ghcr.io/llm-d/llm-d-router-disagg-sidecar';

export type ComponentVersionKey = (typeof COMPONENT_VERSION_KEYS)[number];

export interface PinnedVersion {
  /** The exact upstream release (Helm chart version, git tag or image tag). */
  readonly version: string;
  /** Versions that may replace it through an override without breaking the rest of the release. */
  readonly compatible: VersionRange;
  /** Why the range is what it is; shown when an override falls outside it. */
  readonly because: string;
}

export interface PlatformRelease {
  readonly id: string;
  readonly description: string;
  readonly versions: Readonly<Record<ComponentVersionKey, PinnedVersion>>;
  /** LLMInferenceService API version served by this release's KServe (kserve mode). */
  readonly llmInferenceServiceApiVersion: 'serving.kserve.io/v1alpha1' | 'serving.kserve.io/v1alpha2';
}

/** Ranges and reasons every release shares for the components it pins alike. */
const KEDA_RANGE = {
  compatible: { minimum: '2.19.0', below: '3.0.0' },
  because:
    'ScaledObjects use keda.sh/v1alpha1 with the prometheus trigger and horizontalPodAutoscalerConfig.behavior',
} as const;
const PROMETHEUS_ADAPTER_RANGE = {
  compatible: { minimum: '5.0.0', below: '6.0.0' },
  because: 'the adapter is configured through the rules.custom values of chart 5',
} as const;
const PD_SIDECAR_RANGE = {
  compatible: { minimum: 'v0.10.0', below: 'v0.11.0' },
  because:
    'decode pods pass --model-server-port (new in v0.10.0) and allow prefill hosts from InferencePool inference.networking.k8s.io/v1',
} as const;

const GATEWAY_API_FOR_ISTIO_1_27 = 'Istio 1.27 implements Gateway API up to v1.3 and InferencePool v1';
const GATEWAY_API_FOR_ISTIO_1_28 = 'Istio 1.28 implements Gateway API v1.4 and InferencePool v1';

/**
 * Platform releases: sets of upstream versions tested together. A platform profile picks one by id;
 * upgrades and rollbacks are pull requests that change the id.
 */
export const PLATFORM_RELEASES: readonly PlatformRelease[] = [
  {
    id: '2026.05',
    description:
      'Istio 1.27, Gateway API v1.3, inference extension v1.2, KServe v0.16 (LLMInferenceService v1alpha1)',
    llmInferenceServiceApiVersion: 'serving.kserve.io/v1alpha1',
    versions: {
      certManager: {
        version: 'v1.18.2',
        compatible: { minimum: 'v1.18.0', below: 'v1.20.0' },
        because: 'the pki chart uses cert-manager.io/v1 fields present since v1.18',
      },
      gatewayApi: {
        version: 'v1.3.0',
        compatible: { minimum: 'v1.3.0', below: 'v1.4.0' },
        because: GATEWAY_API_FOR_ISTIO_1_27,
      },
      inferenceExtension: {
        version: 'v1.2.0',
        compatible: { minimum: 'v1.0.0', below: 'v1.6.0' },
        because:
          'InferencePool inference.networking.k8s.io/v1 appears in v1.0.0; InferenceObjective and InferenceModelRewrite leave the repository in v1.6.0',
      },
      istio: {
        version: '1.27.3',
        compatible: { minimum: '1.27.0', below: '1.28.0' },
        because: GATEWAY_API_FOR_ISTIO_1_27,
      },
      sailOperator: {
        version: '1.27.0',
        compatible: { minimum: '1.27.0', below: '1.28.0' },
        because: 'the Sail operator must match the Istio minor version of the release',
      },
      leaderWorkerSet: {
        version: '0.7.0',
        compatible: { minimum: '0.6.0', below: '0.9.0' },
        because: 'leaderworkerset.x-k8s.io/v1 with subGroupPolicy is needed by multi-node models',
      },
      kserve: {
        version: 'v0.16.0',
        compatible: { minimum: 'v0.16.0', below: 'v0.17.0' },
        because: 'this release emits LLMInferenceService v1alpha1, which is storage only up to v0.16',
      },
      argoRollouts: {
        version: '2.38.0',
        compatible: { minimum: '2.37.0', below: '2.41.0' },
        because: 'traffic-router plugins need Argo Rollouts >= v1.7',
      },
      rolloutsGatewayPlugin: {
        version: 'v0.8.0',
        compatible: { minimum: 'v0.8.0', below: 'v0.16.0' },
        because: 'the plugin must edit HTTPRoutes of Gateway API v1',
      },
      prometheusOperatorCrds: {
        version: '24.0.2',
        compatible: { minimum: '20.0.0', below: '26.0.0' },
        because:
          'the monitoring chart uses monitoring.coreos.com/v1 PodMonitor, ServiceMonitor and PrometheusRule',
      },
      router: {
        version: '0.1.0',
        compatible: { minimum: '0.1.0', below: '0.2.0' },
        because:
          'the router reads InferencePool inference.networking.k8s.io/v1 and the scoring profile format 0.1',
      },
      keda: {
        version: '2.19.0',
        ...KEDA_RANGE,
      },
      prometheusAdapter: {
        version: '5.3.0',
        ...PROMETHEUS_ADAPTER_RANGE,
      },
      pdSidecar: {
        version: 'v0.10.0',
        ...PD_SIDECAR_RANGE,
      },
    },
  },
  {
    id: '2026.11',
    description:
      'Istio 1.28, Gateway API v1.4, inference extension v1.5, KServe v0.17 (LLMInferenceService v1alpha2)',
    llmInferenceServiceApiVersion: 'serving.kserve.io/v1alpha2',
    versions: {
      certManager: {
        version: 'v1.19.1',
        compatible: { minimum: 'v1.18.0', below: 'v1.20.0' },
        because: 'the pki chart uses cert-manager.io/v1 fields present since v1.18',
      },
      gatewayApi: {
        version: 'v1.4.0',
        compatible: { minimum: 'v1.4.0', below: 'v1.5.0' },
        because: GATEWAY_API_FOR_ISTIO_1_28,
      },
      inferenceExtension: {
        version: 'v1.5.0',
        compatible: { minimum: 'v1.2.0', below: 'v1.6.0' },
        because:
          'InferenceModelRewrite is served from v1.2.0; InferenceObjective and InferenceModelRewrite leave the repository in v1.6.0',
      },
      istio: {
        version: '1.28.0',
        compatible: { minimum: '1.28.0', below: '1.29.0' },
        because: GATEWAY_API_FOR_ISTIO_1_28,
      },
      sailOperator: {
        version: '1.28.0',
        compatible: { minimum: '1.28.0', below: '1.29.0' },
        because: 'the Sail operator must match the Istio minor version of the release',
      },
      leaderWorkerSet: {
        version: '0.8.0',
        compatible: { minimum: '0.7.0', below: '0.11.0' },
        because: 'leaderworkerset.x-k8s.io/v1 with subGroupPolicy is needed by multi-node models',
      },
      kserve: {
        version: 'v0.17.0',
        compatible: { minimum: 'v0.17.0', below: 'v0.21.0' },
        because: 'this release emits LLMInferenceService v1alpha2, served from v0.17',
      },
      argoRollouts: {
        version: '2.41.0',
        compatible: { minimum: '2.40.0', below: '2.42.0' },
        because: 'Argo Rollouts v1.9 is the version the generated Rollouts are validated against',
      },
      rolloutsGatewayPlugin: {
        version: 'v0.15.0',
        compatible: { minimum: 'v0.14.0', below: 'v0.16.0' },
        because: 'v0.14.0 stopped removing HTTPRoute backendRefs the plugin does not manage',
      },
      prometheusOperatorCrds: {
        version: '25.0.0',
        compatible: { minimum: '20.0.0', below: '26.0.0' },
        because:
          'the monitoring chart uses monitoring.coreos.com/v1 PodMonitor, ServiceMonitor and PrometheusRule',
      },
      router: {
        version: '0.1.0',
        compatible: { minimum: '0.1.0', below: '0.2.0' },
        because:
          'the router reads InferencePool inference.networking.k8s.io/v1 and the scoring profile format 0.1',
      },
      keda: {
        version: '2.21.1',
        ...KEDA_RANGE,
      },
      prometheusAdapter: {
        version: '5.4.0',
        ...PROMETHEUS_ADAPTER_RANGE,
      },
      pdSidecar: {
        version: 'v0.10.0',
        ...PD_SIDECAR_RANGE,
      },
    },
  },
];

export const PLATFORM_RELEASE_IDS: readonly string[] = PLATFORM_RELEASES.map((release) => release.id);

/** A problem in the platform profile, located by JSON pointer into that profile. */
export interface PlatformInputError {
  readonly pointer: string;
  readonly message: string;
  readonly expected: string;
}

/** The versions actually deployed: the release's pins with accepted overrides applied. */
export interface ResolvedRelease {
  readonly id: string;
  readonly llmInferenceServiceApiVersion: PlatformRelease['llmInferenceServiceApiVersion'];
  readonly versions: Readonly<Record<ComponentVersionKey, string>>;
  readonly overridden: readonly ComponentVersionKey[];
}

export type ReleaseResolution =
  | { readonly ok: true; readonly release: ResolvedRelease }
  | { readonly ok: false; readonly errors: readonly PlatformInputError[] };

export function findRelease(id: string): PlatformRelease | undefined {
  return PLATFORM_RELEASES.find((release) => release.id === id);
}

function isComponentVersionKey(key: string): key is ComponentVersionKey {
  return (COMPONENT_VERSION_KEYS as readonly string[]).includes(key);
}

function versionStyle(version: string): string {
  return version.startsWith('v') ? 'vMAJOR.MINOR.PATCH' : 'MAJOR.MINOR.PATCH';
}

/**
 * Picks a release and applies overrides. An override must have the same form as the pinned version
 * (upstream tags differ on the leading "v") and must lie in the range the release marks compatible.
 */
export function resolveRelease(
  releaseId: string,
  overrides: Readonly<Record<string, string>> = {},
  pointerBase = '/release',
): ReleaseResolution {
  const release = findRelease(releaseId);
  if (!release) {
    return {
      ok: false,
      errors: [
        {
          pointer: `${pointerBase}/id`,
          message: `unknown platform release "${releaseId}"`,
          expected: `one of ${PLATFORM_RELEASE_IDS.join(', ')}`,
        },
      ],
    };
  }
  const errors: PlatformInputError[] = [];
  const versions = Object.fromEntries(
    COMPONENT_VERSION_KEYS.map((key) => [key, release.versions[key].version]),
  ) as Record<ComponentVersionKey, string>;
  const overridden: ComponentVersionKey[] = [];
  for (const [key, version] of Object.entries(overrides).sort(([a], [b]) => a.localeCompare(b))) {
    const pointer = `${pointerBase}/overrides/${key}`;
    if (!isComponentVersionKey(key)) {
      errors.push({
        pointer,
        message: `"${key}" is not a component of a platform release`,
        expected: `one of ${COMPONENT_VERSION_KEYS.join(', ')}`,
      });
      continue;
    }
    const pin = release.versions[key];
    const style = versionStyle(pin.version);
    if (!parseVersion(version) || versionStyle(version) !== style) {
      errors.push({ pointer, message: `"${version}" is not a ${key} release version`, expected: style });
      continue;
    }
    if (!isInRange(version, pin.compatible)) {
      errors.push({
        pointer,
        message: `${key} ${version} is incompatible with platform release ${release.id}: ${pin.because}`,
        expected: `a version ${describeRange(pin.compatible)}`,
      });
      continue;
    }
    versions[key] = version;
    if (version !== pin.version) overridden.push(key);
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    release: {
      id: release.id,
      llmInferenceServiceApiVersion: release.llmInferenceServiceApiVersion,
      versions,
      overridden,
    },
  };
}
