// Table-driven bad-input corpus (test/fixtures/inputs/*.yaml): each case must fail with exit 1, name the
// file, line, column and field, say what was expected, and leave charts/ and apps/ untouched.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runGenerate } from '../../generator/commands/generate.ts';
import { readTree } from '../../generator/write/tree.ts';
import { baselineEnvironments, captureConsole, repoRoot, tempRepo } from './helpers.ts';

interface BadInputCase {
  description: string;
  files?: Record<string, string>;
  remove?: string[];
  /** Symbolic links to create: path → target. */
  links?: Record<string, string>;
  /** Lines appended to one of `files`, `{i}` replaced by the line's number (7 digits): large inputs. */
  repeat?: { file: string; line: string; count: number };
  expect: { file: string; line: number; column: number; pointer: string; message: string };
}

const corpusDir = join(repoRoot, 'test/fixtures/inputs');
const cases = readdirSync(corpusDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => ({
    name: f.slice(0, -5),
    spec: parse(readFileSync(join(corpusDir, f), 'utf8')) as BadInputCase,
  }));

const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((c) => c()));

function repoWithCase(spec: BadInputCase): string {
  const { root, cleanup } = tempRepo(baselineEnvironments);
  cleanups.push(cleanup);
  const console = captureConsole();
  expect(runGenerate({ root }, console), console.lines.err.join('\n')).toBe(0);
  for (const path of spec.remove ?? []) {
    rmSync(join(root, path));
  }
  for (const [path, content] of Object.entries(spec.files ?? {})) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content + repeated(spec, path));
  }
  for (const [path, target] of Object.entries(spec.links ?? {})) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    symlinkSync(target, join(root, path));
  }
  return root;
}

function repeated(spec: BadInputCase, path: string): string {
  if (spec.repeat?.file !== path) return '';
  const { line, count } = spec.repeat;
  return Array.from({ length: count }, (_, i) => `${line.replace('{i}', String(i).padStart(7, '0'))}\n`).join(
    '',
  );
}

describe('bad-input corpus', () => {
  it('has at least 30 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases)('$name', ({ spec }) => {
    const root = repoWithCase(spec);
    const before = readTree(root);
    const console = captureConsole();
    expect(runGenerate({ root }, console)).toBe(1);
    const { file, line, column, pointer, message } = spec.expect;
    const located = console.lines.err.filter((l) => l.startsWith(`${file}:${line}:${column}: ${pointer}: `));
    expect(located, console.lines.err.join('\n')).not.toHaveLength(0);
    expect(
      located.some((l) => l.includes(message)),
      console.lines.err.join('\n'),
    ).toBe(true);
    expect(console.lines.err.at(-1)).toMatch(/input error\(s\); nothing written$/);
    expect(readTree(root)).toEqual(before);
  });
});

describe('error collection', () => {
  it('reports every problem of every file before exiting', () => {
    const root = repoWithCase({
      description: 'three independent errors in two files',
      files: {
        'environments/dev/models/qwen-basic.yaml': readFileSync(
          join(baselineEnvironments, 'dev/models/qwen-basic.yaml'),
          'utf8',
        )
          .replace('replicas: 1', 'replicas: many')
          .replace('namespace: llm', 'namespace: Not_Valid'),
        'environments/dev/models/other.yaml':
          'name: other\nnamespace: llm\nmodel:\n  uri: ftp://x\naccelerator:\n  type: nvidia-gpu\n',
      },
      expect: { file: '', line: 0, column: 0, pointer: '', message: '' },
    });
    const console = captureConsole();
    expect(runGenerate({ root }, console)).toBe(1);
    expect(console.lines.err).toEqual([
      expect.stringMatching(
        /^environments\/dev\/models\/other\.yaml:4:8: \/model\/uri: expected a model URI: /,
      ),
      expect.stringMatching(
        /^environments\/dev\/models\/qwen-basic\.yaml:2:12: \/namespace: expected a lowercase DNS label/,
      ),
      expect.stringMatching(
        /^environments\/dev\/models\/qwen-basic\.yaml:5:11: \/replicas: expected integer, got "many"/,
      ),
      'generate: 3 input error(s); nothing written',
    ]);
  });

  it('exits 1 from the command line, with the error on stderr and nothing written', () => {
    const root = repoWithCase({
      description: 'unknown property',
      files: { 'environments/dev/models/qwen-basic.yaml': 'name: qwen-basic\nnamespace: llm\nbogus: 1\n' },
      expect: { file: '', line: 0, column: 0, pointer: '', message: '' },
    });
    const before = readTree(root);
    let status = 0;
    let stderr = '';
    try {
      execFileSync(process.execPath, [join(repoRoot, 'generator/cli.ts'), '--root', root, 'generate'], {
        stdio: 'pipe',
        encoding: 'utf8',
      });
    } catch (error) {
      ({ status, stderr } = error as { status: number; stderr: string });
    }
    expect(status).toBe(1);
    expect(stderr).toContain('environments/dev/models/qwen-basic.yaml:3:1: /bogus: unknown property "bogus"');
    expect(readTree(root)).toEqual(before);
  });
});
