// A read-only copy of the repository at a revision, in a temporary directory (git archive, no worktree).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class RevisionError extends Error {}

/** Resolves `ref` in the repository at `root` to a commit, or throws RevisionError. */
export function resolveCommit(root: string, ref: string): string {
  try {
    return execFileSync('git', ['-C', root, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  } catch {
    throw new RevisionError(`--base ${ref}: not a commit of this repository`);
  }
}

/** Extracts the commit's tree into a new temporary directory; `cleanup` removes it. */
export function checkout(root: string, commit: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-base-'));
  try {
    const archive = join(dir, '.base.tar');
    execFileSync('git', ['-C', root, 'archive', '--format=tar', '-o', archive, commit], { stdio: 'pipe' });
    execFileSync('tar', ['-xf', archive, '-C', dir], { stdio: 'pipe' });
    rmSync(archive);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
