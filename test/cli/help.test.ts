// Every command-line script of package.json answers --help with its usage and exit code 0, never a stack trace.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const scripts = (
  JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
).scripts;
/** Scripts that run tools (lint, tests, install hooks) rather than the project's own commands. */
const toolScripts = new Set(['postinstall', 'lint', 'format', 'typecheck', 'test', 'test:unit']);

describe('--help', () => {
  for (const name of Object.keys(scripts).filter((script) => !toolScripts.has(script))) {
    it(`npm run ${name} -- --help`, { timeout: 60_000 }, () => {
      const result = spawnSync('npm', ['run', '--silent', name, '--', '--help'], {
        cwd: repoRoot,
        encoding: 'utf8',
      });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^Usage: /);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });
  }

  it('the generator CLI prints its commands', () => {
    const result = spawnSync(join(repoRoot, 'node_modules/.bin/node'), ['generator/cli.ts', '--help'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    for (const command of ['generate', 'validate', 'new-model', 'review'])
      expect(result.stdout).toContain(command);
  });
});
