// The generated router Deployment against the router itself: its args go through the router's own flag
// parser, --cert-path is the mounted cert-manager Secret signed by the pki chart's CA ClusterIssuer, the
// config file is the mounted ConfigMap key and parses with the router's config parser, and probes, ports
// and the gateway's TLS settings match what the router serves.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseSchedulerConfig } from '../../scheduler/core/config.ts';
import { policyPresets } from '../../scheduler/core/presets.ts';
import { modelDefaults } from '../../generator/normalize/defaults.ts';
import { routerConfig } from '../../generator/normalize/router-config.ts';
import { CERT_FILE, KEY_FILE } from '../../scheduler/extproc/tls.ts';
import { HEALTH_SERVICE_NAMES } from '../../scheduler/health/server.ts';
import { parseRouterArgs } from '../../scheduler/service/flags.ts';
import { runGenerate } from '../../generator/commands/generate.ts';
import { baselineEnvironments, captureConsole, repoRoot, tempRepo } from './helpers.ts';
import {
  chartSource,
  generatedArgoObjects,
  isApplication,
  renderRepositoryChart,
  type ApplicationObject,
  type KubeObject,
} from './platform/platform-helpers.ts';

interface Container {
  name: string;
  args: string[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: { grpc: { port: number; service?: string } };
  readinessProbe: { grpc: { port: number; service?: string } };
  securityContext: { readOnlyRootFilesystem?: boolean };
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}

interface Volume {
  name: string;
  secret?: { secretName: string; items?: unknown[] };
  configMap?: { name: string };
  emptyDir?: unknown;
}

interface RouterDeployment extends KubeObject {
  spec: { template: { spec: { containers: Container[]; volumes: Volume[] } } };
}

const environments = readdirSync(join(repoRoot, 'apps'));

function applications(environment: string): ApplicationObject[] {
  return generatedArgoObjects(repoRoot, environment).filter(isApplication);
}

function modelApplications(): [string, ApplicationObject][] {
  return environments.flatMap((env) =>
    applications(env)
      .filter((app) => chartSource(app).path === 'charts/model-server')
      .map((app): [string, ApplicationObject] => [`${env}/${app.metadata.name}`, app]),
  );
}

/** The CA ClusterIssuer the environment's pki Application creates. */
function caClusterIssuer(environment: string): string {
  const pki = applications(environment).find((app) => chartSource(app).path === 'charts/platform/pki');
  if (pki === undefined) throw new Error(`no pki Application in ${environment}`);
  const issuers = renderRepositoryChart(repoRoot, pki).filter(
    (object) => object.kind === 'ClusterIssuer' && object.spec?.['ca'] !== undefined,
  );
  expect(issuers).toHaveLength(1);
  return issuers[0]?.metadata.name ?? '';
}

function only<T extends KubeObject>(objects: readonly KubeObject[], kind: string, component?: string): T {
  const matches = objects.filter(
    (object) =>
      object.kind === kind &&
      (component === undefined || object.metadata.labels?.['app.kubernetes.io/component'] === component),
  );
  expect(
    matches.map((m) => m.metadata.name),
    `${kind} ${component ?? ''}`,
  ).toHaveLength(1);
  return matches[0] as T;
}

describe.each(modelApplications())('router of %s', (key, app) => {
  const environment = key.split('/')[0] ?? '';
  const namespace = app.spec.destination.namespace ?? 'default';
  const objects = renderRepositoryChart(repoRoot, app);
  const deployment = only<RouterDeployment>(objects, 'Deployment', 'router');
  const pod = deployment.spec.template.spec;
  // The first picker container ("router", or "router-<version>" with a version split); all share one shape.
  const container = pod.containers.find((c) => c.name === 'router' || c.name.startsWith('router-'));
  if (container === undefined) throw new Error('no router container');
  const options = parseRouterArgs(['node', 'router', ...container.args], {});
  const mountOf = (path: string) => container.volumeMounts.find((m) => m.mountPath === path);
  const volumeOf = (name: string | undefined) => pod.volumes.find((v) => v.name === name);

  it("passes args the router's flag parser accepts, each container watching its own pool", () => {
    const pools = objects.filter((object) => object.kind === 'InferencePool') as (KubeObject & {
      spec: { endpointPickerRef: { name: string; port: { number: number } } };
    })[];
    // One picker container per pool (a canary has a stable and a canary pool).
    expect(pod.containers).toHaveLength(pools.length);
    for (const picker of pod.containers) {
      const parsed = parseRouterArgs(['node', 'router', ...picker.args], {});
      const pool = pools.find((candidate) => candidate.metadata.name === parsed.poolName);
      expect(pool, `${picker.name} watches ${parsed.poolName ?? ''}`).toBeDefined();
      expect(parsed.poolNamespace).toBe(namespace);
      expect(parsed.staticEndpoints).toBeUndefined();
      expect(pool?.spec.endpointPickerRef.port.number).toBe(parsed.grpcPort);
    }
  });

  it('watches the API group of the InferenceObjectives and InferenceModelRewrites the chart emits', () => {
    const policyObjects = objects.filter(
      (object) => object.kind === 'InferenceObjective' || object.kind === 'InferenceModelRewrite',
    );
    expect(policyObjects.length).toBeGreaterThan(0);
    for (const object of policyObjects) {
      expect(object.apiVersion.split('/')[0]).toBe(options.objectiveApiGroup);
    }
  });

  it('lets only Prometheus, with its certificate from the same CA, read the metrics port', () => {
    expect(options.metricsClientCa).toBe(`${options.certPath ?? ''}/ca.crt`);
    const monitor = objects.find((o) => o.kind === 'ServiceMonitor') as
      | (KubeObject & {
          spec: { endpoints: { scheme: string; tlsConfig: { cert: { secret: { name: string } } } }[] };
        })
      | undefined;
    if (monitor === undefined) return;
    const endpoint = monitor.spec.endpoints[0];
    expect(endpoint?.scheme).toBe('https');
    const client = objects.find(
      (o) => o.kind === 'Certificate' && o.metadata.name === endpoint?.tlsConfig.cert.secret.name,
    ) as (KubeObject & { spec: { commonName: string; issuerRef: { name: string } } }) | undefined;
    expect(options.metricsClientNames).toEqual([client?.spec.commonName]);
    expect(client?.spec.issuerRef.name).toBe(caClusterIssuer(environment));
  });

  it('serves TLS from the mounted cert-manager Secret, keeping the root filesystem read-only', () => {
    expect(options.secureServing).toBe(true);
    expect(options.certPath).toBeDefined();
    const mount = mountOf(options.certPath ?? '');
    expect(mount?.readOnly).toBe(true);
    const secret = volumeOf(mount?.name)?.secret;
    // cert-manager writes tls.crt and tls.key, the names the router reads; no remapping of keys.
    expect([CERT_FILE, KEY_FILE]).toEqual(['tls.crt', 'tls.key']);
    expect(secret?.items).toBeUndefined();
    type CertificateObject = KubeObject & {
      spec: { secretName: string; dnsNames: string[]; issuerRef: { kind: string; name: string } };
    };
    // The serving certificate is the one whose Secret is mounted (the other is Prometheus's client pair).
    const certificates = objects.filter((o): o is CertificateObject => o.kind === 'Certificate');
    const serving = certificates.filter((c) => c.spec.secretName === secret?.secretName);
    expect(serving).toHaveLength(1);
    const certificate = serving[0] as CertificateObject;
    expect(certificate.apiVersion).toBe('cert-manager.io/v1');
    expect(secret?.secretName).toBe(certificate.spec.secretName);
    expect(certificate.spec.issuerRef.kind).toBe('ClusterIssuer');
    expect(certificate.spec.issuerRef.name).toBe(caClusterIssuer(environment));
    const service = only<KubeObject>(objects, 'Service', 'router').metadata.name;
    expect(certificate.spec.dnsNames).toEqual(
      expect.arrayContaining([
        service,
        `${service}.${namespace}.svc`,
        `${service}.${namespace}.svc.cluster.local`,
      ]),
    );
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    // With --cert-path the router writes nothing, so no writable volume is needed.
    expect(pod.volumes.filter((v) => v.emptyDir !== undefined)).toEqual([]);
  });

  it('reads its config from the mounted ConfigMap key, which the router parses', () => {
    const configFile = options.configFile ?? '';
    const mount = mountOf(posix.dirname(configFile));
    expect(mount?.readOnly).toBe(true);
    const configMap = only<KubeObject & { data: Record<string, string> }>(objects, 'ConfigMap', 'router');
    expect(volumeOf(mount?.name)?.configMap?.name).toBe(configMap.metadata.name);
    const text = configMap.data[posix.basename(configFile)];
    expect(text).toBeDefined();
    const config = parseSchedulerConfig(text ?? '', posix.basename(configFile));
    expect(config).toBeTruthy();
  });

  it('probes the gRPC health port with the liveness and readiness services', () => {
    expect(container.livenessProbe.grpc).toEqual({ port: options.grpcHealthPort, service: 'liveness' });
    expect(container.readinessProbe.grpc).toEqual({ port: options.grpcHealthPort, service: 'readiness' });
    expect(HEALTH_SERVICE_NAMES).toEqual(expect.arrayContaining(['liveness', 'readiness']));
  });

  it('exposes the ports the router listens on, and the gateway speaks TLS to ext_proc', () => {
    expect(container.ports.map((p) => p.containerPort)).toEqual([
      options.grpcPort,
      options.grpcHealthPort,
      options.metricsPort,
    ]);
    expect([options.grpcPort, options.grpcHealthPort, options.metricsPort]).toEqual([9002, 9003, 9090]);
    const service = only<KubeObject & { spec: { ports: { port: number; targetPort: string }[] } }>(
      objects,
      'Service',
      'router',
    );
    const rule = only<
      KubeObject & {
        spec: {
          host: string;
          trafficPolicy: { portLevelSettings: { port: { number: number }; tls: { mode: string } }[] };
        };
      }
    >(objects, 'DestinationRule', 'router');
    expect(rule.spec.host).toBe(`${service.metadata.name}.${namespace}.svc.cluster.local`);
    const servicePorts: number[][] = [];
    for (const picker of pod.containers) {
      const parsed = parseRouterArgs(['node', 'router', ...picker.args], {});
      const own = Object.fromEntries(picker.ports.map((p) => [p.name, p.containerPort]));
      expect(Object.values(own).sort()).toEqual(
        [parsed.grpcPort, parsed.grpcHealthPort, parsed.metricsPort].sort(),
      );
      // Every port the picker listens on is a Service port of the same number, and its ext_proc port speaks TLS.
      for (const [name, number] of Object.entries(own)) {
        servicePorts.push([number ?? 0, service.spec.ports.find((p) => p.targetPort === name)?.port ?? 0]);
      }
      expect(rule.spec.trafficPolicy.portLevelSettings).toContainEqual(
        expect.objectContaining({
          port: { number: parsed.grpcPort },
          tls: expect.objectContaining({ mode: 'SIMPLE' }),
        }),
      );
    }
    expect(servicePorts.every(([container, servicePort]) => container === servicePort)).toBe(true);
    expect(service.spec.ports).toHaveLength(servicePorts.length);
  });
});

describe('the default router profile', () => {
  it("is the switchyard preset the routing benchmark measures, at vLLM's default block size and llm-d's τ", () => {
    const generated = routerConfig(modelDefaults.routerProfile, modelDefaults.blockSize, {
      lora: false,
      affinityTokens: modelDefaults.affinityTokens,
    });
    const config = parseSchedulerConfig(stringify(generated), 'config.yaml');
    expect(config.plugins.filter((p) => p.type !== 'single-profile-handler')).toEqual(
      policyPresets.switchyard.plugins,
    );
    expect(config.schedulingProfiles).toEqual(policyPresets.switchyard.schedulingProfiles);
  });
});

describe('router certificate issuer', () => {
  it("follows the platform profile's pki.caIssuer, the issuer the pki chart creates", () => {
    const repo = tempRepo(baselineEnvironments);
    try {
      const platformFile = join(repo.root, 'environments/dev/platform.yaml');
      writeFileSync(platformFile, `${readFileSync(platformFile, 'utf8')}pki:\n  caIssuer: team-ca\n`);
      const console = captureConsole();
      expect(runGenerate({ root: repo.root }, console), console.lines.err.join('\n')).toBe(0);
      const models = readdirSync(join(repo.root, 'apps/dev/values/models'));
      expect(models.length).toBeGreaterThan(0);
      const pki = parse(readFileSync(join(repo.root, 'apps/dev/values/platform/pki.yaml'), 'utf8')) as {
        caIssuer: { name: string };
      };
      expect(pki.caIssuer.name).toBe('team-ca');
      for (const model of models) {
        const values = parse(readFileSync(join(repo.root, 'apps/dev/values/models', model), 'utf8')) as {
          router: { tls: { issuer: string } };
        };
        expect(values.router.tls.issuer, model).toBe(pki.caIssuer.name);
      }
    } finally {
      repo.cleanup();
    }
  });
});
