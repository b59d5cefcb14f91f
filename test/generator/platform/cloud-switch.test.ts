import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildOutputs } from '../../../generator/pipeline.ts';
import { CLOUD_IDS, CLOUD_PROFILES, type CloudId } from '../../../generator/platform/clouds.ts';
import { exampleEnvironments, tempRepo } from '../helpers.ts';

const ENVIRONMENT = 'prod';
const repo = tempRepo(exampleEnvironments);
afterAll(() => repo.cleanup());
const platformFile = join(repo.root, 'environments', ENVIRONMENT, 'platform.yaml');
const original = readFileSync(platformFile, 'utf8');

function outputsWithCloud(cloud: CloudId): Map<string, string> {
  // prod's llama-70b keeps its weights on shared storage: a cloud that knows no ReadWriteMany class needs one
  // named, as a user moving there would have to.
  const storage =
    CLOUD_PROFILES[cloud].storageClasses.sharedModelCache === null ? '\n  storageClass: nfs-rwx' : '';
  writeFileSync(platformFile, original.replace(/provider: eks/, `provider: ${cloud}${storage}`));
  const { files } = buildOutputs(repo.root, [ENVIRONMENT]);
  return new Map(files.map((file) => [file.path, file.content]));
}

/** Paths (a.b.0.c) at which two parsed documents differ. */
function changedPaths(before: unknown, after: unknown, path: string[] = []): string[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const bothObjects =
    typeof before === 'object' && before !== null && typeof after === 'object' && after !== null;
  if (!bothObjects || Array.isArray(before) !== Array.isArray(after)) return [path.join('.')];
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].flatMap((key) =>
    changedPaths((before as Record<string, unknown>)[key], (after as Record<string, unknown>)[key], [
      ...path,
      key,
    ]),
  );
}

/** What a cloud profile owns: file patterns and, inside changed files, the fields it may change. */
const CLOUD_OWNED: readonly { file: RegExp; fields: RegExp }[] = [
  {
    file: /^apps\/prod\/values\/platform\/gateway\.yaml$/,
    // An overlay leaves out what equals the chart default, so the whole key may come or go.
    fields: /^infrastructure(\.annotations(\.|$)|$)/,
  },
  {
    file: /^apps\/prod\/values\/models\/[^/]+\.yaml$/,
    // The node shape is the cloud's too: a replica may fit one node on one cloud and span two on another,
    // which changes the GPUs per pod, the group size and vLLM's executor (each version's arguments too); the
    // shared model cache's storage class is the cloud's.
    fields:
      /^(vllm(\.(nodeSelector|tolerations|gpus|nodes|groupTopologyKey|args|sharedCache))?|versions\.list\.\d+\.args)(\.|$)/,
  },
  // The mesh installation and Gateway API CRD ownership differ on OpenShift (Sail operator).
  {
    file: /^apps\/prod\/platform\/(istio-base|istiod|sail-operator|istio-control-plane|gateway-api-crds)\.yaml$/,
    fields: /.*/,
  },
  { file: /^apps\/prod\/values\/platform\/istio-control-plane\.yaml$/, fields: /.*/ },
  {
    file: /^apps\/prod\/projects\/platform\.yaml$/,
    fields: /^spec\.(sourceRepos|destinations|clusterResourceWhitelist)(\.|$)/,
  },
];

const baseline = outputsWithCloud('eks');

describe.each(CLOUD_IDS.filter((cloud) => cloud !== 'eks'))('switching prod from eks to %s', (cloud) => {
  const switched = outputsWithCloud(cloud);

  it('changes only what the cloud profile owns', () => {
    const paths = [...new Set([...baseline.keys(), ...switched.keys()])].sort();
    const outside: string[] = [];
    for (const path of paths) {
      const before = baseline.get(path);
      const after = switched.get(path);
      if (before === after) continue;
      const owner = CLOUD_OWNED.find((rule) => rule.file.test(path));
      if (owner === undefined) {
        outside.push(path);
        continue;
      }
      if (before === undefined || after === undefined || !path.endsWith('.yaml')) continue;
      const fields = changedPaths(parse(before), parse(after)).filter((field) => !owner.fields.test(field));
      outside.push(...fields.map((field) => `${path}: ${field}`));
    }
    expect(outside).toEqual([]);
  });

  it('changes the load balancer or the accelerator placement', () => {
    const gatewayValues = 'apps/prod/values/platform/gateway.yaml';
    const modelValues = [...baseline.keys()].filter((path) =>
      /^apps\/prod\/values\/models\/[^/]+\.yaml$/.test(path),
    );
    const changed = [gatewayValues, ...modelValues].filter(
      (path) => baseline.get(path) !== switched.get(path),
    );
    expect(changed.length).toBeGreaterThan(0);
    expect(switched.get(gatewayValues)).not.toBe(baseline.get(gatewayValues));
  });
});

describe('the openshift profile', () => {
  it('installs the mesh with the Sail operator and leaves the Gateway API CRDs to the cluster', () => {
    const openshift = outputsWithCloud('openshift');
    const platformApps = [...openshift.keys()].filter((path) => path.startsWith('apps/prod/platform/'));
    expect(platformApps).toContain('apps/prod/platform/sail-operator.yaml');
    expect(platformApps).toContain('apps/prod/platform/istio-control-plane.yaml');
    expect(platformApps).not.toContain('apps/prod/platform/istiod.yaml');
    expect(platformApps).not.toContain('apps/prod/platform/gateway-api-crds.yaml');
  });
});
