// Every shell block of README.md and docs/*.md runs here, in a temporary copy of the repository (one copy per
// page, blocks in page order), unless a `<!-- needs: … -->` line before it says what it needs that a test
// cannot have (a cluster, a registry, the network, a server that runs until stopped, minutes of CPU).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const pages = [
  'README.md',
  ...readdirSync(join(repoRoot, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
].sort();

interface Block {
  line: number;
  text: string;
  needs: string | undefined;
}

/** The fenced `sh` blocks of a page and the `<!-- needs: … -->` marker before each, if any. */
export function shellBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    if (!/^```(sh|bash|shell)\s*$/.test(lines[index] ?? '')) continue;
    const end = lines.findIndex((line, at) => at > index && line.startsWith('```'));
    let before = index - 1;
    while (before >= 0 && (lines[before] ?? '').trim() === '') before -= 1;
    const needs = /^<!-- needs: (.+) -->$/.exec(lines[before] ?? '')?.[1];
    blocks.push({ line: index + 1, text: lines.slice(index + 1, end).join('\n'), needs });
    index = end;
  }
  return blocks;
}

/** A copy of the working tree with its own git history (one commit, also as origin/main). */
function copyRepository(): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'switchyard-docs-'));
  const skip = new Set(['.git', 'node_modules', '.tools', 'dist', 'coverage']);
  cpSync(repoRoot, root, {
    recursive: true,
    filter: (source) => !skip.has(source.slice(repoRoot.length).split('/')[0] ?? ''),
  });
  symlinkSync(join(repoRoot, 'node_modules'), join(root, 'node_modules'));
  symlinkSync(join(repoRoot, '.tools'), join(root, '.tools'));
  const git = (...args: string[]): void => {
    execFileSync('git', ['-C', root, ...args], { stdio: 'ignore' });
  };
  git('init', '--quiet', '--initial-branch=main');
  git('add', '-A');
  git('-c', 'user.name=docs', '-c', 'user.email=docs@example.com', 'commit', '--quiet', '-m', 'docs');
  git('update-ref', 'refs/remotes/origin/main', 'HEAD');
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

describe('shell commands in the documentation', () => {
  for (const page of pages) {
    const blocks = shellBlocks(readFileSync(join(repoRoot, page), 'utf8'));
    if (blocks.length === 0) continue;
    const runnable = blocks.filter((block) => block.needs === undefined);
    it(`${page}: every block runs or says what it needs`, { timeout: 600_000 }, () => {
      for (const block of blocks.filter((candidate) => candidate.needs !== undefined)) {
        expect(block.needs, `${page}:${String(block.line)}`).toMatch(/^\S/);
      }
      if (runnable.length === 0) return;
      const copy = copyRepository();
      try {
        for (const block of runnable) {
          const result = spawnSync('bash', ['-euo', 'pipefail', '-c', block.text], {
            cwd: copy.root,
            encoding: 'utf8',
            env: { ...process.env, PATH: `${join(repoRoot, 'node_modules/.bin')}:${process.env.PATH ?? ''}` },
            maxBuffer: 64 * 1024 * 1024,
          });
          expect(
            result.status,
            `${page}:${String(block.line)}\n${block.text}\n${result.stdout}\n${result.stderr}`,
          ).toBe(0);
        }
      } finally {
        copy.cleanup();
      }
    });
  }
});
