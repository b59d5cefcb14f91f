// Loading: base-layer merge rules and source positions of merged values.
import { describe, expect, it } from 'vitest';
import { deepMerge, layer, locateIn } from '../../generator/load/layers.ts';
import { parseYamlSource, type YamlSource } from '../../generator/load/yaml-source.ts';

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
    expect(locateIn(input, ['argocd', 'targetRevision'])).toEqual({ file: 'env.yaml', line: 4, column: 19 });
  });

  it('finds a value only the base layer holds in the base file', () => {
    expect(locateIn(input, ['argocd', 'repoURL'])).toEqual({ file: 'base.yaml', line: 3, column: 12 });
    expect(locateIn(input, ['release'])).toEqual({ file: 'base.yaml', line: 1, column: 10 });
  });

  it('points at the key itself for unknown properties and at the nearest parent for missing ones', () => {
    expect(locateIn(input, ['cloud', 'provider'], true)).toEqual({ file: 'env.yaml', line: 2, column: 3 });
    expect(locateIn(input, ['cloud', 'region'])).toEqual({ file: 'env.yaml', line: 2, column: 3 });
  });

  it('reports YAML syntax errors with their position', () => {
    const result = parseYamlSource('bad.yaml', 'a: 1\nb: [2\n');
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.problems.map((p) => `${p.file}:${p.line}:${p.column}`)).toEqual([
      'bad.yaml:3:1',
    ]);
  });
});
