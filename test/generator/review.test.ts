// `review --base REF`: objects added, removed and changed between a revision and the working tree, rendered
// with helm as Argo CD renders them, in temporary git repositories.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runGenerate } from '../../generator/commands/generate.ts';
import { buildReview } from '../../generator/commands/review.ts';
import { reviewMarkdown } from '../../generator/commands/review/markdown.ts';
import type { ReviewReport } from '../../generator/commands/review/report.ts';
import { captureConsole, exampleEnvironments, repoRoot, tempRepo } from './helpers.ts';

let repo: { root: string; cleanup: () => void };

function git(...args: string[]): string {
  return execFileSync('git', ['-C', repo.root, ...args], { encoding: 'utf8' });
}

function generate(): void {
  const console = captureConsole();
  expect(runGenerate({ root: repo.root }, console), console.lines.err.join('\n')).toBe(0);
}

function edit(path: string, change: (text: string) => string): void {
  const file = join(repo.root, path);
  writeFileSync(file, change(readFileSync(file, 'utf8')));
}

function review(): Promise<ReviewReport> {
  return buildReview({ root: repo.root, base: 'HEAD', routing: false });
}

function application(report: ReviewReport, env: string, name: string) {
  return report.environments.find((e) => e.name === env)?.applications.find((a) => a.name === name);
}

/** Bumps charts/model-server's version so the changed chart is a new version, as the generator demands. */
function bumpModelChart(): void {
  edit('charts/model-server/Chart.yaml', (text) => text.replace(/^version: .*$/m, 'version: 9.9.9'));
}

beforeEach(() => {
  repo = tempRepo(exampleEnvironments);
  generate();
  git('init', '--quiet', '--initial-branch=main');
  git('add', '-A');
  git('-c', 'user.name=test', '-c', 'user.email=test@example.com', 'commit', '--quiet', '-m', 'base');
});

afterEach(() => repo.cleanup());

describe('review', { timeout: 60_000 }, () => {
  it('reports nothing when the working tree renders what the base renders', async () => {
    const report = await review();
    expect(report.summary).toMatchObject({ applications: 0, added: 0, removed: 0, changed: 0 });
    expect(report.problems).toEqual([]);
  });

  it('shows a replica change as exactly one changed field', async () => {
    edit('environments/dev/models/qwen-basic.yaml', (text) => text.replace('replicas: 1', 'replicas: 3'));
    generate();
    const report = await review();
    const changes = report.environments.flatMap((env) => env.applications.flatMap((app) => app.changed));
    expect(changes.flatMap((change) => change.fields)).toEqual([
      { path: 'spec.replicas', before: 1, after: 3 },
    ]);
    expect(changes[0]).toMatchObject({
      kind: 'Deployment',
      group: 'apps',
      namespace: 'llm',
      name: 'qwen-basic-vllm',
    });
    expect(report.summary).toMatchObject({ applications: 1, added: 0, removed: 0, changed: 1 });
    expect(reviewMarkdown(report)).toMatchSnapshot();
  });

  it('shows a new model as added objects in each environment', async () => {
    for (const env of ['dev', 'prod']) {
      writeFileSync(
        join(repo.root, `environments/${env}/models/mistral-small.yaml`),
        readFileSync(join(repo.root, `environments/${env}/models/qwen-basic.yaml`), 'utf8').replace(
          /^#.*\n/,
          '',
        ) + 'name: mistral-small\nnamespace: llm\nmodel:\n  uri: hf://mistralai/Mistral-7B-Instruct-v0.3\n',
      );
    }
    generate();
    const report = await review();
    for (const env of ['dev', 'prod']) {
      const added = application(report, env, `${env}-mistral-small`)?.added ?? [];
      expect(added.map((object) => object.kind)).toEqual(
        expect.arrayContaining(['Deployment', 'Service', 'InferencePool', 'HTTPRoute']),
      );
      expect(added.every((object) => object.name.startsWith('mistral-small'))).toBe(true);
      expect(application(report, env, `${env}-mistral-small`)?.removed).toEqual([]);
      expect(application(report, env, `${env}-root`)?.added.map((object) => object.name)).toEqual([
        `${env}-mistral-small`,
      ]);
    }
    expect(report.summary.removed).toBe(0);
  });

  it('shows a removed model as removed objects and calls out the deletions', async () => {
    rmSync(join(repo.root, 'environments/prod/models/llama-8b.yaml'));
    generate();
    const report = await review();
    const removed = application(report, 'prod', 'prod-llama-8b')?.removed ?? [];
    expect(removed.map((object) => `${object.kind}/${object.name}`)).toContain('Rollout/llama-8b-vllm');
    expect(application(report, 'prod', 'prod-llama-8b')?.added).toEqual([]);
    expect(report.environments.find((env) => env.name === 'dev')?.applications).toEqual([]);
    const deleted = report.attention.filter((item) => item.reason === 'deleted');
    expect(deleted.length).toBe(removed.length + 1);
  });

  it('shows a template change as the same field change in every model', async () => {
    edit('charts/model-server/templates/_vllm-workloads.tpl', (text) =>
      text.replace(/^ {2}strategy:$/m, (line) => `  minReadySeconds: 5\n${line}`),
    );
    bumpModelChart();
    generate();
    const report = await review();
    // Every model served by a Deployment (prod's llama-8b is a canary Rollout, llama-70b a LeaderWorkerSet).
    const models = ['dev-qwen-basic', 'prod-qwen-basic'];
    for (const name of models) {
      const env = name.split('-')[0] ?? '';
      const deployment = application(report, env, name)?.changed.find(
        (change) => change.name.endsWith('-vllm') && change.kind === 'Deployment',
      );
      expect(deployment?.fields).toContainEqual({ path: 'spec.minReadySeconds', after: 5 });
    }
  });

  it('shows a change of one environment rendered output whose values file has no diff', async () => {
    edit('charts/model-server/templates/_vllm-workloads.tpl', (text) =>
      text.replace(
        /^ {2}strategy:$/m,
        (line) =>
          `  {{- if gt (int $.Values.vllm.replicas) 1 }}\n  minReadySeconds: 5\n  {{- end }}\n${line}`,
      ),
    );
    bumpModelChart();
    generate();
    expect(git('status', '--porcelain', '--', 'apps/prod/values')).toBe('');
    const report = await review();
    const prod = application(report, 'prod', 'prod-qwen-basic')?.changed.find(
      (change) => change.kind === 'Deployment' && change.name === 'qwen-basic-vllm',
    );
    expect(prod?.fields).toContainEqual({ path: 'spec.minReadySeconds', after: 5 });
    const dev = application(report, 'dev', 'dev-qwen-basic')?.changed.find(
      (change) => change.kind === 'Deployment' && change.name === 'qwen-basic-vllm',
    );
    expect(dev?.fields.map((field) => field.path)).not.toContain('spec.minReadySeconds');
  });

  it('replays the standard workload before and after a replica change (routing-impact preview)', async () => {
    edit('environments/dev/models/qwen-basic.yaml', (text) => text.replace('replicas: 1', 'replicas: 2'));
    generate();
    const report = await buildReview({ root: repo.root, base: 'HEAD' });
    expect(report.routing).toHaveLength(1);
    const [impact] = report.routing;
    expect(impact).toMatchObject({
      environment: 'dev',
      model: 'qwen-basic',
      workload: 'review-shared-prefix',
      reasons: ['replicas'],
    });
    expect(impact?.before?.outputTokensPerSecond).toBeGreaterThan(0);
    expect(impact?.after?.outputTokensPerSecond).toBeGreaterThan(0);
    expect(impact?.after?.ttftP90Ms).toBeLessThanOrEqual(impact?.before?.ttftP90Ms ?? 0);
    expect(reviewMarkdown(report)).toContain('### Routing impact (simulated)');
    const again = await buildReview({ root: repo.root, base: 'HEAD' });
    expect(again.routing).toEqual(report.routing);
  });

  it('writes JSON that validates against schemas/review.schema.json', async () => {
    edit('environments/prod/models/qwen-basic.yaml', (text) => text.replace('replicas: 2', 'replicas: 4'));
    rmSync(join(repo.root, 'environments/prod/models/llama-8b.yaml'));
    generate();
    const report = JSON.parse(JSON.stringify(await review())) as unknown;
    const schema = JSON.parse(readFileSync(join(repoRoot, 'schemas/review.schema.json'), 'utf8')) as object;
    const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
  });

  it('rejects a base that is not a commit', async () => {
    await expect(buildReview({ root: repo.root, base: 'no-such-branch', routing: false })).rejects.toThrow(
      /--base no-such-branch: not a commit/,
    );
  });
});
