// `new-model` writes a commented spec that generates on the first try, and refuses bad or existing names.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runGenerate } from '../../generator/commands/generate.ts';
import { runNewModel } from '../../generator/commands/new-model.ts';
import { readTree } from '../../generator/write/tree.ts';
import { baselineEnvironments, captureConsole, tempRepo } from './helpers.ts';

const repo = tempRepo(baselineEnvironments);
afterAll(repo.cleanup);

describe('new-model', () => {
  it('writes a ~30-line spec that generate accepts', () => {
    const console = captureConsole();
    const code = runNewModel(
      {
        root: repo.root,
        name: 'granite',
        uri: 'hf://ibm-granite/granite-3.3-8b-instruct',
        env: 'dev',
        gpus: 2,
      },
      console,
    );
    expect(code, console.lines.err.join('\n')).toBe(0);
    expect(console.lines.out).toEqual(['wrote environments/dev/models/granite.yaml; run npm run generate']);
    const text = readFileSync(join(repo.root, 'environments/dev/models/granite.yaml'), 'utf8');
    expect(text.split('\n').length).toBeLessThanOrEqual(35);
    expect(text).toContain('uri: "hf://ibm-granite/granite-3.3-8b-instruct"');
    expect(text).toContain('type: nvidia-gpu');

    const generated = captureConsole();
    expect(runGenerate({ root: repo.root }, generated), generated.lines.err.join('\n')).toBe(0);
    const values = readFileSync(join(repo.root, 'apps/dev/values/models/granite.yaml'), 'utf8');
    expect(values).toContain('gpus: 2');
    expect(values).toContain('- --tensor-parallel-size\n    - "2"');
  });

  it('refuses to overwrite an existing spec', () => {
    const console = captureConsole();
    expect(runNewModel({ root: repo.root, name: 'qwen-basic', uri: 'hf://a/b', env: 'dev' }, console)).toBe(
      1,
    );
    expect(console.lines.err).toEqual([
      'environments/dev/models/qwen-basic.yaml:1:1: /: expected a new model, but this file already exists',
    ]);
  });

  it('refuses an invalid URI without writing anything', () => {
    const before = readTree(repo.root);
    const console = captureConsole();
    expect(runNewModel({ root: repo.root, name: 'broken', uri: 'http://x', env: 'dev' }, console)).toBe(1);
    expect(console.lines.err[0]).toMatch(
      /^environments\/dev\/models\/broken\.yaml:7:8: \/model\/uri: expected a model URI: /,
    );
    expect(readTree(repo.root)).toEqual(before);
  });

  it('refuses an unknown environment', () => {
    const console = captureConsole();
    expect(runNewModel({ root: repo.root, name: 'x', uri: 'hf://a/b', env: 'staging' }, console)).toBe(1);
    expect(console.lines.err[0]).toContain('environments/staging:1:1: /: expected an existing environment');
  });

  it('refuses a name that is not a model name before writing anything', () => {
    const before = readTree(repo.root);
    for (const name of ['a: b', '../escape', 'Upper', 'x'.repeat(54)]) {
      const console = captureConsole();
      expect(runNewModel({ root: repo.root, name, uri: 'hf://a/b', env: 'dev' }, console)).toBe(1);
      expect(console.lines.err).toEqual([
        `--name: expected a lowercase DNS label starting with a letter (a-z, 0-9 and '-', ending with a letter or digit), at most 53 characters; got ${JSON.stringify(name)}`,
      ]);
    }
    expect(readTree(repo.root)).toEqual(before);
  });
});
