// Environments are isolated: changing any field of one environment's model spec or platform profile changes
// nothing another environment deploys. Every leaf of schemas/model.schema.json and
// schemas/platform.schema.json is set to another valid value in dev; prod's files (apps/prod/**) and the
// environment-independent chart files must stay byte-identical. Prod's rendered manifests are a function of
// the shared charts and apps/prod/ alone (the Applications name nothing else), so equal files mean equal
// deployments.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { deepMerge } from '../../generator/load/layers.ts';
import { buildOutputs } from '../../generator/pipeline.ts';
import { COMPONENT_VERSION_KEYS, PLATFORM_RELEASES } from '../../generator/platform/releases.ts';
import { exampleEnvironments, repoRoot, tempRepo } from './helpers.ts';

type Patch = Record<string, unknown>;

interface Mutation {
  /** Schema leaves (JSON pointers) the patch sets. */
  readonly fields: readonly string[];
  readonly model?: Patch;
  readonly platform?: Patch;
  /** Top-level fields of dev's model file to drop before the patch (a field the patched one excludes). */
  readonly removeModelFields?: readonly string[];
  /** Serve the model under another name (the spec's name must equal its file name). */
  readonly renameModelTo?: string;
  /** Why dev's own output may stay the same (the field is read by nothing that dev renders). */
  readonly unchangedDevBecause?: string;
}

const release = PLATFORM_RELEASES.find((candidate) => candidate.id === '2026.11');
type Pins = Record<string, { version: string; compatible: { minimum: string } }>;
/** Another version the release accepts for a component, or its pinned one when the range holds only that. */
const override = (key: string): string => {
  const pin = (release?.versions as Pins | undefined)?.[key];
  return pin === undefined
    ? ''
    : pin.compatible.minimum !== pin.version
      ? pin.compatible.minimum
      : pin.version;
};
const overridable = (key: string): boolean =>
  override(key) !== (release?.versions as Pins | undefined)?.[key]?.version;
const overrideKeys = COMPONENT_VERSION_KEYS;

/** Analysis limits different from every default, for the canary's and the version split's. */
const sloLimits = {
  ttftP95Seconds: 3,
  interTokenLatencyP95Seconds: 0.2,
  errorRatio: 0.05,
  interval: '1m',
  count: 3,
};

const mutations: readonly Mutation[] = [
  { fields: ['/name'], renameModelTo: 'qwen-dev' },
  { fields: ['/namespace'], model: { namespace: 'llm-dev' } },
  { fields: ['/model/uri'], model: { model: { uri: 'hf://Qwen/Qwen2.5-1.5B-Instruct' } } },
  { fields: ['/model/servedName'], model: { model: { servedName: 'qwen-dev' } } },
  { fields: ['/model/revision'], model: { model: { revision: 'main' } } },
  {
    fields: ['/model/hfTokenSecret/name', '/model/hfTokenSecret/key'],
    model: { model: { hfTokenSecret: { name: 'dev-token', key: 'hf' } } },
  },
  { fields: ['/replicas'], model: { replicas: 3 } },
  {
    fields: ['/parallelism/tensor', '/accelerator/count'],
    model: { parallelism: { tensor: 2 }, accelerator: { count: 2 } },
  },
  {
    fields: ['/parallelism/data', '/parallelism/dataLocal'],
    model: { parallelism: { data: 2, dataLocal: 2 }, accelerator: { count: 2 } },
  },
  {
    fields: ['/parallelism/pipeline'],
    model: { parallelism: { pipeline: 2 }, accelerator: { count: 2 } },
  },
  { fields: ['/parallelism/expert'], model: { parallelism: { expert: true } } },
  { fields: ['/accelerator/type'], model: { accelerator: { type: 'dev-accelerator' } } },
  { fields: ['/resources/cpu', '/resources/memory'], model: { resources: { cpu: '3', memory: '12Gi' } } },
  {
    fields: ['/vllm/image/repository', '/vllm/image/tag'],
    model: { vllm: { image: { repository: 'registry.example.com/vllm', tag: 'v0.11.3' } } },
  },
  { fields: ['/vllm/maxModelLen'], model: { vllm: { maxModelLen: 4096 } } },
  { fields: ['/vllm/gpuMemoryUtilization'], model: { vllm: { gpuMemoryUtilization: 0.85 } } },
  { fields: ['/vllm/blockSize'], model: { vllm: { blockSize: 32 } } },
  { fields: ['/vllm/hashSeed'], model: { vllm: { hashSeed: '7' } } },
  { fields: ['/vllm/extraArgs'], model: { vllm: { extraArgs: ['--enable-chunked-prefill'] } } },
  {
    fields: ['/vllm/apiKeySecret/name', '/vllm/apiKeySecret/key'],
    model: { vllm: { apiKeySecret: { name: 'dev-api-key', key: 'key' } } },
  },
  { fields: ['/vllm/shmSize'], model: { vllm: { shmSize: '4Gi' } } },
  { fields: ['/vllm/cacheSize'], model: { vllm: { cacheSize: '80Gi' } } },
  {
    fields: ['/vllm/cache'],
    model: { vllm: { cache: 'shared' } },
    // The generic cloud knows no ReadWriteMany class: dev names one.
    platform: { cloud: { storageClass: 'nfs-rwx' } },
  },
  { fields: ['/vllm/startupTimeoutSeconds'], model: { vllm: { startupTimeoutSeconds: 600 } } },
  { fields: ['/router/profile'], model: { router: { profile: 'load' } } },
  { fields: ['/router/affinityTokens'], model: { router: { affinityTokens: 100_000 } } },
  { fields: ['/router/prefixCache'], model: { router: { prefixCache: 'precise' } } },
  { fields: ['/router/replicas'], model: { router: { replicas: 3 } } },
  { fields: ['/router/failureMode'], model: { router: { failureMode: 'FailOpen' } } },
  { fields: ['/objectives'], model: { objectives: [{ name: 'gold', priority: 50 }] } },
  { fields: ['/aliases'], model: { aliases: [{ name: 'qwen-dev-alias' }] } },
  {
    fields: ['/lora/adapters', '/lora/maxLoras', '/lora/maxRank'],
    model: {
      lora: {
        adapters: [{ name: 'qwen-sql', source: 'hf://example/qwen-sql-lora' }],
        maxLoras: 2,
        maxRank: 32,
      },
    },
  },
  {
    fields: [
      '/disaggregation/kvConnector',
      '/disaggregation/prefill/replicas',
      '/disaggregation/prefill/parallelism/tensor',
      '/disaggregation/prefill/parallelism/pipeline',
      '/disaggregation/minUncachedTokens',
    ],
    model: {
      disaggregation: {
        kvConnector: 'nixl',
        prefill: { replicas: 2, parallelism: { tensor: 1, pipeline: 1 } },
        minUncachedTokens: 64,
      },
    },
  },
  {
    fields: [
      '/autoscaling/minReplicas',
      '/autoscaling/maxReplicas',
      '/autoscaling/waitingRequestsPerReplica',
      '/autoscaling/kvCacheUsage',
      '/autoscaling/scaleDownDelaySeconds',
      '/components/keda',
    ],
    model: {
      autoscaling: {
        minReplicas: 1,
        maxReplicas: 3,
        waitingRequestsPerReplica: 2,
        kvCacheUsage: 0.9,
        scaleDownDelaySeconds: 300,
      },
    },
    // The spec's own replicas would fight the autoscaler; the dev platform gains KEDA to serve it.
    removeModelFields: ['replicas'],
    platform: { components: { keda: true } },
  },
  {
    fields: [
      '/gateway/identity/issuer',
      '/gateway/identity/jwksUri',
      '/gateway/identity/audiences',
      '/gateway/identity/claim',
      '/gateway/identity/objectives/*',
      '/gateway/identity/required',
    ],
    platform: {
      gateway: {
        identity: {
          issuer: 'https://auth.dev.example.com',
          jwksUri: 'https://auth.dev.example.com/jwks.json',
          audiences: ['dev'],
          claim: 'tier',
          objectives: { gold: 'premium' },
          required: true,
        },
      },
    },
  },
  { fields: ['/serving'], platform: { serving: 'kserve', components: { kserve: true } } },
  { fields: ['/components/prometheusAdapter'], platform: { components: { prometheusAdapter: true } } },
  {
    fields: ['/monitoring/prometheusUrl'],
    platform: { monitoring: { prometheusUrl: 'http://prometheus.observability.svc:9090' } },
  },
  { fields: ['/route/requestTimeout'], model: { route: { requestTimeout: '300s' } } },
  { fields: ['/route/retries/attempts'], model: { route: { retries: { attempts: 1 } } } },
  {
    fields: ['/route/rateLimit/requestsPerSecond', '/route/rateLimit/burst'],
    model: { route: { rateLimit: { requestsPerSecond: 5, burst: 10 } } },
  },
  {
    fields: [
      '/rollout/steps',
      '/rollout/canaryReplicas',
      '/rollout/progressDeadlineSeconds',
      '/rollout/analysis/ttftP95Seconds',
      '/rollout/analysis/interTokenLatencyP95Seconds',
      '/rollout/analysis/errorRatio',
      '/rollout/analysis/interval',
      '/rollout/analysis/count',
    ],
    model: {
      rollout: {
        steps: [{ weight: 20, pause: '5m', analysis: true }],
        canaryReplicas: 2,
        progressDeadlineSeconds: 900,
        analysis: sloLimits,
      },
    },
  },
  {
    fields: [
      '/versions/split',
      '/versions/analysis/ttftP95Seconds',
      '/versions/analysis/interTokenLatencyP95Seconds',
      '/versions/analysis/errorRatio',
      '/versions/analysis/interval',
      '/versions/analysis/count',
    ],
    model: {
      versions: {
        split: [
          { name: 'blue', weight: 70 },
          { name: 'green', weight: 30, uri: 'hf://Qwen/Qwen2.5-1.5B-Instruct', replicas: 1 },
        ],
        analysis: sloLimits,
      },
    },
  },

  { fields: ['/release'], platform: { release: '2026.05' } },
  ...overrideKeys.map((key): Mutation => ({
    fields: [`/releaseOverrides/${key}`],
    platform: { releaseOverrides: { [key]: override(key) } },
    ...(overridable(key) && !['sailOperator', 'kserve', 'keda', 'prometheusAdapter'].includes(key)
      ? {}
      : { unchangedDevBecause: 'the override equals the pin, or dev does not install the component' }),
  })),
  { fields: ['/components/leaderWorkerSet'], platform: { components: { leaderWorkerSet: false } } },
  { fields: ['/components/argoRollouts'], platform: { components: { argoRollouts: false } } },
  { fields: ['/components/kserve'], platform: { components: { kserve: true } } },
  { fields: ['/cloud/provider'], platform: { cloud: { provider: 'aks' } } },
  {
    fields: ['/cloud/region', '/cloud/clusterName', '/cloud/storageClass'],
    platform: { cloud: { region: 'eu-west-1', clusterName: 'dev-2', storageClass: 'fast' } },
    unchangedDevBecause:
      'no rendered object reads the region or cluster name, and the storage class only a shared model cache reads',
  },
  {
    fields: ['/cloud/kubernetesVersion', '/cloud/imageVolumes'],
    platform: { cloud: { kubernetesVersion: '1.33', imageVolumes: true } },
    unchangedDevBecause: 'only oci:// models are checked against the Kubernetes version, and dev has none',
  },
  // The case users hit: a node selector on dev's accelerator must not reach prod's pods.
  {
    fields: ['/accelerators/*'],
    platform: {
      accelerators: {
        'nvidia-gpu': { resourceName: 'nvidia.com/gpu', nodeSelector: { pool: 'dev-gpu' } },
      },
    },
  },
  { fields: ['/gateway/name'], platform: { gateway: { name: 'dev-gateway' } } },
  { fields: ['/gateway/namespace'], platform: { gateway: { namespace: 'dev-gateway' } } },
  {
    fields: ['/gateway/exposure'],
    platform: { gateway: { exposure: 'internal' } },
    unchangedDevBecause: 'the generic cloud profile has no load-balancer annotations to switch',
  },
  { fields: ['/gateway/hostname'], platform: { gateway: { hostname: 'dev.example.com' } } },
  { fields: ['/gateway/tls/enabled'], platform: { gateway: { tls: { enabled: false } } } },
  { fields: ['/gateway/tls/issuer'], platform: { gateway: { tls: { issuer: 'dev-issuer' } } } },
  { fields: ['/gateway/listener/port'], platform: { gateway: { listener: { port: 8443 } } } },
  { fields: ['/gateway/listener/sectionName'], platform: { gateway: { listener: { sectionName: 'web' } } } },
  { fields: ['/pki/caIssuer'], platform: { pki: { caIssuer: 'dev-ca' } } },
  { fields: ['/pki/caCommonName'], platform: { pki: { caCommonName: 'Dev CA' } } },
  {
    fields: ['/pki/acme/email', '/pki/acme/server', '/pki/acme/issuer'],
    platform: {
      pki: {
        acme: {
          email: 'ops@example.com',
          server: 'https://acme-staging-v02.api.letsencrypt.org/directory',
          issuer: 'dev-acme',
        },
      },
    },
  },
  { fields: ['/monitoring/enabled'], platform: { monitoring: { enabled: false } } },
  { fields: ['/monitoring/namespace'], platform: { monitoring: { namespace: 'observability' } } },
  { fields: ['/monitoring/interval'], platform: { monitoring: { interval: '15s' } } },
  { fields: ['/monitoring/installCrds'], platform: { monitoring: { installCrds: false } } },
  {
    fields: ['/monitoring/selectorLabels/*'],
    platform: { monitoring: { selectorLabels: { release: 'dev' } } },
  },
  {
    fields: ['/monitoring/dashboardLabels/*'],
    platform: { monitoring: { dashboardLabels: { dashboards: 'dev' } } },
  },
  {
    fields: [
      '/monitoring/alerts/ttftP95Seconds',
      '/monitoring/alerts/queueDepth',
      '/monitoring/alerts/kvCacheUsage',
      '/monitoring/alerts/routerErrorRatio',
    ],
    platform: {
      monitoring: {
        alerts: { ttftP95Seconds: 1.5, queueDepth: 20, kvCacheUsage: 0.8, routerErrorRatio: 0.05 },
      },
    },
  },
  {
    fields: ['/argocd/repoURL'],
    platform: { argocd: { repoURL: 'https://git.example.com/dev/switchyard.git' } },
  },
  { fields: ['/argocd/targetRevision'], platform: { argocd: { targetRevision: 'dev' } } },
  { fields: ['/argocd/namespace'], platform: { argocd: { namespace: 'gitops' } } },
  {
    fields: ['/argocd/destinationServer'],
    platform: { argocd: { destinationServer: 'https://dev.example.com:6443' } },
  },
  {
    fields: ['/router/image/repository', '/router/image/tag'],
    platform: { router: { image: { repository: 'registry.example.com/router', tag: '0.1.1' } } },
  },
  {
    fields: ['/vllm/image/repository', '/vllm/image/tag'],
    platform: { vllm: { image: { repository: 'registry.example.com/vllm', tag: 'v0.11.3' } } },
  },
];

/** JSON pointers of every leaf of a schema (maps end in `/*`). */
function schemaLeaves(file: string): string[] {
  const schema = JSON.parse(readFileSync(join(repoRoot, 'schemas', file), 'utf8')) as {
    $defs?: Record<string, unknown>;
  };
  const leaves: string[] = [];
  const walk = (node: Record<string, unknown>, path: string): void => {
    const ref = node.$ref;
    if (typeof ref === 'string') {
      walk(schema.$defs?.[ref.split('/').pop() ?? ''] as Record<string, unknown>, path);
      return;
    }
    const properties = node.properties as Record<string, Record<string, unknown>> | undefined;
    if (node.type === 'object' && properties !== undefined) {
      for (const [key, child] of Object.entries(properties)) walk(child, `${path}/${key}`);
    } else if (node.type === 'object' && typeof node.additionalProperties === 'object') {
      leaves.push(`${path}/*`);
    } else {
      leaves.push(path);
    }
  };
  walk(schema as Record<string, unknown>, '');
  return leaves;
}

const repo = tempRepo(exampleEnvironments);
afterAll(repo.cleanup);
const modelFile = join(repo.root, 'environments/dev/models/qwen-basic.yaml');
const platformFile = join(repo.root, 'environments/dev/platform.yaml');
const originalModel = readFileSync(modelFile, 'utf8');
const originalPlatform = readFileSync(platformFile, 'utf8');
// dev-accelerator: a second accelerator type of dev, so a model may move to it.
const devPlatform = deepMerge(parse(originalPlatform), {
  accelerators: { 'dev-accelerator': { resourceName: 'example.com/accelerator' } },
}) as Patch;
writeFileSync(platformFile, stringify(devPlatform));

/** Everything another environment than dev reads: its own files and the environment-independent ones. */
function outsideDev(): Map<string, string> {
  const { files } = buildOutputs(repo.root);
  return new Map(
    files
      .filter((file) => file.environment !== 'dev' && !file.path.startsWith('apps/dev/'))
      .map((file) => [file.path, file.content]),
  );
}

function devOutput(): string {
  return buildOutputs(repo.root)
    .files.filter((file) => file.path.startsWith('apps/dev/'))
    .map((file) => `${file.path}\n${file.content}`)
    .join('\n');
}

describe('environment isolation', () => {
  const baseline = outsideDev();
  const baselineDev = devOutput();

  it('covers every field of the model spec and the platform profile', () => {
    const covered = new Set(mutations.flatMap((mutation) => mutation.fields));
    const model = schemaLeaves('model.schema.json').filter((leaf) => !covered.has(leaf));
    const platform = schemaLeaves('platform.schema.json').filter((leaf) => !covered.has(leaf));
    expect({ model, platform }).toEqual({ model: [], platform: [] });
  });

  it.each(mutations.map((mutation) => [mutation.fields.join(', '), mutation] as const))(
    'dev %s changes dev only',
    (_fields, mutation) => {
      const renamed =
        mutation.renameModelTo === undefined
          ? undefined
          : join(repo.root, `environments/dev/models/${mutation.renameModelTo}.yaml`);
      try {
        if (mutation.model !== undefined) {
          const removed = new Set(mutation.removeModelFields ?? []);
          const spec = Object.fromEntries(
            Object.entries(parse(originalModel) as Patch).filter(([field]) => !removed.has(field)),
          );
          writeFileSync(modelFile, stringify(deepMerge(spec, mutation.model)));
        }
        if (mutation.platform !== undefined) {
          writeFileSync(platformFile, stringify(deepMerge(devPlatform, mutation.platform)));
        }
        if (renamed !== undefined) {
          const base = parse(
            readFileSync(join(repo.root, 'environments/base/models/qwen-basic.yaml'), 'utf8'),
          );
          const spec = deepMerge(base, parse(originalModel)) as Patch;
          writeFileSync(renamed, stringify({ ...spec, name: mutation.renameModelTo }));
          rmSync(modelFile);
        }
        if (mutation.unchangedDevBecause === undefined) {
          expect(devOutput()).not.toBe(baselineDev);
        }
        const after = outsideDev();
        const differing = [...new Set([...baseline.keys(), ...after.keys()])].filter(
          (path) => baseline.get(path) !== after.get(path),
        );
        expect(differing).toEqual([]);
      } finally {
        writeFileSync(modelFile, originalModel);
        writeFileSync(platformFile, stringify(devPlatform));
        if (renamed !== undefined) rmSync(renamed, { force: true });
      }
    },
  );
});
