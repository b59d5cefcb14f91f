// Hostile inputs: oversized files, files full of errors, symbolic links. Each is rejected with file:line errors,
// in time that grows linearly with the file, and without reading anything outside the repository.
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runGenerate } from '../../generator/commands/generate.ts';
import { formatProblem, maxProblemsPerFile, nearestName } from '../../generator/errors.ts';
import { parseYamlSource, yamlLimits } from '../../generator/load/yaml-source.ts';
import { readTree } from '../../generator/write/tree.ts';
import { baselineEnvironments, captureConsole, tempRepo } from './helpers.ts';

const modelFile = 'environments/dev/models/qwen-basic.yaml';
const head =
  'name: qwen-basic\nnamespace: llm\nmodel:\n  uri: hf://Qwen/Qwen2.5-0.5B-Instruct\naccelerator:\n  type: nvidia-gpu\n';

function unknownKeys(count: number): string {
  const lines = [head];
  for (let i = 0; i < count; i += 1) lines.push(`unknown-key-${String(i).padStart(7, '0')}: 1\n`);
  return lines.join('');
}

const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((cleanup) => cleanup()));

function repoWith(files: Record<string, string>): string {
  const { root, cleanup } = tempRepo(baselineEnvironments);
  cleanups.push(cleanup);
  for (const [path, content] of Object.entries(files)) writeFileSync(join(root, path), content);
  return root;
}

function generate(root: string): { status: number; err: string[]; seconds: number } {
  const console = captureConsole();
  const started = performance.now();
  const status = runGenerate({ root }, console);
  return { status, err: console.lines.err, seconds: (performance.now() - started) / 1000 };
}

describe('size and error-count limits', () => {
  it('rejects a 3.5 MB file of unknown keys at the line where it passes the size limit', () => {
    const text = unknownKeys(160_000);
    expect(text.length).toBeGreaterThan(3_500_000);
    const root = repoWith({ [modelFile]: text });
    const before = readTree(root);
    const { status, err, seconds } = generate(root);
    console.log(`3.5 MB file of unknown keys rejected in ${seconds.toFixed(3)} s`);
    expect(status).toBe(1);
    expect(err[0]).toMatch(
      /^environments\/dev\/models\/qwen-basic\.yaml:\d+:\d+: \/: expected a file of at most 256 KiB, got 3\d{3} KiB/,
    );
    expect(err).toHaveLength(2);
    expect(seconds).toBeLessThan(30);
    expect(readTree(root)).toEqual(before);
  });

  it(`shows at most ${maxProblemsPerFile} problems per file, in time linear in the number of errors`, () => {
    // As many unknown keys as fit under the size limit: about 10,000 schema errors in one file.
    const count = Math.floor((yamlLimits.maxBytes - head.length) / 'unknown-key-0000000: 1\n'.length);
    const root = repoWith({ [modelFile]: unknownKeys(count) });
    const { status, err, seconds } = generate(root);
    console.log(`${count} unknown keys in one file rejected in ${seconds.toFixed(3)} s`);
    expect(status).toBe(1);
    expect(err).toHaveLength(maxProblemsPerFile + 2);
    expect(err[0]).toMatch(
      /^environments\/dev\/models\/qwen-basic\.yaml:7:1: \/unknown-key-0000000: unknown property "unknown-key-0000000"/,
    );
    expect(err.at(-2)).toMatch(
      new RegExp(
        `^environments/dev/models/qwen-basic\\.yaml:${7 + maxProblemsPerFile}:1: /: expected at most ${maxProblemsPerFile} problems per file: ${count - maxProblemsPerFile} more from here on are not shown`,
      ),
    );
    expect(err.at(-1)).toBe(`generate: ${maxProblemsPerFile + 1} input error(s); nothing written`);
    expect(seconds).toBeLessThan(30);
  });

  it('finds repeated keys of a large map in one pass', () => {
    const text = `${unknownKeys(5000)}unknown-key-0000042: 2\n`;
    const result = parseYamlSource('big.yaml', text);
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([
      [
        `big.yaml:5007:1: /: expected valid YAML: Map keys must be unique ("unknown-key-0000042" repeats)`,
        '  5007 | unknown-key-0000042: 2',
        '       | ^',
      ].join('\n'),
    ]);
  });
});

describe('YAML limits', () => {
  it('reports an alias bomb at the first alias, not with a stack trace', () => {
    const levels = ['x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i < 9; i += 1)
      levels.push(
        `x${i}: &a${i} [${Array(9)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const result = parseYamlSource('bomb.yaml', `${levels.join('\n')}\n`);
    expect(
      result.ok ? [] : result.problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`),
    ).toEqual([
      expect.stringMatching(/^bomb\.yaml:2:10: expected aliases that expand to at most 100 nodes each/),
    ]);
  });

  it('reports nesting deeper than the limit where it starts', () => {
    const depth = yamlLimits.maxDepth + 5;
    const result = parseYamlSource('deep.yaml', `a:\n  b: ${'['.repeat(depth)}${']'.repeat(depth)}\n`);
    expect(
      result.ok ? [] : result.problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`),
    ).toEqual([
      `deep.yaml:2:${4 + yamlLimits.maxDepth}: expected maps and lists nested at most ${yamlLimits.maxDepth} levels deep`,
    ]);
  });
});

describe('symbolic links', () => {
  const outside = join(tmpdir(), `switchyard-secret-${process.pid}.yaml`);
  writeFileSync(outside, 'name: qwen-basic\nsecret-token: do-not-print-me\n');
  cleanups.push(() => rmSync(outside, { force: true }));

  it.each([
    ['a model file', modelFile, modelFile],
    [
      'a base-layer file',
      'environments/base/models/qwen-basic.yaml',
      'environments/base/models/qwen-basic.yaml',
    ],
    ['a models directory', 'environments/dev/models', 'environments/dev/models'],
  ])('refuses %s that is a link, without reading its target', (_name, path, reported) => {
    const root = repoWith({});
    rmSync(join(root, path), { recursive: true, force: true });
    mkdirSync(join(root, path, '..'), { recursive: true });
    symlinkSync(path.endsWith('models') ? tmpdir() : outside, join(root, path));
    const { status, err } = generate(root);
    expect(status).toBe(1);
    expect(err.join('\n')).not.toContain('do-not-print-me');
    expect(err).toContainEqual(
      `${reported}:1:1: /: expected a regular file or directory inside the repository, not a symbolic link (links are not followed)`,
    );
  });
});

describe('suggestions', () => {
  it('names the nearest valid name for typos and case slips, and nothing for unrelated words', () => {
    expect(nearestName('replica', ['replicas', 'resources'])).toBe('replicas');
    expect(nearestName('Balanced', ['balanced', 'load'])).toBe('balanced');
    expect(nearestName('paralelism', ['parallelism', 'accelerator'])).toBe('parallelism');
    expect(nearestName('colour', ['replicas', 'resources'])).toBeUndefined();
  });
});
