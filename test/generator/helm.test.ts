// The model charts under real helm: lint --strict and template exactly as each Application says, every
// rendered object valid, the router accepts its ConfigMap, and values.schema.json rejects bad values.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { buildOutputs } from '../../generator/pipeline.ts';
import { validateObject } from '../../generator/verify/objects.ts';
import { parseSchedulerConfig } from '../../scheduler/core/config.ts';
import type { JsonObject } from '../../generator/verify/openapi-schema.ts';
import { helmEnvironment } from '../../generator/verify/helm.ts';
import { renderJobsFor } from '../../generator/verify/repository.ts';
import { captureConsole, exampleEnvironments, repoRoot, tempRepo } from './helpers.ts';
import { chartSource, sourcesOf, type ApplicationObject } from './platform/platform-helpers.ts';
import { servingPod, vllmArgs } from './vllm-pods.ts';
import { runGenerate } from '../../generator/commands/generate.ts';
import { afterAll } from 'vitest';

const helm = join(repoRoot, '.tools/bin/helm');
const { root, cleanup } = tempRepo(exampleEnvironments);
afterAll(cleanup);
const generated = captureConsole();
if (runGenerate({ root }, generated) !== 0) {
  throw new Error(generated.lines.err.join('\n'));
}

interface ModelApplication {
  file: string;
  chartPath: string;
  releaseName: string;
  /** helm template arguments exactly as the validator resolves the Application (value files included). */
  args: string[];
  /** `-f` arguments of the value files. */
  valueArgs: string[];
  namespace: string;
}

const applications: ModelApplication[] = buildOutputs(root)
  .files.filter((f) => /^apps\/[^/]+\/models\/[^/]+\.yaml$/.test(f.path))
  .map((f) => {
    const app = parseAllDocuments(f.content)[0]?.toJS() as ApplicationObject;
    const source = chartSource(app);
    const planned = renderJobsFor(
      root,
      app as unknown as JsonObject,
      f.path,
      new Set(sourcesOf(app).map((s) => s.repoURL)),
    );
    const job = planned.jobs[0];
    if (job === undefined) throw new Error(`${f.path}: ${JSON.stringify(planned.problems)}`);
    return {
      file: f.path,
      chartPath: source.path ?? '',
      releaseName: source.helm?.releaseName ?? '',
      args: job.args,
      valueArgs: job.valueFiles.flatMap((file) => ['-f', join(root, file)]),
      namespace: app.spec.destination.namespace ?? '',
    };
  });

function helmArgs(app: ModelApplication): string[] {
  return app.valueArgs;
}

function renderedObjects(app: ModelApplication): Record<string, unknown>[] {
  const output = execFileSync(helm, app.args, { encoding: 'utf8' });
  return parseAllDocuments(output)
    .map((d) => (Array.isArray(d) ? null : (d.toJS() as Record<string, unknown> | null)))
    .filter((o): o is Record<string, unknown> => o !== null);
}

describe.each(applications.map((a) => [a.file, a] as const))('%s', (_file, app) => {
  it('passes helm lint --strict with its value files', () => {
    const result = spawnSync(helm, ['lint', '--strict', join(root, app.chartPath), ...helmArgs(app)], {
      encoding: 'utf8',
    });
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });

  it('renders objects that all validate, in the Application namespace', () => {
    const objects = renderedObjects(app);
    const kinds = objects.map((o) => o.kind).sort();
    expect(kinds).toEqual(
      expect.arrayContaining([
        'ConfigMap',
        'Deployment',
        'Deployment',
        'HTTPRoute',
        'InferenceObjective',
        'InferencePool',
        'NetworkPolicy',
        'PodDisruptionBudget',
        'Role',
        'RoleBinding',
        'Service',
        'Service',
        'ServiceAccount',
      ]),
    );
    for (const object of objects) {
      expect(validateObject(object), `${String(object.kind)}`).toEqual([]);
    }
    const route = objects.find((o) => o.kind === 'HTTPRoute') as {
      spec: { rules: { matches: { path: { value: string } }[] }[] };
    };
    expect(route.spec.rules[0]?.matches[0]?.path.value).toBe(`/${app.namespace}/${app.releaseName}/`);
  });

  it('labels every object with the app version and its component', () => {
    for (const object of renderedObjects(app)) {
      const labels = (object.metadata as { labels?: Record<string, string> }).labels ?? {};
      const name = `${String(object.kind)} ${(object.metadata as { name: string }).name}`;
      expect(labels['app.kubernetes.io/version'], name).toBe('0.1.0');
      expect(labels['app.kubernetes.io/component'], name).toMatch(/^(vllm|router|routing|test)$/);
      expect(labels['helm.sh/chart'], name).toMatch(/^model-server-\d+\.\d+\.\d+$/);
    }
  });

  it('fails closed, verifies the router, and denies what the pods do not need', () => {
    const objects = renderedObjects(app);
    const pool = objects.find((o) => o.kind === 'InferencePool') as {
      spec: { endpointPickerRef: { failureMode: string } };
    };
    expect(pool.spec.endpointPickerRef.failureMode).toBe('FailClose');
    const rule = objects.find((o) => o.kind === 'DestinationRule') as {
      spec: { trafficPolicy: { portLevelSettings: { tls: Record<string, unknown> }[] } };
    };
    const tls = rule.spec.trafficPolicy.portLevelSettings[0]?.tls ?? {};
    expect(tls).not.toHaveProperty('insecureSkipVerify');
    expect(tls.credentialName).toBe('switchyard-router-ca');
    expect(tls.subjectAltNames).toEqual([`${app.releaseName}-router.${app.namespace}.svc`]);
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy') as {
      spec: { policyTypes: string[]; egress: unknown[] };
    }[];
    expect(policies).toHaveLength(2);
    for (const policy of policies) {
      expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
      expect(policy.spec.egress.length).toBeGreaterThan(0);
    }
    expect(servingPod(objects).spec.containers[0]?.securityContext.readOnlyRootFilesystem).toBe(true);
  });

  it("gives the router a config it accepts, with vLLM's block size", () => {
    const objects = renderedObjects(app);
    const configMap = objects.find((o) => o.kind === 'ConfigMap') as { data: Record<string, string> };
    const args = vllmArgs(servingPod(objects));
    const blockSize = Number(args[args.indexOf('--block-size') + 1]);
    const text = configMap.data['config.yaml'] ?? '';
    expect(() => parseSchedulerConfig(text, 'config.yaml')).not.toThrow();
    expect(text).toContain(`blockSizeTokens: ${blockSize}`);
  });
});

describe('values.schema.json', () => {
  const app = applications[0];

  it.each([
    ['vllm.replicas=-1', /replicas/],
    ['vllm.bogus=1', /bogus/],
    ['router.failureMode=Sometimes', /failureMode/],
  ])('rejects --set %s', (assignment, field) => {
    if (app === undefined) {
      throw new Error('no model Application');
    }
    const result = spawnSync(
      helm,
      ['template', app.releaseName, join(root, app.chartPath), ...helmArgs(app), '--set', assignment],
      { encoding: 'utf8' },
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(field);
  });
});

describe('pvc:// and oci:// models', () => {
  const repo = tempRepo(join(repoRoot, 'test/fixtures/inputs/baseline/environments'));
  afterAll(repo.cleanup);
  const spec = (name: string, uri: string): string =>
    `name: ${name}\nnamespace: weights\nmodel:\n  uri: ${uri}\naccelerator:\n  type: nvidia-gpu\n`;
  // Image volumes, which oci:// models mount, are on by default from Kubernetes 1.35.
  const platformFile = join(repo.root, 'environments/dev/platform.yaml');
  const platform = parse(readFileSync(platformFile, 'utf8')) as { cloud: Record<string, unknown> };
  writeFileSync(
    platformFile,
    stringify({ ...platform, cloud: { ...platform.cloud, kubernetesVersion: '1.35' } }),
  );

  it.each([
    [
      'from-pvc',
      'pvc://model-store/qwen/2.5',
      { persistentVolumeClaim: { claimName: 'model-store', readOnly: true } },
    ],
    [
      'from-oci',
      'oci://quay.io/models/qwen:2.5',
      { image: { reference: 'quay.io/models/qwen:2.5', pullPolicy: 'IfNotPresent' } },
    ],
  ])('%s mounts the weights read-only at /mnt/models', (name, uri, volume) => {
    writeFileSync(join(repo.root, `environments/dev/models/${name}.yaml`), spec(name, uri));
    const console = captureConsole();
    expect(runGenerate({ root: repo.root }, console), console.lines.err.join('\n')).toBe(0);
    const output = execFileSync(
      helm,
      [
        'template',
        name,
        join(repo.root, 'charts/model-server'),
        '-n',
        'weights',
        '-f',
        join(repo.root, 'apps/dev/values/models', `${name}.yaml`),
      ],
      { encoding: 'utf8' },
    );
    const objects = parseAllDocuments(output).map((d) => d.toJS() as Record<string, unknown> | null);
    const deployment = objects.find(
      (o) => o?.kind === 'Deployment' && (o.metadata as { name: string }).name === `${name}-vllm`,
    ) as {
      spec: {
        template: { spec: { volumes: Record<string, unknown>[]; containers: { volumeMounts: unknown[] }[] } };
      };
    };
    expect(validateObject(deployment)).toEqual([]);
    expect(deployment.spec.template.spec.volumes).toContainEqual({ name: 'model-source', ...volume });
    expect(deployment.spec.template.spec.containers[0]?.volumeMounts).toContainEqual({
      name: 'model-source',
      mountPath: '/mnt/models',
      readOnly: true,
    });
    // An image volume is outside the restricted profile's volume list: that namespace enforces baseline.
    const application = readFileSync(join(repo.root, `apps/dev/models/${name}.yaml`), 'utf8');
    expect(application).toContain(
      `pod-security.kubernetes.io/enforce: ${uri.startsWith('oci://') ? 'baseline' : 'restricted'}`,
    );
  });
});

describe("helm's environment", () => {
  it('turns garbage collection off for the short renders, unless the caller chose GOGC', () => {
    expect(helmEnvironment({ PATH: '/bin' })).toEqual({ PATH: '/bin', HELM_NO_PLUGINS: '1', GOGC: 'off' });
    expect(helmEnvironment({ GOGC: '100' })['GOGC']).toBe('100');
  });

  it('renders the same chart byte for byte with and without collection', () => {
    const render = (gogc: string): string =>
      execFileSync(helm, ['template', 'x', join(repoRoot, 'charts/model-server')], {
        env: helmEnvironment({ ...process.env, GOGC: gogc }),
        encoding: 'utf8',
      });
    expect(render('off')).toBe(render('100'));
  });
});
