// Input schemas: conventions every schema follows, generated types not stale, defaults in one place.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelDefaults } from '../../generator/normalize/defaults.ts';
import { generateTypeSources } from '../../tools/generate-types.ts';
import { repoRoot } from './helpers.ts';

const inputSchemas = ['model.schema.json', 'platform.schema.json'] as const;
type Schema = Record<string, unknown>;

function readSchema(name: string): Schema {
  return JSON.parse(readFileSync(join(repoRoot, 'schemas', name), 'utf8')) as Schema;
}

/** Every sub-schema with its JSON pointer. */
function walk(schema: unknown, pointer: string, visit: (node: Schema, pointer: string) => void): void {
  if (typeof schema !== 'object' || schema === null) {
    return;
  }
  if (Array.isArray(schema)) {
    schema.forEach((item, i) => walk(item, `${pointer}/${i}`, visit));
    return;
  }
  visit(schema as Schema, pointer);
  for (const [key, value] of Object.entries(schema)) {
    walk(value, `${pointer}/${key}`, visit);
  }
}

describe.each(inputSchemas)('%s', (name) => {
  const schema = readSchema(name);

  it('is draft 2020-12', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  });

  it('closes every object with additionalProperties false (or a typed map)', () => {
    const open: string[] = [];
    walk(schema, '', (node, pointer) => {
      if (node.type === 'object' && node.properties !== undefined && node.additionalProperties !== false) {
        open.push(pointer);
      }
    });
    expect(open).toEqual([]);
  });

  it('describes every property', () => {
    const undescribed: string[] = [];
    walk(schema, '', (node, pointer) => {
      if (pointer.endsWith('/properties')) {
        return;
      }
      const properties = node.properties as Record<string, Schema> | undefined;
      for (const [key, property] of Object.entries(properties ?? {})) {
        if (typeof property.description !== 'string' || property.description === '') {
          undescribed.push(`${pointer}/properties/${key}`);
        }
      }
    });
    expect(undescribed).toEqual([]);
  });
});

describe('generated types', () => {
  it('match the schemas (run npm run types:generate after editing a schema)', async () => {
    const sources = await generateTypeSources(repoRoot);
    expect(sources.size).toBe(inputSchemas.length);
    for (const [path, content] of sources) {
      expect(readFileSync(join(repoRoot, path), 'utf8'), path).toBe(content);
    }
  });
});

describe('model defaults', () => {
  it('equal the default keywords of the model schema', () => {
    const schema = readSchema('model.schema.json');
    const property = (path: string): unknown => {
      let node: unknown = schema;
      for (const key of path.split('.')) {
        node = ((node as Schema).properties as Schema)[key];
      }
      return (node as Schema).default;
    };
    expect({
      replicas: property('replicas'),
      tensor: property('parallelism.tensor'),
      data: property('parallelism.data'),
      cpu: property('resources.cpu'),
      memory: property('resources.memory'),
      blockSize: property('vllm.blockSize'),
      hashSeed: property('vllm.hashSeed'),
      shmSize: property('vllm.shmSize'),
      cacheSize: property('vllm.cacheSize'),
      startupTimeoutSeconds: property('vllm.startupTimeoutSeconds'),
      routerProfile: property('router.profile'),
      affinityTokens: property('router.affinityTokens'),
      prefixCache: property('router.prefixCache'),
      routerReplicas: property('router.replicas'),
      failureMode: property('router.failureMode'),
      hfTokenKey: property('model.hfTokenSecret.key'),
      requestTimeout: property('route.requestTimeout'),
      prefillReplicas: property('disaggregation.prefill.replicas'),
      minUncachedTokens: property('disaggregation.minUncachedTokens'),
      autoscalingMinReplicas: property('autoscaling.minReplicas'),
      waitingRequestsPerReplica: property('autoscaling.waitingRequestsPerReplica'),
      scaleDownDelaySeconds: property('autoscaling.scaleDownDelaySeconds'),
    }).toEqual({
      replicas: modelDefaults.replicas,
      tensor: modelDefaults.tensor,
      data: modelDefaults.data,
      cpu: modelDefaults.cpu,
      memory: modelDefaults.memory,
      blockSize: modelDefaults.blockSize,
      hashSeed: modelDefaults.hashSeed,
      shmSize: modelDefaults.shmSize,
      cacheSize: modelDefaults.cacheSize,
      startupTimeoutSeconds: modelDefaults.startupTimeoutSeconds,
      routerProfile: modelDefaults.routerProfile,
      affinityTokens: modelDefaults.affinityTokens,
      prefixCache: modelDefaults.prefixCache,
      routerReplicas: modelDefaults.routerReplicas,
      failureMode: modelDefaults.failureMode,
      hfTokenKey: modelDefaults.hfTokenKey,
      requestTimeout: modelDefaults.requestTimeout,
      prefillReplicas: modelDefaults.prefillReplicas,
      minUncachedTokens: modelDefaults.minUncachedTokens,
      autoscalingMinReplicas: modelDefaults.autoscalingMinReplicas,
      waitingRequestsPerReplica: modelDefaults.waitingRequestsPerReplica,
      scaleDownDelaySeconds: modelDefaults.scaleDownDelaySeconds,
    });
  });
});

describe('patterns in words', () => {
  it.each(inputSchemas)(
    '%s describes every pattern with x-expected, so no error shows a raw expression',
    (name) => {
      const missing: string[] = [];
      walk(readSchema(name), '', (node, pointer) => {
        if (typeof node.pattern === 'string') {
          const words = node['x-expected'];
          if (typeof words !== 'string' || !/^an? /.test(words)) missing.push(pointer);
        }
      });
      expect(missing).toEqual([]);
    },
  );
});
