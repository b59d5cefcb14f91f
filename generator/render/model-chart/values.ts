// Per-environment values of a model chart: everything that differs between environments lives here.
import type { NormalizedEnvironment, NormalizedModel } from '../../normalize/types.ts';

export const vllmTerminationGracePeriodSeconds = 90;
export const vllmPreStopSleepSeconds = 15;
export const routerResources = { cpu: '500m', memory: '1Gi' } as const;

export function modelValues(env: NormalizedEnvironment, model: NormalizedModel): Record<string, unknown> {
  const { platform } = env;
  return {
    model: {
      uri: model.uri,
      servedName: model.servedName,
      source: model.source,
      ...(model.hfTokenSecret === undefined ? {} : { hfTokenSecret: model.hfTokenSecret }),
    },
    vllm: {
      image: model.vllm.image,
      replicas: model.replicas,
      args: model.vllm.args,
      hashSeed: model.vllm.hashSeed,
      gpuResource: model.accelerator.resourceName,
      gpus: model.gpusPerPod,
      resources: model.resources,
      nodeSelector: model.accelerator.nodeSelector,
      tolerations: model.accelerator.tolerations,
      shmSize: model.vllm.shmSize,
      cacheSize: model.vllm.cacheSize,
      startupFailureThreshold: model.vllm.startupFailureThreshold,
      terminationGracePeriodSeconds: vllmTerminationGracePeriodSeconds,
      preStopSleepSeconds: vllmPreStopSleepSeconds,
    },
    router: {
      image: model.router.image,
      replicas: model.router.replicas,
      failureMode: model.router.failureMode,
      resources: routerResources,
      config: model.router.config,
      tls: { issuer: platform.caIssuer },
    },
    route: {
      gateway: platform.gateway,
      requestTimeout: model.requestTimeout,
    },
    objectives: model.names.objectives.map((o, index) => ({
      name: o.name,
      priority: model.objectives[index]?.priority ?? 0,
    })),
    aliases: model.aliases,
    monitoring: platform.monitoring,
  };
}

/** Comments written above the keys of the chart's values.yaml. */
export const valueComments: Readonly<Record<string, string>> = {
  model: 'What is served.',
  'model.uri': 'Model location (hf://, pvc:// or oci://).',
  'model.servedName': "Name clients send in the OpenAI 'model' field.",
  'model.source': 'The URI broken into parts (kind hf|pvc|oci) for the volume that holds the weights.',
  'model.hfTokenSecret': 'Secret (name, key) with a Hugging Face token, exposed as HF_TOKEN by reference.',
  vllm: 'The vLLM workload.',
  'vllm.image': 'vLLM image (repository, tag or sha256 digest).',
  'vllm.replicas': 'vLLM pods.',
  'vllm.args':
    'Arguments after `vllm serve`, derived by the generator (parallelism, block size, served name).',
  'vllm.hashSeed': 'PYTHONHASHSEED of vLLM (stable KV-block hashes).',
  'vllm.gpuResource': 'Extended resource name of the accelerator.',
  'vllm.gpus': 'GPUs per pod = tensor x data-local parallelism.',
  'vllm.resources': 'CPU request and memory request/limit.',
  'vllm.nodeSelector': 'Node labels of the accelerator nodes.',
  'vllm.tolerations': 'Tolerations for the accelerator node taints.',
  'vllm.shmSize': 'In-memory /dev/shm size (NCCL and tensor parallelism need it).',
  'vllm.cacheSize': 'Size limit of the model cache volume mounted at /models.',
  'vllm.startupFailureThreshold': 'Startup probe failures (every 10 s) allowed while weights load.',
  'vllm.terminationGracePeriodSeconds': 'Time in-flight requests get to finish on shutdown.',
  'vllm.preStopSleepSeconds': 'Delay before shutdown so the router stops picking the pod first.',
  router: 'The request router (endpoint picker) of this model.',
  'router.image': 'Router image built from scheduler/.',
  'router.replicas': 'Router pods.',
  'router.failureMode': 'FailOpen or FailClose when the gateway cannot reach the router.',
  'router.resources': 'CPU request and memory request/limit.',
  'router.config': 'EndpointPickerConfig: plugins and weighted scoring profile.',
  'router.tls': 'TLS of the ext_proc port: a cert-manager Certificate for the router Service names.',
  'router.tls.issuer': "The platform's CA ClusterIssuer that signs the router certificate.",
  route: 'The HTTPRoute on the shared gateway (/<namespace>/<model>/ rewritten to /).',
  'route.gateway': 'Gateway the route attaches to.',
  'route.requestTimeout': 'Request timeout; 0s disables it for long streams.',
  objectives: 'InferenceObjectives: object name (the objective clients select) and priority.',
  aliases: 'Extra model names rewritten to the served name.',
  monitoring: 'PodMonitor/ServiceMonitor settings and the namespace Prometheus scrapes from.',
};
