// Loading: base-layer merge rules and source positions of merged values.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { deepMerge, layer, locateIn } from '../../generator/load/layers.ts';
import { parseYamlSource, type YamlSource } from '../../generator/load/yaml-source.ts';
import { schemaProblems } from '../../generator/validate/inputs.ts';
import { validators } from '../../generator/validate/schemas.ts';
import { exampleEnvironments } from './helpers.ts';

function source(file: string, text: string): YamlSource {
  const result = parseYamlSource(file, text);
  if (!result.ok) {
    throw new Error(JSON.stringify(result.problems));
  }
  return result.source;
}

describe('deepMerge', () => {
  it('merges maps key by key and lets the upper layer replace lists and scalars', () => {
    expect(
      deepMerge(
        { a: { x: 1, y: [1, 2] }, b: 'base', c: { keep: true } },
        { a: { y: [3], z: null }, b: 'env', d: 4 },
      ),
    ).toEqual({ a: { x: 1, y: [3], z: null }, b: 'env', c: { keep: true }, d: 4 });
  });
});

describe('locateIn', () => {
  const base = source('base.yaml', 'release: "1"\nargocd:\n  repoURL: https://a\n  targetRevision: main\n');
  const env = source('env.yaml', 'cloud:\n  provider: eks\nargocd:\n  targetRevision: v1\n');
  const input = layer(env, base);

  it('finds a value in the environment file first', () => {
    expect(locateIn(input, ['argocd', 'targetRevision'])).toEqual({
      file: 'env.yaml',
      line: 4,
      column: 19,
      sourceLine: '  targetRevision: v1',
    });
  });

  it('finds a value only the base layer holds in the base file', () => {
    expect(locateIn(input, ['argocd', 'repoURL'])).toMatchObject({ file: 'base.yaml', line: 3, column: 12 });
    expect(locateIn(input, ['release'])).toMatchObject({ file: 'base.yaml', line: 1, column: 10 });
  });

  it('points at the key itself for unknown properties and at the nearest parent for missing ones', () => {
    expect(locateIn(input, ['cloud', 'provider'], true)).toMatchObject({
      file: 'env.yaml',
      line: 2,
      column: 3,
    });
    expect(locateIn(input, ['cloud', 'region'])).toMatchObject({ file: 'env.yaml', line: 2, column: 3 });
  });

  it('reports YAML syntax errors with their position', () => {
    const result = parseYamlSource('bad.yaml', 'a: 1\nb: [2\n');
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.problems.map((p) => `${p.file}:${p.line}:${p.column}`)).toEqual([
      'bad.yaml:3:1',
    ]);
  });
});

describe('errors in the base layer', () => {
  const envs = exampleEnvironmentNames();
  const baseText = readFileSync(join(exampleEnvironments, 'base/platform.yaml'), 'utf8');
  const leaves = scalarPaths(parseDocument(baseText).contents);

  it.each(envs)('are reported at the base file for every value %s does not override', (env) => {
    const envSource = source(
      `environments/${env}/platform.yaml`,
      readFileSync(join(exampleEnvironments, env, 'platform.yaml'), 'utf8'),
    );
    const validate = validators().platform;
    let checked = 0;
    for (const path of leaves) {
      const broken = parseDocument(baseText);
      broken.setIn(path, { wrong: 'type' });
      const input = layer(envSource, source('environments/base/platform.yaml', broken.toString()));
      if (validate(input.data)) continue; // the environment overrides this value
      const lineOfValue = locateIn(input, path.map(String)).line;
      expect(schemaProblems(input, validate.errors ?? []).map((p) => `${p.file}:${p.line}`)).toContain(
        `environments/base/platform.yaml:${lineOfValue}`,
      );
      expect(locateIn(input, path.map(String)).file).toBe('environments/base/platform.yaml');
      checked += 1;
    }
    expect(checked).toBeGreaterThan(5);
  });
});

function exampleEnvironmentNames(): string[] {
  return readdirSync(exampleEnvironments).filter((name) => name !== 'base');
}

function scalarPaths(node: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (isMap(node))
    return node.items.flatMap((pair) =>
      scalarPaths(pair.value, [...path, String(isScalar(pair.key) ? pair.key.value : '')]),
    );
  if (isSeq(node)) return node.items.flatMap((item, index) => scalarPaths(item, [...path, index]));
  return isScalar(node) ? [path] : [];
}
