// Temporary repositories for generator tests: a copy of an environments/ tree in a fresh directory.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { runGenerate, type Console } from '../../generator/commands/generate.ts';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const baselineEnvironments = join(repoRoot, 'test/fixtures/inputs/baseline/environments');
export const exampleEnvironments = join(repoRoot, 'environments');

/** A repository with the given environments/ tree and this repository's charts/ (the charts' sources). */
export function tempRepo(environments: string): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'switchyard-gen-'));
  cpSync(environments, join(root, 'environments'), { recursive: true });
  cpSync(join(repoRoot, 'charts'), join(root, 'charts'), { recursive: true });
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export function captureConsole(): Console & {
  out: (line: string) => void;
  lines: { out: string[]; err: string[] };
} {
  const lines = { out: [] as string[], err: [] as string[] };
  return { lines, out: (line) => lines.out.push(line), err: (line) => lines.err.push(line) };
}

/**
 * A generated repository: the baseline environments with dev's platform profile replaced, and one dev model per
 * entry (name, namespace llm, hf://example/<name> on nvidia-gpu, then the entry's own fields). Throws with the
 * generator's errors when it fails.
 */
export function generatedDevRepo(
  devPlatform: Readonly<Record<string, unknown>>,
  models: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {},
): { root: string; cleanup: () => void } {
  const repo = tempRepo(baselineEnvironments);
  writeFileSync(join(repo.root, 'environments/dev/platform.yaml'), stringify(devPlatform));
  for (const [name, spec] of Object.entries(models)) {
    writeFileSync(
      join(repo.root, `environments/dev/models/${name}.yaml`),
      stringify({
        name,
        namespace: 'llm',
        model: { uri: `hf://example/${name}` },
        accelerator: { type: 'nvidia-gpu' },
        ...spec,
      }),
    );
  }
  const console = captureConsole();
  if (runGenerate({ root: repo.root }, console) !== 0) {
    repo.cleanup();
    throw new Error(console.lines.err.join('\n'));
  }
  return repo;
}

/** A generic-cloud dev profile whose nvidia-gpu nodes hold this many GPUs, node groups named by a label. */
export function nodeShapePlatform(gpusPerNode: number): Record<string, unknown> {
  return {
    cloud: { provider: 'generic' },
    accelerators: {
      'nvidia-gpu': {
        resourceName: 'nvidia.com/gpu',
        gpusPerNode,
        groupTopologyKey: 'example.com/node-group',
      },
    },
  };
}
