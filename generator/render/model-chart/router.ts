// How the model chart runs the router (scheduler/): the paths and ports its Deployment, Service, probes and
// Certificate share. Flag names and defaults are those of scheduler/service/flags.ts; a test parses the
// rendered args with the router's own parser.

/** Where the ConfigMap with the EndpointPickerConfig is mounted, and the key holding it. */
export const routerConfigDir = '/config';
export const routerConfigKey = 'config.yaml';

/**
 * Where the cert-manager Secret (tls.crt, tls.key) is mounted; passed as --cert-path, so the router never
 * writes a self-signed pair and the root filesystem stays read-only.
 */
export const routerCertDir = '/var/run/switchyard/router-tls';

export const routerPorts = { grpc: 9002, grpcHealth: 9003, metrics: 9090 } as const;

/** The gRPC health service names the router answers (scheduler/health/server.ts). */
export const routerHealthServices = { liveness: 'liveness', readiness: 'readiness' } as const;

/** Non-root user of the router image; also the group that may read the mounted key. */
export const routerUser = 65532;

/**
 * API group of the InferenceObjectives and InferenceModelRewrites the chart emits (the inference extension's
 * experimental group, whose CRDs the platform installs). The router watches this group, so it is passed as
 * --objective-api-group: the router's own default is llm-d's newer `llm-d.ai` group.
 */
export const objectiveApiGroup = 'inference.networking.x-k8s.io';
export const objectiveApiVersion = `${objectiveApiGroup}/v1alpha2`;

/** Values passed to the Handlebars templates. */
export const routerTemplateContext = {
  configDir: routerConfigDir,
  configFile: `${routerConfigDir}/${routerConfigKey}`,
  configKey: routerConfigKey,
  certDir: routerCertDir,
  ports: routerPorts,
  health: routerHealthServices,
  user: routerUser,
  objectiveApiGroup,
  objectiveApiVersion,
};
