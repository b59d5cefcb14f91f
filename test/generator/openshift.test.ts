// The openshift cloud profile (Sail operator, cluster-managed Gateway API CRDs) passes the project's own
// validation: generate, then `validate` with the reference CRDs when they are present (../shared).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runGenerate } from '../../generator/commands/generate.ts';
import { formatProblem, validateRepository } from '../../generator/verify/run.ts';
import { captureConsole, repoRoot, tempRepo } from './helpers.ts';

const fixture = join(repoRoot, 'test/fixtures/openshift/environments');
const referenceCrds = join(repoRoot, '../shared/reference/crds');
const repo = tempRepo(fixture);
afterAll(() => repo.cleanup());

describe('the openshift profile', () => {
  it('generates', () => {
    const console = captureConsole();
    expect(runGenerate({ root: repo.root }, console), console.lines.err.join('\n')).toBe(0);
    expect(existsSync(join(repo.root, 'apps/ocp/platform/sail-operator.yaml'))).toBe(true);
  });

  it('validates with 0 errors', async () => {
    const report = await validateRepository({ root: repo.root });
    expect(report.problems.map(formatProblem)).toEqual([]);
  }, 300_000);

  it.skipIf(!existsSync(referenceCrds))(
    'validates against the reference CRDs with 0 errors',
    async () => {
      const report = await validateRepository({ root: repo.root, crdsDir: referenceCrds });
      expect(report.problems.map(formatProblem)).toEqual([]);
    },
    300_000,
  );
});
