// The normalized model every renderer works from: defaults applied, derived values computed once.
import type { ChartSource, ChartVersionRecord } from '../model/charts.ts';
import type { PlatformProfile } from '../model/generated/platform.ts';
import type { PlatformComponent } from '../platform/components.ts';
import type { PlatformSettings } from '../platform/settings.ts';

export interface Image {
  readonly repository: string;
  readonly tag: string;
}

export interface Toleration {
  readonly key: string;
  readonly operator: 'Exists' | 'Equal';
  readonly value?: string;
  readonly effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/**
 * One environment's platform, defaults applied and the release resolved once: everything the renderers of
 * Applications and chart values read.
 */
export interface NormalizedPlatform extends PlatformSettings {
  /** The validated platform profile with its base layer merged in. */
  readonly profile: PlatformProfile;
  readonly routerImage: Image;
  readonly vllmImage: Image;
  /** llm-d's prefill/decode routing sidecar, at the release's pinned version. */
  readonly pdSidecarImage: Image;
  /** The listener model routes name (unset: they attach to every listener of the gateway). */
  readonly routeSectionName: string | undefined;
  /** The platform components this environment installs, in wave order. */
  readonly installed: readonly PlatformComponent[];
}

export type ModelSource =
  | { readonly kind: 'hf'; readonly repository: string; readonly revision?: string }
  | { readonly kind: 'pvc'; readonly claim: string; readonly path: string }
  | { readonly kind: 'oci'; readonly reference: string };

/** Names of every object of one model chart; each is at most 63 characters. */
export interface ModelObjectNames {
  readonly vllm: string;
  /** The model's InferencePool; with a canary rollout its stable and canary pools; with a version split one per version. */
  readonly pools: readonly string[];
  readonly pool: string;
  readonly router: string;
  /** Certificate and Secret holding the router's TLS serving pair. */
  readonly routerTls: string;
  readonly route: string;
  readonly rewrites: string;
  /** One InferenceObjective per objective and pool. */
  readonly objectives: readonly { readonly name: string; readonly objective: string }[];
}

export interface EndpointPickerConfig {
  readonly apiVersion: 'llm-d.ai/v1alpha1';
  readonly kind: 'EndpointPickerConfig';
  readonly plugins: readonly {
    readonly type: string;
    readonly name?: string;
    readonly parameters?: Record<string, unknown>;
  }[];
  readonly schedulingProfiles: readonly {
    readonly name: string;
    readonly plugins: readonly { readonly pluginRef: string; readonly weight?: number }[];
  }[];
  /** The router's waiting room (schemas/router-config.schema.json, flowControl). */
  readonly flowControl?: {
    readonly maxQueuedRequests: number;
    readonly requestTtl: string;
    readonly fairness: 'round-robin' | 'global-strict';
    readonly ordering: {
      readonly type: 'prefill-deadline';
      readonly prefillTokensPerSecond: number;
      readonly slack: number;
      readonly maxSlack: string;
    };
    readonly dispatch: {
      readonly type: 'endpoint-queue-depth';
      readonly maxWaitingRequests: number;
      readonly metricsStalenessThreshold: string;
    };
  };
}

/** Service-level limits an analysis checks, and how often and how many times it measures. */
export interface SloLimits {
  readonly ttftP95Seconds: number;
  readonly interTokenLatencyP95Seconds: number;
  readonly errorRatio: number;
  readonly interval: string;
  readonly count: number;
}

/** One version of a version split: its own workload (vLLM arguments from its own source), pool and router. */
export interface NormalizedVersion {
  readonly name: string;
  readonly weight: number;
  readonly replicas: number;
  readonly uri: string;
  readonly source: ModelSource;
  readonly args: readonly string[];
  /** A disaggregated model's prefill pods' arguments for this version's source. */
  readonly prefillArgs?: readonly string[];
}

/** Versions side by side behind one route; weights from git, each sync gated when `analysis` is set. */
export interface NormalizedVersionSplit {
  readonly versions: readonly NormalizedVersion[];
  readonly analysis?: SloLimits;
}

/** Separate prefill pods; the KV cache moves to the decode pods, whose routing sidecar runs remote prefills. */
export interface NormalizedDisaggregation {
  readonly kvConnector: 'nixl';
  /** The router's prefix-based-pd-decider threshold (nonCachedTokens). */
  readonly minUncachedTokens: number;
  readonly sidecarImage: Image;
  readonly prefill: {
    readonly replicas: number;
    readonly tensor: number;
    readonly pipeline: number;
    readonly gpusPerPod: number;
    readonly nodes: number;
    readonly args: readonly string[];
  };
}

/** Replicas set by an autoscaler on vLLM's queue (and, optionally, KV-cache use). */
export interface NormalizedAutoscaling {
  /** keda: a ScaledObject per workload; hpa: a HorizontalPodAutoscaler on prometheus-adapter's custom metrics. */
  readonly engine: 'keda' | 'hpa';
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly waitingRequestsPerReplica: number;
  readonly kvCacheUsage?: number;
  readonly scaleDownDelaySeconds: number;
}

/** A canary of the vLLM pods with Argo Rollouts. */
export interface NormalizedRollout {
  readonly steps: readonly { readonly weight: number; readonly analysis: boolean; readonly pause?: string }[];
  readonly canaryReplicas: number;
  readonly progressDeadlineSeconds: number;
  /** Limits of the AnalysisTemplate the analysed steps run. */
  readonly analysis?: SloLimits;
}

export interface NormalizedModel {
  readonly environment: string;
  /** Source file of the spec (repository-relative). */
  readonly file: string;
  readonly name: string;
  readonly namespace: string;
  readonly source: ModelSource;
  readonly uri: string;
  readonly servedName: string;
  readonly hfTokenSecret?: { readonly name: string; readonly key: string };
  readonly replicas: number;
  readonly parallelism: {
    readonly tensor: number;
    readonly pipeline: number;
    readonly data: number;
    readonly dataLocal: number;
    readonly expert: boolean;
  };
  /** GPUs each vLLM pod requests: tensor x pipeline x dataLocal, or a whole node when a replica spans nodes. */
  readonly gpusPerPod: number;
  /** Nodes (pods) one replica spans; above 1 it is a LeaderWorkerSet group. */
  readonly nodes: number;
  readonly accelerator: {
    readonly type: string;
    readonly resourceName: string;
    readonly nodeSelector: Readonly<Record<string, string>>;
    readonly tolerations: readonly Toleration[];
    /** Node label naming a node group, for exclusive placement of multi-node groups ('' for none). */
    readonly groupTopologyKey: string;
  };
  readonly resources: { readonly cpu: string; readonly memory: string };
  readonly vllm: {
    readonly image: Image;
    /** Full argument list after `vllm serve`. */
    readonly args: readonly string[];
    readonly blockSize: number;
    readonly hashSeed: string;
    readonly shmSize: string;
    readonly cacheSize: string;
    /** A ReadWriteMany claim of this storage class holds the cache for all pods; undefined: an emptyDir per pod. */
    readonly sharedCacheStorageClass?: string;
    readonly startupFailureThreshold: number;
    /** Secret holding the API key vLLM requires (VLLM_API_KEY), if any. */
    readonly apiKeySecret?: { readonly name: string; readonly key: string };
    /** Port of vLLM's KV-cache event publisher, which the router dials (0: no events). */
    readonly kvEventsPort: number;
  };
  readonly router: {
    readonly image: Image;
    readonly replicas: number;
    readonly failureMode: 'FailOpen' | 'FailClose';
    readonly profile: string;
    readonly config: EndpointPickerConfig;
  };
  readonly objectives: readonly { readonly name: string; readonly priority: number }[];
  readonly aliases: readonly string[];
  /** LoRA adapters: each name is a model clients may ask for; path is what vLLM loads. */
  readonly lora?: {
    readonly adapters: readonly { readonly name: string; readonly path: string }[];
    readonly maxLoras: number;
    readonly maxRank: number;
  };
  readonly rollout?: NormalizedRollout;
  readonly versionSplit?: NormalizedVersionSplit;
  /** KServe mode: an LLMInferenceService runs the vLLM pods with these settings. */
  readonly kserve?: {
    readonly apiVersion: 'serving.kserve.io/v1alpha1' | 'serving.kserve.io/v1alpha2';
    /** The URI KServe's storage initializer reads (a revision after a colon). */
    readonly uri: string;
    /** vLLM's arguments in KServe's pod (weights at /mnt/models); a disaggregated model's decode pods'. */
    readonly args: readonly string[];
    /** A disaggregated model's prefill pods' arguments (spec.prefill); empty otherwise. */
    readonly prefillArgs: readonly string[];
  };
  /** The autoscaler of the model's (decode) workloads; replicas is then its floor. */
  readonly autoscaling?: NormalizedAutoscaling;
  /** Prefill/decode disaggregation: the model's replicas, parallelism and vLLM arguments are the decode pods'. */
  readonly disaggregation?: NormalizedDisaggregation;
  readonly requestTimeout: string;
  /** Endpoints tried after the first when a request fails before responding; undefined: the router's default. */
  readonly retryAttempts?: number;
  /** The model's request-rate limit, per router replica (the spec's limit shared among them). */
  readonly rateLimit?: { readonly requestsPerSecond: number; readonly burst: number };
  readonly names: ModelObjectNames;
}

export interface NormalizedEnvironment {
  readonly name: string;
  readonly platform: NormalizedPlatform;
  /** Sorted by name. */
  readonly models: readonly NormalizedModel[];
}

/** Everything render reads: the normalized environments and the project's charts. */
export interface NormalizedRepository {
  readonly environments: readonly NormalizedEnvironment[];
  readonly charts: {
    readonly sources: readonly ChartSource[];
    /** charts/chart-versions.json after this run. */
    readonly versions: ChartVersionRecord;
  };
}
