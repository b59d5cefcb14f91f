// Temporary repositories for generator tests: a copy of an environments/ tree in a fresh directory.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Console } from '../../generator/commands/generate.ts';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const baselineEnvironments = join(repoRoot, 'test/fixtures/inputs/baseline/environments');
export const exampleEnvironments = join(repoRoot, 'environments');

/** A repository with the given environments/ tree and this repository's charts/ (the charts' sources). */
export function tempRepo(environments: string): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'switchyard-gen-'));
  cpSync(environments, join(root, 'environments'), { recursive: true });
  cpSync(join(repoRoot, 'charts'), join(root, 'charts'), { recursive: true });
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export function captureConsole(): Console & {
  out: (line: string) => void;
  lines: { out: string[]; err: string[] };
} {
  const lines = { out: [] as string[], err: [] as string[] };
  return { lines, out: (line) => lines.out.push(line), err: (line) => lines.err.push(line) };
}
