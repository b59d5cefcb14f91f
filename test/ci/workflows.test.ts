// The GitHub Actions workflows validate against SchemaStore's github-workflow schema (as compiled into
// @action-validator/core), and every Renovate regex manager finds the versions it is meant to keep current.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateWorkflow } from '@action-validator/core';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const workflowsDir = join(repoRoot, '.github/workflows');
const workflows = readdirSync(workflowsDir).filter((name) => /\.ya?ml$/.test(name));

interface CustomManager {
  managerFilePatterns: string[];
  matchStrings: string[];
  depNameTemplate?: string;
}

/** Renovate's `/regex/` file patterns. */
function filesMatching(pattern: string, candidates: readonly string[]): string[] {
  const regex = new RegExp(pattern.slice(1, -1));
  return candidates.filter((file) => regex.test(file));
}

describe('GitHub Actions workflows', () => {
  it('has a pull-request workflow and a tag workflow', () => {
    expect(workflows.sort()).toEqual(['pull-request.yml', 'router-image.yml']);
  });

  for (const name of workflows) {
    it(`${name} is a valid workflow`, () => {
      const state = validateWorkflow(readFileSync(join(workflowsDir, name), 'utf8'));
      expect(state.errors).toEqual([]);
    });
  }

  it('runs generate --check, the tests, validate --crds and posts the review on pull requests', () => {
    const text = readFileSync(join(workflowsDir, 'pull-request.yml'), 'utf8');
    for (const step of [
      'npm ci',
      'npm run generate -- --check',
      'npm test',
      'npm run validate -- --crds',
      'review -- --base',
      'gh pr comment',
    ]) {
      expect(text).toContain(step);
    }
  });
});

describe('Renovate', () => {
  const config = JSON.parse(readFileSync(join(repoRoot, 'renovate.json'), 'utf8')) as {
    customManagers: CustomManager[];
  };
  const candidates = [
    'generator/platform/releases.ts',
    ...workflows.map((name) => `.github/workflows/${name}`),
  ];

  it('finds every version its regex managers name', () => {
    for (const manager of config.customManagers) {
      const files = manager.managerFilePatterns.flatMap((pattern) => filesMatching(pattern, candidates));
      expect(files, manager.matchStrings.join()).not.toEqual([]);
      for (const matchString of manager.matchStrings) {
        const matches = files.flatMap((file) => [
          ...readFileSync(join(repoRoot, file), 'utf8').matchAll(new RegExp(matchString, 'g')),
        ]);
        expect(matches.length, matchString).toBeGreaterThan(0);
        for (const match of matches) expect(match.groups?.currentValue).toMatch(/^v?\d+\.\d+\.\d+$/);
      }
    }
  });

  it('covers every component of the release table except the router, which this repository builds', () => {
    const text = readFileSync(join(repoRoot, 'generator/platform/releases.ts'), 'utf8');
    const keys = /COMPONENT_VERSION_KEYS = \[([^\]]+)\]/.exec(text)?.[1]?.match(/'(\w+)'/g) ?? [];
    const covered = config.customManagers.flatMap((manager) => manager.matchStrings).join('\n');
    for (const key of keys.map((quoted) => quoted.slice(1, -1)).filter((key) => key !== 'router')) {
      expect(covered).toContain(`${key}: `);
    }
  });
});
