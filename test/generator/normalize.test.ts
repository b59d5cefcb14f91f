// Derived values: GPUs, vLLM arguments, router settings and object names are computed once and agree.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadEnvironments } from '../../generator/load/environments.ts';
import { normalizeEnvironments, parseSource } from '../../generator/normalize/index.ts';
import { maxNameLength, objectName } from '../../generator/normalize/names.ts';
import type { NormalizedEnvironment } from '../../generator/normalize/types.ts';
import { conflictingFlag } from '../../generator/normalize/vllm-args.ts';
import { imageVolumeProblem } from '../../generator/normalize/image-volumes.ts';
import { baselineEnvironments, repoRoot, tempRepo } from './helpers.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

function normalizedExamples(root: string): NormalizedEnvironment[] {
  const loaded = loadEnvironments(root);
  expect(loaded.problems).toEqual([]);
  const result = normalizeEnvironments(loaded.environments);
  if (!result.ok) {
    throw new Error(JSON.stringify(result.problems));
  }
  return result.environments;
}

function flagValue(args: readonly string[], flag: string): string | undefined {
  const index = args.indexOf(flag);
  return index === -1 ? undefined : args[index + 1];
}

describe('normalize the example environments', () => {
  const envs = normalizedExamples(repoRoot);
  const models = envs.flatMap((env) => env.models);

  it('finds dev with one model and prod with three', () => {
    expect(envs.map((e) => [e.name, e.models.map((m) => m.name)])).toEqual([
      ['dev', ['qwen-basic']],
      ['prod', ['llama-70b', 'llama-8b', 'qwen-basic']],
    ]);
  });

  it('spreads prod/llama-70b (tensor 8) over two 4-GPU L4 nodes', () => {
    const llama = models.find((m) => m.name === 'llama-70b');
    expect([llama?.gpusPerPod, llama?.nodes]).toEqual([4, 2]);
    expect(flagValue(llama?.vllm.args ?? [], '--distributed-executor-backend')).toBe('ray');
  });

  it.each(models.map((m) => [`${m.environment}/${m.name}`, m] as const))(
    '%s: GPUs of a replica = tensor x pipeline x dataLocal, and vLLM args agree',
    (_label, model) => {
      const { tensor, pipeline, dataLocal } = model.parallelism;
      expect(model.gpusPerPod * model.nodes).toBe(tensor * pipeline * dataLocal);
      expect(flagValue(model.vllm.args, '--tensor-parallel-size')).toBe(String(model.parallelism.tensor));
      expect(flagValue(model.vllm.args, '--block-size')).toBe(String(model.vllm.blockSize));
      expect(flagValue(model.vllm.args, '--served-model-name')).toBe(model.servedName);
      expect(flagValue(model.vllm.args, '--port')).toBe('8000');
    },
  );

  it.each(models.map((m) => [`${m.environment}/${m.name}`, m] as const))(
    "%s: the router's prefix block size is vLLM's block size",
    (_label, model) => {
      const producer = model.router.config.plugins.find((p) => p.type === 'approx-prefix-cache-producer');
      expect(producer?.parameters?.blockSizeTokens).toBe(model.vllm.blockSize);
    },
  );

  it('layers the base model spec under the environment file', () => {
    const prodQwen = models.find((m) => m.environment === 'prod' && m.name === 'qwen-basic');
    expect(prodQwen?.uri).toBe('hf://Qwen/Qwen2.5-0.5B-Instruct');
    expect(prodQwen?.replicas).toBe(2);
    expect(prodQwen?.aliases).toEqual(['qwen']);
    expect(prodQwen?.accelerator.nodeSelector).toMatchObject({ 'nvidia.com/gpu.product': 'NVIDIA-L4' });
    expect(prodQwen?.gpusPerPod).toBe(1);
  });

  it('defaults objectives to premium 100, normal 0, batch -10 with per-model object names', () => {
    const devQwen = models.find((m) => m.environment === 'dev');
    expect(devQwen?.objectives).toEqual([
      { name: 'premium', priority: 100 },
      { name: 'normal', priority: 0 },
      { name: 'batch', priority: -10 },
    ]);
    expect(devQwen?.names.objectives.map((o) => o.name)).toEqual([
      'qwen-basic-premium',
      'qwen-basic-normal',
      'qwen-basic-batch',
    ]);
  });
});

describe('derived values from a spec', () => {
  it('computes GPUs for data parallelism on one node', () => {
    const { root, cleanup } = tempRepo(baselineEnvironments);
    try {
      writeFileSync(
        join(root, 'environments/dev/models/qwen-basic.yaml'),
        'name: qwen-basic\nnamespace: llm\nmodel:\n  uri: pvc://weights/qwen/2.5\nparallelism:\n  tensor: 2\n  data: 2\naccelerator:\n  type: nvidia-gpu\n',
      );
      const [env] = normalizedExamples(root);
      const model = env?.models[0];
      expect(model?.gpusPerPod).toBe(4);
      expect(model?.servedName).toBe('qwen-basic');
      expect(model?.vllm.args.slice(0, 1)).toEqual(['/mnt/models/qwen/2.5']);
      expect(flagValue(model?.vllm.args ?? [], '--data-parallel-size')).toBe('2');
      expect(flagValue(model?.vllm.args ?? [], '--data-parallel-size-local')).toBe('2');
    } finally {
      cleanup();
    }
  });

  it('parses the three URI schemes', () => {
    expect(parseSource('hf://Qwen/Qwen2.5-0.5B-Instruct')).toEqual({
      kind: 'hf',
      repository: 'Qwen/Qwen2.5-0.5B-Instruct',
    });
    expect(parseSource('pvc://weights/a/b')).toEqual({ kind: 'pvc', claim: 'weights', path: 'a/b' });
    expect(parseSource('oci://quay.io/models/qwen:1')).toEqual({
      kind: 'oci',
      reference: 'quay.io/models/qwen:1',
    });
  });

  it('recognises derived flags in both --flag value and --flag=value forms', () => {
    expect(conflictingFlag('--block-size=32')).toBe('--block-size');
    expect(conflictingFlag('--max-model-len')).toBe('--max-model-len');
    expect(conflictingFlag('--enable-chunked-prefill')).toBeUndefined();
    // The router learns from the cached-token counts usage reports only when vLLM includes them.
    expect(conflictingFlag('--no-enable-prompt-tokens-details')).toBe('--enable-prompt-tokens-details');
  });
});

describe('objectName', () => {
  it('keeps short names as they are', () => {
    expect(objectName('qwen-basic', 'router')).toBe('qwen-basic-router');
  });

  it('fits every name into 63 characters with a stable hash suffix', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z]([-a-z0-9]{0,51}[a-z0-9])?$/),
        fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/),
        (model, suffix) => {
          const name = objectName(model, suffix);
          expect(name.length).toBeLessThanOrEqual(maxNameLength);
          expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
          expect(objectName(model, suffix)).toBe(name);
          if (`${model}-${suffix}`.length > maxNameLength) {
            expect(name).toMatch(/-[0-9a-f]{8}$/);
          } else {
            expect(name).toBe(`${model}-${suffix}`);
          }
        },
      ),
    );
  });

  it('gives different long names different results', () => {
    const long = 'a'.repeat(53);
    expect(objectName(long, 'premium-objective')).not.toBe(objectName(long, 'premium-objectivf'));
  });
});

describe('imageVolumeProblem', () => {
  const on = (kubernetesVersion: string | undefined, imageVolumes?: boolean): string | undefined =>
    imageVolumeProblem({ kubernetesVersion, imageVolumes, platformFile: 'environments/x/platform.yaml' });

  it('accepts image volumes where Kubernetes has them on, by default or by feature gate', () => {
    expect(on('1.35')).toBeUndefined();
    expect(on('1.40', false)).toBeUndefined();
    expect(on('1.31', true)).toBeUndefined();
    expect(on('1.34', true)).toBeUndefined();
  });

  it('refuses them before 1.31, before 1.35 without the gate, and when the version is unknown', () => {
    expect(on('1.30', true)).toMatch(/which Kubernetes has from 1\.31/);
    expect(on('1.34')).toMatch(/^expected cloud\.imageVolumes: true .* on Kubernetes 1\.34/);
    expect(on('1.33', false)).toMatch(/off by default before 1\.35/);
    expect(on(undefined, true)).toMatch(
      /^expected cloud\.kubernetesVersion in environments\/x\/platform\.yaml/,
    );
  });
});
