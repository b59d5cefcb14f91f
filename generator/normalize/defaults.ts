// Defaults of optional model-spec fields (mirrored by the `default` keywords in schemas/model.schema.json;
// a test keeps the two equal).
export const modelDefaults = {
  replicas: 1,
  tensor: 1,
  pipeline: 1,
  expert: false,
  data: 1,
  cpu: '4',
  memory: '16Gi',
  blockSize: 64,
  hashSeed: '42',
  shmSize: '2Gi',
  cacheSize: '50Gi',
  startupTimeoutSeconds: 1800,
  routerProfile: 'switchyard',
  affinityTokens: 286_720,
  prefixCache: 'approximate',
  routerReplicas: 1,
  failureMode: 'FailClose',
  hfTokenKey: 'token',
  apiKeyKey: 'api-key',
  maxLoras: 8,
  maxLoraRank: 16,
  requestTimeout: '0s',
  prefillReplicas: 1,
  minUncachedTokens: 16,
  autoscalingMinReplicas: 1,
  waitingRequestsPerReplica: 4,
  scaleDownDelaySeconds: 600,
  canaryReplicas: 1,
  analysisInterval: '2m',
  analysisCount: 5,
  objectives: [
    { name: 'premium', priority: 100 },
    { name: 'normal', priority: 0 },
    { name: 'batch', priority: -10 },
  ],
} as const;

/** vLLM serves on this port; the Service, probes, InferencePool and NetworkPolicies use it. */
export const vllmPort = 8000;

/** vLLM publishes its KV-cache events here (a ZMQ PUB socket) when the router's prefix cache is precise. */
export const kvEventsPort = 5557;
/**
 * A decode pod's vLLM port: the routing sidecar takes vllmPort in front of it
 * (charts/model-server/templates/_helpers.tpl, "model-server.decodeVllmPort").
 */
export const decodeVllmPort = 8200;
export const startupProbePeriodSeconds = 10;
