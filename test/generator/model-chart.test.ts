// The one model-serving chart: its version rule, the values files that hold only differences, and what a
// reviewer sees for common changes.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runGenerate } from '../../generator/commands/generate.ts';
import { loadCharts } from '../../generator/load/charts.ts';
import { inferSchema } from '../../generator/render/chart-docs.ts';
import { mergeValues, valuesOverlay } from '../../generator/render/values/overlay.ts';
import { readTree } from '../../generator/write/tree.ts';
import { captureConsole, exampleEnvironments, repoRoot, tempRepo } from './helpers.ts';

const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((cleanup) => cleanup()));

function generatedRepo(): string {
  const repo = tempRepo(exampleEnvironments);
  cleanups.push(repo.cleanup);
  const console = captureConsole();
  expect(runGenerate({ root: repo.root }, console), console.lines.err.join('\n')).toBe(0);
  return repo.root;
}

function changedFiles(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...new Set([...before.keys(), ...after.keys()])]
    .filter((path) => before.get(path) !== after.get(path))
    .sort();
}

describe('chart version rule', () => {
  it('refuses a changed template under a recorded version, and records a higher one', () => {
    const root = generatedRepo();
    const chartFile = join(root, 'charts/model-server/Chart.yaml');
    const version = /^version: (\d+)\.(\d+)\.(\d+)$/m.exec(readFileSync(chartFile, 'utf8'));
    const [current = '', major = '', minor = '', patch = ''] = version ?? [];
    const next = `${major}.${minor}.${String(Number(patch) + 1)}`;
    appendFileSync(join(root, 'charts/model-server/templates/vllm-service.yaml'), '# a change\n');
    const refused = captureConsole();
    expect(runGenerate({ root }, refused)).toBe(1);
    expect(refused.lines.err[0]).toMatch(
      new RegExp(
        `^charts/model-server/Chart\\.yaml:\\d+:1: /version: expected a version above ${current.slice('version: '.length)}: charts/model-server changed since version ${current.slice('version: '.length)} was recorded in charts/chart-versions\\.json$`,
      ),
    );

    writeFileSync(chartFile, readFileSync(chartFile, 'utf8').replace(current, `version: ${next}`));
    const bumped = captureConsole();
    expect(runGenerate({ root }, bumped), bumped.lines.err.join('\n')).toBe(0);
    const recorded = JSON.parse(readFileSync(join(root, 'charts/chart-versions.json'), 'utf8')) as Record<
      string,
      Record<string, string>
    >;
    expect(Object.keys(recorded['model-server'] ?? {})).toContain(next);
  });

  it('refuses a version below the highest recorded', () => {
    const root = generatedRepo();
    const chartFile = join(root, 'charts/platform/pki/Chart.yaml');
    writeFileSync(chartFile, readFileSync(chartFile, 'utf8').replace(/^version: .*$/m, 'version: 0.1.9'));
    const console = captureConsole();
    expect(runGenerate({ root }, console)).toBe(1);
    expect(console.lines.err[0]).toMatch(
      /\/version: expected a version above \d+\.\d+\.\d+, the highest recorded/,
    );
  });

  it('holds for the committed charts: every chart version is recorded with its current content', () => {
    const loaded = loadCharts(repoRoot);
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    for (const chart of loaded.inputs.charts) {
      expect(loaded.inputs.recorded[chart.id]?.[chart.version], chart.dir).toBe(chart.digest);
    }
  });
});

describe('values files', () => {
  const json = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.integer(),
      fc.string(),
      fc.boolean(),
      fc.array(fc.integer(), { maxLength: 3 }),
      tie('map'),
    ),
    map: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), tie('value'), { maxKeys: 4 }),
  }));

  it('merged over the defaults as Helm merges them give exactly the desired values', () => {
    fc.assert(
      fc.property(json.map, json.map, (defaults, desired) => {
        const defaultsMap = defaults as Record<string, unknown>;
        const desiredMap = desired as Record<string, unknown>;
        expect(mergeValues(defaultsMap, valuesOverlay(defaultsMap, desiredMap))).toEqual(desiredMap);
      }),
    );
  });

  it('hold nothing a model spec leaves at the chart defaults', () => {
    const root = generatedRepo();
    const values = parse(readFileSync(join(root, 'apps/prod/values/platform/argocd-config.yaml'), 'utf8'));
    expect(values).toEqual({});
    const dev = parse(readFileSync(join(root, 'apps/dev/values/models/qwen-basic.yaml'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(Object.keys(dev).sort()).toEqual(['aliases', 'vllm']);
  });

  it('infer a schema from the default of each key', () => {
    expect(inferSchema({ a: 1, b: [true], c: 'x', d: 1.5 })).toEqual({
      type: 'object',
      additionalProperties: false,
      required: ['a', 'b', 'c', 'd'],
      properties: {
        a: { type: 'integer' },
        b: { type: 'array', items: { type: 'boolean' } },
        c: { type: 'string' },
        d: { type: 'number' },
      },
    });
  });
});

describe('what a pull request changes', () => {
  it('replicas 2 → 4 in prod touches one values file', () => {
    const root = generatedRepo();
    const before = readTree(root);
    const spec = join(root, 'environments/prod/models/qwen-basic.yaml');
    writeFileSync(spec, readFileSync(spec, 'utf8').replace('replicas: 2', 'replicas: 4'));
    const console = captureConsole();
    expect(runGenerate({ root }, console)).toBe(0);
    const after = readTree(root);
    expect(changedFiles(before, after)).toEqual(['apps/prod/values/models/qwen-basic.yaml']);
    expect(after.get('apps/prod/values/models/qwen-basic.yaml')).toContain('  replicas: 4\n');
  });

  it('a new model adds one values file and one Application per environment, and joins the shared endpoint', () => {
    const root = generatedRepo();
    const before = readTree(root);
    for (const env of ['dev', 'prod']) {
      writeFileSync(
        join(root, `environments/${env}/models/granite.yaml`),
        'name: granite\nnamespace: llm\nmodel:\n  uri: hf://ibm-granite/granite-3.3-2b-instruct\naccelerator:\n' +
          `  type: ${env === 'dev' ? 'nvidia-gpu' : 'nvidia-l4'}\n`,
      );
    }
    const console = captureConsole();
    expect(runGenerate({ root }, console), console.lines.err.join('\n')).toBe(0);
    expect(changedFiles(before, readTree(root))).toEqual([
      'apps/dev/models/granite.yaml',
      'apps/dev/values/models/granite.yaml',
      // The gateway's model catalog: GET /v1/models and the body-based router now know granite.
      'apps/dev/values/platform/gateway.yaml',
      'apps/prod/models/granite.yaml',
      'apps/prod/values/models/granite.yaml',
      'apps/prod/values/platform/gateway.yaml',
    ]);
  });
});
