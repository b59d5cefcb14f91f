/* eslint-disable @typescript-eslint/no-non-null-assertion -- fixtures index arrays whose length the test fixes */
// vLLM over TLS, rendered by real helm from the generated Applications: every pod that serves HTTP (single-node,
// a LeaderWorkerSet's leader, a decode pod's routing sidecar, KServe's workload) serves the certificate the
// platform CA issues for the model, and every client verifies it against that CA and a name the certificate
// holds: the gateway (a DestinationRule on the Service Istio creates for each InferencePool), the routers (their
// own flag parser reads the rendered arguments) and Prometheus (the PodMonitor).
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { parseMetricsProxyArgs } from '../../scheduler/metrics-proxy/flags.ts';
import { parseRouterArgs } from '../../scheduler/service/flags.ts';
import { validateObject } from '../../generator/verify/objects.ts';
import { generatedDevRepo, nodeShapePlatform } from './helpers.ts';
import { renderedApplication, type KubeObject } from './platform/platform-helpers.ts';

interface Probe {
  httpGet: { path: string; port: string | number; scheme?: string };
}
interface Container {
  name: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  initContainers?: Container[];
  containers: Container[];
  volumes: { name: string; secret?: { secretName: string } }[];
}
type Workload = KubeObject & {
  spec: {
    template?: { spec: PodSpec };
    leaderWorkerTemplate?: { leaderTemplate: { spec: PodSpec }; workerTemplate: { spec: PodSpec } };
  };
};
type Certificate = KubeObject & {
  spec: {
    secretName: string;
    dnsNames: string[];
    usages: string[];
    issuerRef: { kind: string; name: string };
  };
};
type DestinationRule = KubeObject & {
  spec: {
    host: string;
    trafficPolicy: {
      tls: { mode: string; sni: string; credentialName: string; subjectAltNames: string[] };
    };
  };
};

const NAMESPACE = 'llm';
const CA_ISSUER = 'switchyard-ca';
const GATEWAY_TRUST_SECRET = 'switchyard-router-ca';

const repo = generatedDevRepo(nodeShapePlatform(4), {
  'tls-basic': {},
  'tls-wide': { parallelism: { tensor: 8 } },
  'tls-pd': { disaggregation: { kvConnector: 'nixl' } },
  'tls-canary': { rollout: { steps: [{ weight: 20, pause: '5m' }] } },
});
const kserve = generatedDevRepo(
  {
    release: '2026.11',
    serving: 'kserve',
    components: { kserve: true },
    cloud: { provider: 'generic' },
    accelerators: { 'nvidia-gpu': { resourceName: 'nvidia.com/gpu', gpusPerNode: 4 } },
  },
  { 'tls-kserve': {} },
);
afterAll(() => {
  repo.cleanup();
  kserve.cleanup();
});

const rendered = (name: string): KubeObject[] => renderedApplication(repo.root, 'dev', `dev-${name}`);
const ofKind = <T extends KubeObject>(objects: readonly KubeObject[], kind: string): T[] =>
  objects.filter((o) => o.kind === kind) as T[];

/** The model's serving certificate: the one Certificate whose Secret the vLLM pods mount. */
function servingCertificate(objects: readonly KubeObject[], model: string): Certificate {
  const certificate = ofKind<Certificate>(objects, 'Certificate').find(
    (c) => c.metadata.name === `${model}-vllm-tls`,
  );
  if (certificate === undefined) throw new Error(`no serving certificate for ${model}`);
  return certificate;
}

/** Istio's Service for an InferencePool: the name, "-ip-", 8 hex digits of the name's SHA-256 (istio/istio). */
function istioPoolServiceName(pool: string): string {
  const hash = createHash('sha256').update(pool).digest('hex').slice(0, 8);
  return `${pool.slice(0, 63 - '-ip-'.length - 8)}-ip-${hash}`;
}

/** vLLM's arguments in a container: its args, or the `vllm serve …` a multi-node leader runs through its shell. */
function servedArgs(container: Container): string[] {
  if (container.command === undefined) return container.args ?? [];
  const script = container.args?.[0] ?? '';
  return [...script.slice(script.indexOf('vllm serve')).matchAll(/'([^']*)'/g)].map((m) => m[1] ?? '');
}
const argAfter = (args: readonly string[], flag: string): string | undefined => args[args.indexOf(flag) + 1];

/** The file a container reads at a path, as the Secret key it comes from: [secretName, key]. */
function secretFile(pod: PodSpec, container: Container, path: string): [string, string] | undefined {
  const mount = container.volumeMounts?.find((m) => path.startsWith(`${m.mountPath}/`));
  const volume = pod.volumes.find((v) => v.name === mount?.name);
  if (mount === undefined || volume?.secret === undefined) return undefined;
  return [volume.secret.secretName, path.slice(mount.mountPath.length + 1)];
}

/** Every probe of a container speaks HTTPS. */
function expectHttpsProbes(container: Container): void {
  for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
    if (probe !== undefined) expect(probe.httpGet.scheme, container.name).toBe('HTTPS');
  }
}

describe('vLLM over TLS', () => {
  it('issues each model a serving certificate from the platform CA, naming its Service', () => {
    const objects = rendered('tls-basic');
    const certificate = servingCertificate(objects, 'tls-basic');
    expect(certificate.spec.issuerRef).toMatchObject({ kind: 'ClusterIssuer', name: CA_ISSUER });
    expect(certificate.spec.dnsNames).toContain(`tls-basic-vllm.${NAMESPACE}.svc`);
    expect(certificate.spec.usages).toContain('server auth');
    const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'tls-basic-vllm') as
      (KubeObject & { spec: { ports: { appProtocol: string }[] } }) | undefined;
    expect(service!.spec.ports[0]!.appProtocol).toBe('https');
    for (const object of [certificate, ...ofKind(objects, 'DestinationRule')]) {
      expect(validateObject(object as never), object.metadata.name).toEqual([]);
    }
  });

  it('has a single-node vLLM serve the mounted certificate, reload it, and answer its probes over HTTPS', () => {
    const objects = rendered('tls-basic');
    const deployment = ofKind<Workload>(objects, 'Deployment').find(
      (d) => d.metadata.name === 'tls-basic-vllm',
    )!;
    const pod = deployment.spec.template!.spec;
    const vllm = pod.containers[0]!;
    const args = servedArgs(vllm);
    const secret = servingCertificate(objects, 'tls-basic').spec.secretName;
    expect(secretFile(pod, vllm, argAfter(args, '--ssl-certfile')!)).toEqual([secret, 'tls.crt']);
    expect(secretFile(pod, vllm, argAfter(args, '--ssl-keyfile')!)).toEqual([secret, 'tls.key']);
    expect(args).toContain('--enable-ssl-refresh');
    expectHttpsProbes(vllm);
  });

  it("has a multi-node group's leader serve TLS and its workers, which serve no HTTP, hold no key", () => {
    const objects = rendered('tls-wide');
    const group = ofKind<Workload>(objects, 'LeaderWorkerSet')[0]!;
    const { leaderTemplate, workerTemplate } = group.spec.leaderWorkerTemplate!;
    const leader = leaderTemplate.spec.containers[0]!;
    const secret = servingCertificate(objects, 'tls-wide').spec.secretName;
    const args = servedArgs(leader);
    expect(secretFile(leaderTemplate.spec, leader, argAfter(args, '--ssl-certfile')!)).toEqual([
      secret,
      'tls.crt',
    ]);
    expect(args).toContain('--enable-ssl-refresh');
    expectHttpsProbes(leader);
    expect(workerTemplate.spec.volumes.map((v) => v.secret?.secretName)).not.toContain(secret);
  });

  it("has a decode pod's routing sidecar serve the certificate and reach its own vLLM over verified TLS", () => {
    const objects = rendered('tls-pd');
    const secret = servingCertificate(objects, 'tls-pd').spec.secretName;
    const workloads = ofKind<Workload>(objects, 'Deployment').filter((d) =>
      d.metadata.name.includes('-vllm'),
    );
    const decode = workloads.find((d) => d.spec.template!.spec.initContainers !== undefined)!.spec.template!
      .spec;
    const sidecar = decode.initContainers!.find((c) => c.name === 'llm-d-routing-sidecar')!;
    const certPath = sidecar.args!.find((a) => a.startsWith('--cert-path='))!.slice('--cert-path='.length);
    expect(sidecar.args).toContain('--secure-proxy=true');
    expect(secretFile(decode, sidecar, `${certPath}/tls.crt`)).toEqual([secret, 'tls.crt']);
    expect(sidecar.args).toContain('--enable-tls=decoder,prefiller');
    // Its own vLLM is verified (localhost is in the certificate); prefill pods are dialled by IP.
    expect(servingCertificate(objects, 'tls-pd').spec.dnsNames).toContain('localhost');
    const trust = sidecar.env!.find((e) => e.name === 'SSL_CERT_FILE')!.value!;
    expect(secretFile(decode, sidecar, trust)).toEqual([secret, 'ca.crt']);
    expect(sidecar.args).toContain('--tls-insecure-skip-verify=prefiller');
    expectHttpsProbes(sidecar);
    for (const workload of workloads) {
      const pod = workload.spec.template!.spec;
      const vllm = pod.containers[0]!;
      expect(secretFile(pod, vllm, argAfter(servedArgs(vllm), '--ssl-certfile')!)).toEqual([
        secret,
        'tls.crt',
      ]);
      expectHttpsProbes(vllm);
    }
  });

  it('has the gateway verify vLLM on every pool, through the Service Istio creates for the pool', () => {
    for (const model of ['tls-basic', 'tls-canary']) {
      const objects = rendered(model);
      const names = servingCertificate(objects, model).spec.dnsNames;
      const pools = objects.filter((o) => o.kind === 'InferencePool').map((p) => p.metadata.name);
      expect(pools.length).toBe(model === 'tls-canary' ? 2 : 1);
      const rules = ofKind<DestinationRule>(objects, 'DestinationRule');
      for (const pool of pools) {
        const rule = rules.find(
          (r) => r.spec.host === `${istioPoolServiceName(pool)}.${NAMESPACE}.svc.cluster.local`,
        );
        expect(rule, pool).toBeDefined();
        const { tls } = rule!.spec.trafficPolicy;
        expect(tls.mode).toBe('SIMPLE');
        expect(tls.credentialName).toBe(GATEWAY_TRUST_SECRET);
        expect(names).toContain(tls.sni);
        expect(tls.subjectAltNames.every((name) => names.includes(name))).toBe(true);
      }
    }
    expect(istioPoolServiceName('qwen-basic')).toBe('qwen-basic-ip-d830520d');
  });

  it("has every router verify vLLM against the CA in its own mounted Secret and a name in vLLM's certificate", () => {
    const objects = rendered('tls-canary');
    const names = servingCertificate(objects, 'tls-canary').spec.dnsNames;
    const router = ofKind<Workload>(objects, 'Deployment').find(
      (d) => d.metadata.name === 'tls-canary-router',
    )!;
    const pod = router.spec.template!.spec;
    expect(pod.containers.length).toBe(2);
    const routerCertificate = ofKind<Certificate>(objects, 'Certificate').find(
      (c) => c.metadata.name === 'tls-canary-router-tls',
    )!;
    expect(routerCertificate.spec.issuerRef.name).toBe(CA_ISSUER);
    for (const container of pod.containers) {
      const options = parseRouterArgs(['node', 'router', ...container.args!], {});
      expect(options.modelServerScheme).toBe('https');
      expect(names).toContain(options.modelServerTls?.serverName);
      expect(options.modelServerTls?.insecureSkipVerify).toBe(false);
      expect(secretFile(pod, container, options.modelServerTls!.caFile!)).toEqual([
        routerCertificate.spec.secretName,
        'ca.crt',
      ]);
    }
  });

  it('has Prometheus scrape vLLM over HTTPS, verified against the platform CA', () => {
    const objects = rendered('tls-basic');
    const names = servingCertificate(objects, 'tls-basic').spec.dnsNames;
    const monitor = objects.find((o) => o.kind === 'PodMonitor') as
      | (KubeObject & {
          spec: {
            podMetricsEndpoints: {
              scheme: string;
              tlsConfig: { serverName: string; ca: { secret: { name: string; key: string } } };
            }[];
          };
        })
      | undefined;
    const endpoint = monitor!.spec.podMetricsEndpoints[0]!;
    expect(endpoint.scheme).toBe('https');
    expect(names).toContain(endpoint.tlsConfig.serverName);
    const caSource = ofKind<Certificate>(objects, 'Certificate').find(
      (c) => c.spec.secretName === endpoint.tlsConfig.ca.secret.name,
    );
    expect(caSource!.spec.issuerRef.name).toBe(CA_ISSUER);
    expect(endpoint.tlsConfig.ca.secret.key).toBe('ca.crt');
  });

  it("has Prometheus scrape vLLM's metrics through the proxy: verified both ways, and the only port it may reach", () => {
    const objects = rendered('tls-basic');
    const pod = ofKind<Workload>(objects, 'Deployment').find((d) => d.metadata.name === 'tls-basic-vllm')!
      .spec.template!.spec;
    const proxy = pod.containers.find((c) => c.name === 'metrics-proxy')!;
    const options = parseMetricsProxyArgs(proxy.args!.slice(1));
    const certificate = servingCertificate(objects, 'tls-basic');
    // The proxy checks vLLM's certificate against the platform CA and a name it holds, and serves the same pair.
    expect(proxy.args![0]).toBe('metrics-proxy');
    expect(options.scheme).toBe('https');
    expect(certificate.spec.dnsNames).toContain(options.tls?.serverName);
    expect(secretFile(pod, proxy, options.tls!.caFile!)).toEqual([certificate.spec.secretName, 'ca.crt']);
    expect(secretFile(pod, proxy, `${options.mutualTls!.certDir}/tls.crt`)).toEqual([
      certificate.spec.secretName,
      'tls.crt',
    ]);
    // It answers only Prometheus's client certificate, which the PodMonitor presents.
    const client = ofKind<Certificate & { spec: { commonName: string } }>(objects, 'Certificate').find((c) =>
      c.spec.usages.includes('client auth'),
    )!;
    expect(options.mutualTls!.clientNames).toEqual([client.spec.commonName]);
    const monitor = objects.find((o) => o.kind === 'PodMonitor') as KubeObject & {
      spec: {
        podMetricsEndpoints: {
          port: string;
          tlsConfig: { serverName: string; cert: { secret: { name: string } }; keySecret: { name: string } };
        }[];
      };
    };
    const endpoint = monitor.spec.podMetricsEndpoints[0]!;
    expect(endpoint.port).toBe('metrics');
    expect(endpoint.tlsConfig.cert.secret.name).toBe(client.spec.secretName);
    expect(endpoint.tlsConfig.keySecret.name).toBe(client.spec.secretName);
    expect(certificate.spec.dnsNames).toContain(endpoint.tlsConfig.serverName);
    // The monitoring namespace reaches the proxy's port, and vLLM's own port not at all.
    const policy = objects.find(
      (o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'tls-basic-vllm',
    ) as KubeObject & {
      spec: {
        ingress: {
          from: { namespaceSelector?: { matchLabels: Record<string, string> } }[];
          ports: { port: number }[];
        }[];
      };
    };
    const monitoringPorts = policy.spec.ingress
      .filter((rule) =>
        rule.from.some(
          (peer) => peer.namespaceSelector?.matchLabels['kubernetes.io/metadata.name'] === 'monitoring',
        ),
      )
      .flatMap((rule) => rule.ports.map((p) => p.port));
    expect(monitoringPorts).toEqual([options.port]);
  });

  it('has a metrics proxy beside every vLLM container that serves HTTP, pointed at its port, and none on workers', () => {
    /** The pods of a workload: [pod spec, whether it serves HTTP]. */
    const podsOf = (workload: Workload): [PodSpec, boolean][] =>
      workload.spec.leaderWorkerTemplate === undefined
        ? [[workload.spec.template!.spec, true]]
        : [
            [workload.spec.leaderWorkerTemplate.leaderTemplate.spec, true],
            [workload.spec.leaderWorkerTemplate.workerTemplate.spec, false],
          ];
    let serving = 0;
    for (const model of ['tls-basic', 'tls-wide', 'tls-pd', 'tls-canary']) {
      const objects = rendered(model);
      const workloads = objects.filter(
        (o) =>
          ['Deployment', 'LeaderWorkerSet', 'Rollout'].includes(o.kind) &&
          !o.metadata.name.endsWith('-router'),
      ) as Workload[];
      for (const [pod, servesHttp] of workloads.flatMap(podsOf)) {
        const proxy = pod.containers.find((c) => c.name === 'metrics-proxy');
        if (!servesHttp) {
          expect(proxy, model).toBeUndefined();
          continue;
        }
        serving++;
        const vllm = pod.containers[0]!;
        const port = argAfter(servedArgs(vllm), '--port') ?? '8000';
        expect(parseMetricsProxyArgs(proxy!.args!.slice(1)).vllmPort, model).toBe(Number(port));
      }
    }
    // tls-basic, the group's leader, the decode and prefill pods, and the canary's Rollout.
    expect(serving).toBe(5);
  });

  it("has KServe's workload serve the platform CA's certificate in place of KServe's self-signed one", () => {
    const objects = renderedApplication(kserve.root, 'dev', 'dev-tls-kserve');
    const service = objects.find((o) => o.kind === 'LLMInferenceService') as
      (KubeObject & { spec: { template: PodSpec } }) | undefined;
    const pod = service!.spec.template;
    const main = pod.containers[0]!;
    const secret = servingCertificate(objects, 'tls-kserve').spec.secretName;
    expect(secretFile(pod, main, argAfter(main.args!, '--ssl-certfile')!)).toEqual([secret, 'tls.crt']);
    expect(secretFile(pod, main, argAfter(main.args!, '--ssl-keyfile')!)).toEqual([secret, 'tls.key']);
    expectHttpsProbes(main);
    expect(main.livenessProbe).toBeDefined();
    expect(main.readinessProbe).toBeDefined();
  });
});
