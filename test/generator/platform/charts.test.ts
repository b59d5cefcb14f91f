import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { runGenerate } from '../../../generator/commands/generate.ts';
import { loadCharts } from '../../../generator/load/charts.ts';
import type { PlatformProfile } from '../../../generator/model/generated/platform.ts';
import { captureConsole, exampleEnvironments, tempRepo } from '../helpers.ts';
import { helm, parseObjects, syncWave } from './platform-helpers.ts';

const repo = tempRepo(exampleEnvironments);
afterAll(repo.cleanup);
const out = repo.root;

function profile(extra: Partial<PlatformProfile>): PlatformProfile {
  return {
    release: '2026.11',
    cloud: { provider: 'eks' },
    argocd: { repoURL: 'https://git.example.com/platform/switchyard.git', targetRevision: 'main' },
    router: { image: { repository: 'ghcr.io/switchyard/router', tag: '0.1.0' } },
    vllm: { image: { repository: 'docker.io/vllm/vllm-openai', tag: 'v0.11.2' } },
    ...extra,
  };
}

/** Environments covering every chart and option: each cloud, both releases, ACME, kserve, internal gateway. */
const variants: Record<string, PlatformProfile> = {
  eks: profile({ gateway: { hostname: 'inference.example.com' } }),
  aks: profile({ cloud: { provider: 'aks' }, gateway: { exposure: 'internal', tls: { enabled: false } } }),
  gke: profile({ cloud: { provider: 'gke' }, release: '2026.05', components: { kserve: true } }),
  openshift: profile({
    cloud: { provider: 'openshift' },
    pki: {
      acme: { email: 'ops@example.com', server: 'https://acme-staging-v02.api.letsencrypt.org/directory' },
    },
    gateway: { hostname: 'inference.example.com', tls: { issuer: 'acme' } },
    monitoring: { selectorLabels: { release: 'kube-prometheus-stack' }, alerts: { ttftP95Seconds: 1.5 } },
  }),
};

// Each variant is an environment of its own with no models; the base layer is not merged under it.
for (const [name, input] of Object.entries(variants)) {
  mkdirSync(join(out, 'environments', name, 'models'), { recursive: true });
  writeFileSync(join(out, 'environments', name, 'platform.yaml'), stringify(input));
}
const generated = captureConsole();
if (runGenerate({ root: out }, generated) !== 0) throw new Error(generated.lines.err.join('\n'));

const chartDir = (chart: string): string => join(out, 'charts/platform', chart);
/** apps/<variant>/values/platform/<chart>.yaml, the file each platform Application renders its chart with. */
const valuesOf = (variant: string, chart: string): string =>
  join(out, 'apps', variant, 'values/platform', `${chart}.yaml`);
const valueFiles = Object.keys(variants).flatMap((variant) =>
  readdirSync(join(out, 'apps', variant, 'values/platform')).map(
    (file) => `apps/${variant}/values/platform/${file}`,
  ),
);

function template(chart: string, args: readonly string[]): ReturnType<typeof spawnSync> {
  return spawnSync(helm, ['template', chart, chartDir(chart), '--namespace', 'test', ...args], {
    encoding: 'utf8',
  });
}

describe('platform charts', () => {
  it.each(valueFiles.map((file) => [file]))('%s passes helm lint --strict and renders', (path) => {
    const chart = (path.split('/').pop() ?? '').replace(/\.yaml$/, '');
    const values = join(out, path);
    const lint = spawnSync(helm, ['lint', '--strict', chartDir(chart), '-f', values], { encoding: 'utf8' });
    expect(lint.stdout + lint.stderr, path).toContain('0 chart(s) failed');
    expect(lint.status).toBe(0);
    const rendered = template(chart, ['-f', values]);
    expect(rendered.status, String(rendered.stderr)).toBe(0);
    const objects = parseObjects(String(rendered.stdout));
    expect(objects.length).toBeGreaterThan(0);
    for (const object of objects) {
      expect(object.metadata.labels?.['app.kubernetes.io/version'], object.metadata.name).toBe('0.1.0');
      expect(object.metadata.labels?.['app.kubernetes.io/component'], object.metadata.name).toBe(chart);
    }
  });

  it('documents every values.yaml key, and derives its schema and README from it', () => {
    const loaded = loadCharts(out);
    expect(loaded.ok && loaded.inputs.charts.length).toBeGreaterThan(1);
    if (!loaded.ok) return;
    for (const chart of loaded.inputs.charts) {
      const undocumented = chart.values.filter((value) => value.description === '');
      expect(undocumented, chart.dir).toEqual([]);
      const readme = readFileSync(join(out, chart.dir, 'README.md'), 'utf8');
      for (const value of chart.values) expect(readme, chart.dir).toContain(`| \`${value.path}\` |`);
    }
  });

  it('rejects values its schema forbids, through helm itself', () => {
    const badType = template('gateway', ['--set', 'tls.enabled=maybe']);
    expect(badType.status).not.toBe(0);
    expect(String(badType.stderr)).toContain('tls');
    const outOfRange = template('monitoring', ['--set', 'alerts.kvCacheUsage=2']);
    expect(outOfRange.status).not.toBe(0);
    const unknown = template('pki', ['--set', 'caIssuer.nmae=x']);
    expect(unknown.status).not.toBe(0);
  });

  it('puts the cloud load-balancer annotations on the Gateway infrastructure', () => {
    const objects = parseObjects(String(template('gateway', ['-f', valuesOf('eks', 'gateway')]).stdout));
    const gateway = objects.find((object) => object.kind === 'Gateway');
    expect(gateway?.spec?.['infrastructure']).toEqual({
      annotations: {
        'service.beta.kubernetes.io/aws-load-balancer-nlb-target-type': 'ip',
        'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing',
        'service.beta.kubernetes.io/aws-load-balancer-type': 'external',
      },
    });
    const internal = parseObjects(String(template('gateway', ['-f', valuesOf('aks', 'gateway')]).stdout));
    // No listener certificate without TLS; the router-trust certificate is always there.
    expect(internal.map((object) => `${object.kind}/${object.metadata.name}`)).toEqual([
      'Certificate/switchyard-router-ca',
      'Gateway/inference-gateway',
    ]);
    expect(JSON.stringify(internal.find((object) => object.kind === 'Gateway')?.spec)).toContain(
      '"service.beta.kubernetes.io/azure-load-balancer-internal":"true"',
    );
  });

  it('chains the PKI: self-signed root → CA certificate → CA issuer, plus ACME when asked for', () => {
    const objects = parseObjects(String(template('pki', ['-f', valuesOf('openshift', 'pki')]).stdout));
    expect(objects.map((object) => `${object.kind}/${object.metadata.name}`).sort()).toEqual([
      'Certificate/switchyard-ca',
      'ClusterIssuer/acme',
      'ClusterIssuer/switchyard-ca',
      'ClusterIssuer/switchyard-selfsigned',
    ]);
    const waves = Object.fromEntries(
      objects.map((object) => [`${object.kind}/${object.metadata.name}`, syncWave(object)]),
    );
    expect(waves['ClusterIssuer/switchyard-selfsigned']).toBeLessThan(
      waves['Certificate/switchyard-ca'] ?? 0,
    );
    expect(waves['Certificate/switchyard-ca']).toBeLessThan(waves['ClusterIssuer/switchyard-ca'] ?? 0);
    const certificate = objects.find((object) => object.kind === 'Certificate');
    expect(certificate?.spec?.['isCA']).toBe(true);
    expect(certificate?.spec?.['issuerRef']).toMatchObject({
      kind: 'ClusterIssuer',
      name: 'switchyard-selfsigned',
    });
  });

  it('delivers exactly the tested Lua health checks as argocd-cm keys', () => {
    const [configMap] = parseObjects(
      execFileSync(helm, ['template', 'argocd-config', chartDir('argocd-config'), '--namespace', 'argocd'], {
        encoding: 'utf8',
      }),
    );
    const data = (configMap as unknown as { data: Record<string, string> }).data;
    const healthDir = join(chartDir('argocd-config'), 'files/health');
    const checks = readdirSync(healthDir).filter((file) => file.endsWith('.lua'));
    expect(checks.length).toBeGreaterThanOrEqual(4);
    for (const file of checks) {
      const key = file.replace(/\.lua$/, '');
      expect(data[`resource.customizations.health.${key}`]).toBe(readFileSync(join(healthDir, file), 'utf8'));
    }
    expect(parse(data['resource.exclusions'] ?? '')).toContainEqual({
      apiGroups: ['acme.cert-manager.io'],
      kinds: ['Challenge', 'Order'],
      clusters: ['*'],
    });
    expect(configMap?.metadata.annotations?.['argocd.argoproj.io/sync-options']).toBe(
      'ServerSideApply=true,Prune=false,Delete=false',
    );
  });
});
