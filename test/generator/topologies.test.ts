// Every topology the spec accepts, rendered by real helm from the generated Applications: the invariants that
// tie vLLM's arguments, the GPU requests, the LeaderWorkerSet group and the InferencePool together.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { runGenerate } from '../../generator/commands/generate.ts';
import { replicaTopology } from '../../generator/normalize/topology.ts';
import type { JsonObject } from '../../generator/verify/openapi-schema.ts';
import { renderJobsFor } from '../../generator/verify/repository.ts';
import {
  baselineEnvironments,
  captureConsole,
  generatedDevRepo,
  nodeShapePlatform,
  repoRoot,
  tempRepo,
} from './helpers.ts';
import { sourcesOf, type ApplicationObject } from './platform/platform-helpers.ts';
import { vllmArgs, type PodTemplate } from './vllm-pods.ts';

interface Case {
  readonly name: string;
  readonly parallelism: Record<string, number | boolean>;
  /** GPUs per pod and pods per replica the case must produce. */
  readonly gpusPerPod: number;
  readonly nodes: number;
}

const GPUS_PER_NODE = 4;
const cases: readonly Case[] = [
  { name: 'single-gpu', parallelism: { tensor: 1 }, gpusPerPod: 1, nodes: 1 },
  { name: 'tp-2', parallelism: { tensor: 2 }, gpusPerPod: 2, nodes: 1 },
  { name: 'tp-2-pp-2', parallelism: { tensor: 2, pipeline: 2 }, gpusPerPod: 4, nodes: 1 },
  { name: 'moe-dp-2', parallelism: { tensor: 2, data: 2, expert: true }, gpusPerPod: 4, nodes: 1 },
  { name: 'tp-8-two-nodes', parallelism: { tensor: 8 }, gpusPerPod: 4, nodes: 2 },
  { name: 'tp-4-pp-3-nodes', parallelism: { tensor: 4, pipeline: 3 }, gpusPerPod: 4, nodes: 3 },
  { name: 'moe-tp-8-two-nodes', parallelism: { tensor: 8, expert: true }, gpusPerPod: 4, nodes: 2 },
];

const repo = generatedDevRepo(
  nodeShapePlatform(GPUS_PER_NODE),
  Object.fromEntries(
    cases.map((spec) => [spec.name, { parallelism: spec.parallelism, vllm: { maxModelLen: 4096 } }]),
  ),
);
afterAll(repo.cleanup);

type Obj = Record<string, unknown> & { kind: string; metadata: { name: string } };

function render(model: string): Obj[] {
  const file = join(repo.root, `apps/dev/models/${model}.yaml`);
  const app = parseAllDocuments(readFileSync(file, 'utf8'))[0]?.toJS() as ApplicationObject;
  const planned = renderJobsFor(
    repo.root,
    app as unknown as JsonObject,
    file,
    new Set(sourcesOf(app).map((source) => source.repoURL)),
  );
  const job = planned.jobs[0];
  if (job === undefined) throw new Error(JSON.stringify(planned.problems));
  const output = execFileSync(join(repoRoot, '.tools/bin/helm'), job.args, { encoding: 'utf8' });
  return parseAllDocuments(output)
    .map((document) => document.toJS() as Obj | null)
    .filter((object): object is Obj => object !== null);
}

function flag(args: readonly string[], name: string): number {
  const index = args.indexOf(name);
  return index < 0 ? 1 : Number(args[index + 1]);
}

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

describe.each(cases.map((spec) => [spec.name, spec] as const))('%s', (_name, spec) => {
  const objects = render(spec.name);
  const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-vllm'));
  const group = objects.find((o) => o.kind === 'LeaderWorkerSet');
  const leader =
    (deployment?.spec as { template?: PodTemplate } | undefined)?.template ??
    (group?.spec as { leaderWorkerTemplate: { leaderTemplate: PodTemplate } } | undefined)
      ?.leaderWorkerTemplate.leaderTemplate;
  const worker = (group?.spec as { leaderWorkerTemplate: { workerTemplate: PodTemplate } } | undefined)
    ?.leaderWorkerTemplate.workerTemplate;

  it('uses a Deployment on one node and a LeaderWorkerSet group across nodes', () => {
    expect(deployment === undefined).toBe(spec.nodes > 1);
    expect(group === undefined).toBe(spec.nodes === 1);
    if (group !== undefined) {
      const lwt = (group.spec as { leaderWorkerTemplate: { size: number; restartPolicy: string } })
        .leaderWorkerTemplate;
      expect(lwt.size).toBe(spec.nodes);
      expect(lwt.restartPolicy).toBe('RecreateGroupOnPodRestart');
      expect((group.metadata as { annotations?: Record<string, string> }).annotations).toEqual({
        'leaderworkerset.sigs.k8s.io/exclusive-topology': 'example.com/node-group',
      });
    }
  });

  it('requests on every pod the GPUs the parallelism puts there, and passes vLLM the same sizes', () => {
    for (const template of [leader, worker].filter((t): t is PodTemplate => t !== undefined)) {
      const resources = template.spec.containers[0]?.resources;
      expect(resources?.requests['nvidia.com/gpu']).toBe(String(spec.gpusPerPod));
      expect(resources?.limits['nvidia.com/gpu']).toBe(String(spec.gpusPerPod));
    }
    const args = vllmArgs(leader as PodTemplate);
    const tensor = flag(args, '--tensor-parallel-size');
    const pipeline = flag(args, '--pipeline-parallel-size');
    const dataLocal = flag(args, '--data-parallel-size-local');
    expect(tensor).toBe(Number(spec.parallelism.tensor ?? 1));
    expect(pipeline).toBe(Number(spec.parallelism.pipeline ?? 1));
    expect(tensor * pipeline * dataLocal).toBe(spec.gpusPerPod * spec.nodes);
    expect(args.includes('--enable-expert-parallel')).toBe(spec.parallelism.expert === true);
    expect(args.includes('--distributed-executor-backend')).toBe(spec.nodes > 1);
    expect(args).toContain('--enable-prefix-caching');
    expect(args).toContain('--enable-prompt-tokens-details');
  });

  it('points the InferencePool and the Service at exactly the pods that serve HTTP', () => {
    const pool = objects.find((o) => o.kind === 'InferencePool') as unknown as {
      spec: { selector: { matchLabels: Record<string, string> } };
    };
    const service = objects.find(
      (o) => o.kind === 'Service' && o.metadata.name.endsWith('-vllm'),
    ) as unknown as {
      spec: { selector: Record<string, string> };
    };
    // The LeaderWorkerSet controller labels each pod of a group with its index: the leader is 0.
    const index = 'leaderworkerset.sigs.k8s.io/worker-index';
    const leaderLabels = { ...leader?.metadata.labels, ...(spec.nodes > 1 ? { [index]: '0' } : {}) };
    for (const selector of [pool.spec.selector.matchLabels, service.spec.selector]) {
      expect(matches(selector, leaderLabels)).toBe(true);
      for (let i = 1; i < spec.nodes; i += 1) {
        expect(matches(selector, { ...worker?.metadata.labels, [index]: String(i) })).toBe(false);
      }
    }
  });
});

describe('LoRA adapters', () => {
  const spec = {
    name: 'with-adapters',
    namespace: 'llm',
    model: { uri: 'hf://example/base', servedName: 'base' },
    accelerator: { type: 'nvidia-gpu' },
    lora: {
      adapters: [
        { name: 'sql', source: 'hf://example/sql-lora' },
        { name: 'chat', source: 'hf://example/chat-lora' },
      ],
      maxRank: 64,
    },
  };
  const loraRepo = tempRepo(baselineEnvironments);
  afterAll(loraRepo.cleanup);
  writeFileSync(join(loraRepo.root, 'environments/dev/models/with-adapters.yaml'), stringify(spec));
  const console = captureConsole();
  const code = runGenerate({ root: loraRepo.root }, console);

  it('serves each adapter by name, and routes with adapter affinity', () => {
    expect(code, console.lines.err.join('\n')).toBe(0);
    const values = parseAllDocuments(
      readFileSync(join(loraRepo.root, 'apps/dev/values/models/with-adapters.yaml'), 'utf8'),
    )[0]?.toJS() as { vllm: { args: string[] }; router: { config: { plugins: { type: string }[] } } };
    const args = values.vllm.args;
    expect(args).toContain('--enable-lora');
    expect(args[args.indexOf('--max-loras') + 1]).toBe('2');
    expect(args[args.indexOf('--max-lora-rank') + 1]).toBe('64');
    const modules = args.slice(args.indexOf('--lora-modules') + 1, args.indexOf('--lora-modules') + 3);
    expect(modules.map((m) => JSON.parse(m) as unknown)).toEqual([
      { name: 'sql', path: 'example/sql-lora', base_model_name: 'base' },
      { name: 'chat', path: 'example/chat-lora', base_model_name: 'base' },
    ]);
    expect(values.router.config.plugins.map((plugin) => plugin.type)).toContain('lora-affinity-scorer');
  });
});

describe('replicaTopology', () => {
  it('keeps a replica on one node while it fits, and fills whole nodes when it does not', () => {
    const shape = { type: 't', gpusPerNode: 8, leaderWorkerSet: true };
    const one = { tensor: 1, pipeline: 1, data: 1, dataLocal: 1 };
    expect(replicaTopology({ ...one, tensor: 8 }, shape)).toEqual({
      ok: true,
      topology: { gpusPerPod: 8, nodes: 1 },
    });
    expect(replicaTopology({ ...one, tensor: 16 }, shape)).toEqual({
      ok: true,
      topology: { gpusPerPod: 8, nodes: 2 },
    });
    expect(replicaTopology({ ...one, tensor: 16 }, { ...shape, leaderWorkerSet: false }).ok).toBe(false);
    expect(replicaTopology({ ...one, tensor: 12 }, shape).ok).toBe(false);
  });
});
