// The generated trees (charts/, apps/): compare with what is on disk, and replace atomically.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { OutputFile } from '../render/types.ts';

export const managedDirs = ['charts', 'apps'] as const;

export interface TreeDiff {
  readonly changed: readonly string[];
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

export function readTree(root: string): Map<string, string> {
  const tree = new Map<string, string>();
  const walk = (relative: string): void => {
    for (const entry of readdirSync(join(root, relative), { withFileTypes: true })) {
      const path = `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        walk(path);
      } else {
        tree.set(path, readFileSync(join(root, path), 'utf8'));
      }
    }
  };
  for (const dir of managedDirs) {
    if (existsSync(join(root, dir))) {
      walk(dir);
    }
  }
  return tree;
}

/**
 * The full desired content of the managed directories. With `environment`, only files of that environment
 * (apps/<env>/**, values-<env>.yaml) and shared files are replaced; other environments' files are kept.
 */
export function desiredTree(
  current: ReadonlyMap<string, string>,
  files: readonly OutputFile[],
  environment?: string,
): Map<string, string> {
  const desired = new Map<string, string>();
  if (environment !== undefined) {
    const rendered = new Set(files.map((f) => f.path));
    for (const [path, content] of current) {
      if (!belongsTo(path, environment) && !rendered.has(path)) {
        desired.set(path, content);
      }
    }
  }
  for (const file of files) {
    if (environment === undefined || file.environment === undefined || file.environment === environment) {
      desired.set(file.path, file.content);
    } else if (current.has(file.path)) {
      desired.set(file.path, current.get(file.path) ?? '');
    }
  }
  return new Map([...desired.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function belongsTo(path: string, environment: string): boolean {
  return path.startsWith(`apps/${environment}/`) || path.endsWith(`/values-${environment}.yaml`);
}

export function diffTrees(
  current: ReadonlyMap<string, string>,
  desired: ReadonlyMap<string, string>,
): TreeDiff {
  const changed: string[] = [];
  const added: string[] = [];
  const removed: string[] = [];
  for (const [path, content] of desired) {
    const existing = current.get(path);
    if (existing === undefined) {
      added.push(path);
    } else if (existing !== content) {
      changed.push(path);
    }
  }
  for (const path of current.keys()) {
    if (!desired.has(path)) {
      removed.push(path);
    }
  }
  return { changed: changed.sort(), added: added.sort(), removed: removed.sort() };
}

export function isEmptyDiff(diff: TreeDiff): boolean {
  return diff.changed.length + diff.added.length + diff.removed.length === 0;
}

/** Writes the desired tree into a temporary directory, then swaps each managed directory in. */
export function replaceTree(root: string, desired: ReadonlyMap<string, string>): void {
  const staging = join(root, `.generate-staging-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  try {
    for (const dir of managedDirs) {
      mkdirSync(join(staging, 'new', dir), { recursive: true });
    }
    const created = new Set<string>();
    for (const [path, content] of desired) {
      const target = join(staging, 'new', path);
      const dir = dirname(target);
      if (!created.has(dir)) {
        mkdirSync(dir, { recursive: true });
        created.add(dir);
      }
      writeFileSync(target, content);
    }
    mkdirSync(join(staging, 'old'));
    try {
      for (const dir of managedDirs) {
        if (existsSync(join(root, dir))) {
          renameSync(join(root, dir), join(staging, 'old', dir));
        }
        renameSync(join(staging, 'new', dir), join(root, dir));
      }
    } catch (error) {
      // Put back whatever was moved away, so a failed swap leaves the previous output in place.
      for (const dir of managedDirs) {
        if (!existsSync(join(root, dir)) && existsSync(join(staging, 'old', dir))) {
          renameSync(join(staging, 'old', dir), join(root, dir));
        }
      }
      throw error;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
