// Benchmark: generate (and validate) 200 models x 3 environments in a temporary repository.
// npm run bench:generate [-- --json OUT] [-- --models N] [-- --environments N] [-- --skip-validate]
//   [-- --skip-review] [-- --dir PARENT]
// generateSeconds is the whole of `generate` (load, validate, normalize, render, check output, write);
// buildSeconds and writeSeconds split it into the in-memory part and the file-system part.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Command } from 'commander';
import { buildOutputs } from '../pipeline.ts';
import { desiredTree, diffTrees, readTree, replaceTree } from '../write/tree.ts';
import { buildReview } from '../commands/review.ts';
import { runValidate } from '../commands/validate.ts';

const values = new Command('bench:generate')
  .description(
    'Time generate, validate and review of a one-model change for N models x M environments in a temporary repository',
  )
  .option('--json <file>', 'also write the figures as JSON')
  .option('--models <n>', 'models per environment', '200')
  .option('--environments <n>', 'environments', '3')
  .option('--skip-validate', 'time generate only (and review)')
  .option('--skip-review', 'do not time review')
  .option('--dir <parent>', 'create the temporary repository under this directory')
  .parse()
  .opts<{
    json?: string;
    models: string;
    environments: string;
    skipValidate?: boolean;
    skipReview?: boolean;
    dir?: string;
  }>();
const modelCount = Number(values.models);
const environmentCount = Number(values.environments);

const basePlatform = `release: "2026.11"
argocd:
  repoURL: https://git.example.com/platform/switchyard.git
  targetRevision: main
router:
  image:
    repository: ghcr.io/switchyard/router
    tag: 0.1.0
vllm:
  image:
    repository: docker.io/vllm/vllm-openai
    tag: v0.11.2
`;

const environmentPlatform = `cloud:
  provider: generic
accelerators:
  nvidia-gpu:
    resourceName: nvidia.com/gpu
`;

function modelSpec(index: number, env: number): string {
  const tensor = [1, 2, 4][index % 3] ?? 1;
  return `name: model-${String(index).padStart(3, '0')}
namespace: team-${index % 10}
model:
  uri: hf://example-org/model-${index}
replicas: ${1 + ((index + env) % 4)}
parallelism:
  tensor: ${tensor}
accelerator:
  type: nvidia-gpu
  count: ${tensor}
vllm:
  maxModelLen: ${4096 * (1 + (index % 4))}
aliases:
  - name: alias-${index}
`;
}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const root = mkdtempSync(join(values.dir ?? tmpdir(), 'switchyard-bench-'));
try {
  // The charts' sources are inputs too (their defaults and versions); copy them as a fresh clone has them.
  cpSync(join(repoRoot, 'charts'), join(root, 'charts'), { recursive: true });
  mkdirSync(join(root, 'environments/base'), { recursive: true });
  writeFileSync(join(root, 'environments/base/platform.yaml'), basePlatform);
  const envNames = Array.from({ length: environmentCount }, (_, i) => `env-${i + 1}`);
  envNames.forEach((env, e) => {
    mkdirSync(join(root, 'environments', env, 'models'), { recursive: true });
    writeFileSync(join(root, 'environments', env, 'platform.yaml'), environmentPlatform);
    for (let i = 0; i < modelCount; i++) {
      writeFileSync(
        join(root, 'environments', env, 'models', `model-${String(i).padStart(3, '0')}.yaml`),
        modelSpec(i, e),
      );
    }
  });

  const buildStart = performance.now();
  const { files } = buildOutputs(root);
  const buildSeconds = (performance.now() - buildStart) / 1000;
  const writeStart = performance.now();
  const current = readTree(root);
  const desired = desiredTree(current, files);
  const diff = diffTrees(current, desired);
  replaceTree(root, desired);
  const writeSeconds = (performance.now() - writeStart) / 1000;
  const generateSeconds = buildSeconds + writeSeconds;
  console.log(`generate: ${desired.size} files (${diff.added.length} added)`);

  let validateSeconds: number | null = null;
  if (values.skipValidate !== true) {
    const validateStart = performance.now();
    const validateCode = await runValidate({ root });
    validateSeconds = (performance.now() - validateStart) / 1000;
    if (validateCode !== 0) {
      throw new Error(`validate exited with ${validateCode}`);
    }
  }

  // review of a one-model change: commit, change one model's replicas, regenerate, review against the commit.
  let reviewSeconds: number | null = null;
  if (values.skipReview !== true) {
    const git = (...args: string[]): void => {
      execFileSync('git', ['-C', root, ...args], { stdio: 'ignore' });
    };
    git('init', '--quiet');
    git('add', '-A');
    git('-c', 'user.name=bench', '-c', 'user.email=bench@example.com', 'commit', '--quiet', '-m', 'bench');
    const model = join(root, 'environments', envNames[0] ?? 'env-1', 'models', 'model-000.yaml');
    writeFileSync(model, readFileSync(model, 'utf8').replace(/^replicas: \d+$/m, 'replicas: 7'));
    const regenerated = desiredTree(readTree(root), buildOutputs(root).files);
    replaceTree(root, regenerated);
    const reviewStart = performance.now();
    const report = await buildReview({ root, base: 'HEAD', routing: true });
    reviewSeconds = (performance.now() - reviewStart) / 1000;
    if (report.summary.changed !== 1 || report.problems.length > 0) {
      throw new Error(`review found ${String(report.summary.changed)} changed objects, expected 1`);
    }
  }

  const result = {
    models: modelCount,
    environments: environmentCount,
    generateSeconds: Number(generateSeconds.toFixed(3)),
    buildSeconds: Number(buildSeconds.toFixed(3)),
    writeSeconds: Number(writeSeconds.toFixed(3)),
    files: desired.size,
    validateSeconds: validateSeconds === null ? null : Number(validateSeconds.toFixed(3)),
    reviewSeconds: reviewSeconds === null ? null : Number(reviewSeconds.toFixed(3)),
  };
  console.log(
    `${modelCount} models x ${environmentCount} environments: generate ${result.generateSeconds} s ` +
      `(build ${result.buildSeconds} s, write ${result.files} files ${result.writeSeconds} s), ` +
      `validate ${result.validateSeconds === null ? 'skipped' : `${result.validateSeconds} s`}, ` +
      `review of a one-model change ${result.reviewSeconds === null ? 'skipped' : `${result.reviewSeconds} s`}`,
  );
  if (values.json !== undefined) {
    writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
