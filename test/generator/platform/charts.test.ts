import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ValuesSchema } from '../../../generator/platform/chart.ts';
import { HEALTH_CHECKS } from '../../../generator/platform/health-checks.ts';
import {
  PLATFORM_CHARTS,
  renderPlatformCharts,
  renderPlatformEnvironment,
} from '../../../generator/platform/index.ts';
import { platformSettings } from '../../../generator/platform/profile.ts';
import type { PlatformProfile } from '../../../generator/model/generated/platform.ts';
import { helm, parseObjects, syncWave } from './platform-helpers.ts';

const out = mkdtempSync(join(tmpdir(), 'switchyard-platform-charts-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

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

const files = [
  ...renderPlatformCharts(),
  ...Object.entries(variants).flatMap(([name, input]) =>
    renderPlatformEnvironment(platformSettings(name, input)),
  ),
];
for (const file of files) {
  mkdirSync(dirname(join(out, file.path)), { recursive: true });
  writeFileSync(join(out, file.path), file.content);
}
const chartDir = (chart: string): string => join(out, 'charts/platform', chart);
const valueFiles = files.filter((file) => /^charts\/platform\/[^/]+\/values-[a-z]+\.yaml$/.test(file.path));

function template(chart: string, args: readonly string[]): ReturnType<typeof spawnSync> {
  return spawnSync(helm, ['template', chart, chartDir(chart), '--namespace', 'test', ...args], {
    encoding: 'utf8',
  });
}

describe('platform charts', () => {
  it.each(valueFiles.map((file) => [file.path]))('%s passes helm lint --strict and renders', (path) => {
    const chart = path.split('/')[2] ?? '';
    const values = join(out, path);
    const lint = spawnSync(helm, ['lint', '--strict', chartDir(chart), '-f', values], { encoding: 'utf8' });
    expect(lint.stdout + lint.stderr, path).toContain('0 chart(s) failed');
    expect(lint.status).toBe(0);
    const rendered = template(chart, ['-f', values]);
    expect(rendered.status, String(rendered.stderr)).toBe(0);
    expect(parseObjects(String(rendered.stdout)).length).toBeGreaterThan(0);
  });

  it('documents every values.yaml key with a comment naming it', () => {
    for (const { chart } of Object.values(PLATFORM_CHARTS)) {
      const text =
        files.find((file) => file.path === `charts/platform/${chart.name}/values.yaml`)?.content ?? '';
      const lines = text.split('\n');
      const described = new Set<string>();
      const collect = (schema: ValuesSchema): void => {
        for (const [key, child] of Object.entries(schema.properties ?? {})) {
          described.add(key);
          collect(child);
        }
      };
      collect(chart.valuesSchema);
      const undocumented = lines.flatMap((line, index) => {
        const match = /^(\s*)([A-Za-z][\w]*):/.exec(line);
        if (match === null || !described.has(match[2] ?? '')) return [];
        const [, indent, key] = match;
        return lines[index - 1]?.startsWith(`${indent ?? ''}# ${key ?? ''} -- `)
          ? []
          : [`${chart.name}:${index + 1} ${key ?? ''}`];
      });
      expect(undocumented, chart.name).toEqual([]);
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
    const objects = parseObjects(
      String(template('gateway', ['-f', join(chartDir('gateway'), 'values-eks.yaml')]).stdout),
    );
    const gateway = objects.find((object) => object.kind === 'Gateway');
    expect(gateway?.spec?.['infrastructure']).toEqual({
      annotations: {
        'service.beta.kubernetes.io/aws-load-balancer-nlb-target-type': 'ip',
        'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing',
        'service.beta.kubernetes.io/aws-load-balancer-type': 'external',
      },
    });
    const internal = parseObjects(
      String(template('gateway', ['-f', join(chartDir('gateway'), 'values-aks.yaml')]).stdout),
    );
    expect(internal.map((object) => object.kind)).toEqual(['Gateway']);
    expect(JSON.stringify(internal[0]?.spec)).toContain(
      '"service.beta.kubernetes.io/azure-load-balancer-internal":"true"',
    );
  });

  it('chains the PKI: self-signed root → CA certificate → CA issuer, plus ACME when asked for', () => {
    const objects = parseObjects(
      String(template('pki', ['-f', join(chartDir('pki'), 'values-openshift.yaml')]).stdout),
    );
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
    for (const check of HEALTH_CHECKS) {
      expect(data[`resource.customizations.health.${check.key}`]).toBe(check.lua);
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
