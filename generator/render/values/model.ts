// A model's values for the model-server chart in one environment: what the generator derives from the
// spec and the platform, written as the difference from the chart's documented defaults.
import type { ModelSource, NormalizedEnvironment, NormalizedModel } from '../../normalize/types.ts';
import { defaultPrometheusUrl, IDENTITY_HEADER } from '../../platform/settings.ts';
import { mergeValues, valuesOverlay } from './overlay.ts';

type Values = Readonly<Record<string, unknown>>;

/** The router's own default (--max-attempts 3): two endpoints after the first. */
const defaultRetryAttempts = 2;

/** Everything the generator decides for one model; keys it leaves out keep the chart's defaults. */
export function derivedModelValues(env: NormalizedEnvironment, model: NormalizedModel): Values {
  const { platform } = env;
  const { source } = model;
  return {
    model: {
      uri: model.uri,
      servedName: model.servedName,
      source: sourceValues(source),
      hfTokenSecret:
        model.hfTokenSecret === undefined
          ? { name: '' }
          : { name: model.hfTokenSecret.name, key: model.hfTokenSecret.key },
    },
    vllm: {
      image: model.vllm.image,
      replicas: model.replicas,
      args: model.vllm.args,
      hashSeed: model.vllm.hashSeed,
      gpuResource: model.accelerator.resourceName,
      gpus: model.gpusPerPod,
      nodes: model.nodes,
      // Exclusive placement wherever a replica spans nodes: the decode (or only) stage's, or the prefill stage's.
      groupTopologyKey:
        Math.max(model.nodes, model.disaggregation?.prefill.nodes ?? 1) > 1
          ? model.accelerator.groupTopologyKey
          : '',
      resources: model.resources,
      nodeSelector: model.accelerator.nodeSelector,
      tolerations: model.accelerator.tolerations,
      shmSize: model.vllm.shmSize,
      cacheSize: model.vllm.cacheSize,
      sharedCache: { storageClassName: model.vllm.sharedCacheStorageClass ?? '' },
      startupFailureThreshold: model.vllm.startupFailureThreshold,
      kvEventsPort: model.vllm.kvEventsPort,
      apiKeySecret:
        model.vllm.apiKeySecret === undefined
          ? { name: '' }
          : { name: model.vllm.apiKeySecret.name, key: model.vllm.apiKeySecret.key },
    },
    router: {
      image: model.router.image,
      replicas: model.router.replicas,
      failureMode: model.router.failureMode,
      config: model.router.config,
      maxAttempts: (model.retryAttempts ?? defaultRetryAttempts) + 1,
      rateLimit: model.rateLimit ?? { requestsPerSecond: 0, burst: 0 },
      tls: { issuer: platform.pki.caIssuer, gatewayTrustSecret: platform.gateway.routerTrustSecret },
      identity:
        platform.gateway.identity === null
          ? { header: '', objectives: '' }
          : {
              header: IDENTITY_HEADER,
              objectives: platform.gateway.identity.objectives
                .map(([claim, objective]) => `${claim}=${objective}`)
                .join(','),
            },
    },
    route: {
      gateway: {
        name: platform.gateway.name,
        namespace: platform.gateway.namespace,
        sectionName: platform.routeSectionName ?? '',
      },
      requestTimeout: model.requestTimeout,
      // Every model of an environment is on its shared endpoint (the chart's default says so too).
      sharedEndpoint: { enabled: true },
    },
    rollout: rolloutValues(model),
    versions: versionValues(model),
    disaggregation: disaggregationValues(model),
    autoscaling: autoscalingValues(model),
    kserve:
      model.kserve === undefined
        ? { enabled: false }
        : {
            enabled: true,
            apiVersion: model.kserve.apiVersion,
            uri: model.kserve.uri,
            args: model.kserve.args,
            prefillArgs: model.kserve.prefillArgs,
          },
    analysis: analysisValues(model),
    objectives: model.objectives,
    aliases: model.aliases,
    monitoring: {
      enabled: platform.monitoring.enabled,
      namespace: platform.monitoring.namespace,
      // Empty: the chart's own default, the same URL (defaultPrometheusUrl of the namespace).
      prometheusUrl:
        platform.monitoring.prometheusUrl === defaultPrometheusUrl(platform.monitoring.namespace)
          ? ''
          : platform.monitoring.prometheusUrl,
      interval: platform.monitoring.interval,
    },
    test: {
      gateway: {
        scheme: platform.gateway.tls.enabled ? 'https' : 'http',
        port: platform.gateway.port,
        host: platform.gateway.hostname ?? '',
      },
    },
  };
}

function rolloutValues(model: NormalizedModel): Values {
  const { rollout } = model;
  if (rollout === undefined) return { enabled: false };
  return {
    enabled: true,
    steps: rollout.steps,
    canaryReplicas: rollout.canaryReplicas,
    progressDeadlineSeconds: rollout.progressDeadlineSeconds,
  };
}

function versionValues(model: NormalizedModel): Values {
  const split = model.versionSplit;
  if (split === undefined) return { enabled: false };
  return {
    enabled: true,
    list: split.versions.map((version) => ({
      name: version.name,
      weight: version.weight,
      replicas: version.replicas,
      uri: version.uri,
      source: sourceValues(version.source),
      args: version.args,
      ...(version.prefillArgs === undefined || model.disaggregation === undefined
        ? {}
        : { prefill: { args: version.prefillArgs, replicas: model.disaggregation.prefill.replicas } }),
    })),
  };
}

function autoscalingValues(model: NormalizedModel): Values {
  const scaling = model.autoscaling;
  if (scaling === undefined) return { enabled: false };
  return {
    enabled: true,
    engine: scaling.engine,
    minReplicas: scaling.minReplicas,
    maxReplicas: scaling.maxReplicas,
    waitingRequestsPerReplica: scaling.waitingRequestsPerReplica,
    kvCacheUsage: scaling.kvCacheUsage ?? 0,
    scaleDownDelaySeconds: scaling.scaleDownDelaySeconds,
  };
}

function disaggregationValues(model: NormalizedModel): Values {
  const disaggregation = model.disaggregation;
  if (disaggregation === undefined) return { enabled: false };
  const { prefill } = disaggregation;
  return {
    enabled: true,
    prefill: {
      replicas: prefill.replicas,
      args: prefill.args,
      gpus: prefill.gpusPerPod,
      nodes: prefill.nodes,
    },
    sidecar: {
      image: disaggregation.sidecarImage,
      kvConnector: sidecarKvConnector[disaggregation.kvConnector],
    },
  };
}

/** The routing sidecar's name for each KV connector of the spec. */
const sidecarKvConnector = { nixl: 'nixlv2' } as const;

/** The limits of the canary's or the version split's analysis (a model has at most one of them). */
function analysisValues(model: NormalizedModel): Values {
  const limits = model.rollout?.analysis ?? model.versionSplit?.analysis;
  return limits === undefined ? { enabled: false } : { enabled: true, ...limits };
}

function sourceValues(source: ModelSource): Values {
  return {
    kind: source.kind,
    claim: source.kind === 'pvc' ? source.claim : '',
    reference: source.kind === 'oci' ? source.reference : '',
  };
}

/** The values file of one model in one environment: only what differs from the chart's defaults. */
export function modelValuesFile(
  defaults: Values,
  env: NormalizedEnvironment,
  model: NormalizedModel,
): Record<string, unknown> {
  return valuesOverlay(defaults, mergeValues(defaults, derivedModelValues(env, model)));
}
