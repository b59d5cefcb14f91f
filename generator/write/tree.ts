// The generated output: all of apps/, and in charts/ only what is derived from the hand-written charts (each
// chart's values.schema.json and README values table, charts/chart-versions.json). Compare it with what is
// on disk, and replace it atomically.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chartVersionsFile } from '../model/charts.ts';
import { readmeValuesBegin } from '../model/readme-markers.ts';
import type { OutputFile } from '../render/types.ts';

/** The directory the generator owns entirely. */
export const appsDir = 'apps';

export interface TreeDiff {
  readonly changed: readonly string[];
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

function walk(root: string, relative: string, visit: (path: string) => void): void {
  if (!existsSync(join(root, relative))) return;
  for (const entry of readdirSync(join(root, relative), { withFileTypes: true })) {
    const path = `${relative}/${entry.name}`;
    if (entry.isDirectory()) {
      walk(root, path, visit);
    } else {
      visit(path);
    }
  }
}

/** Whether a file under charts/ is generator output (the rest of charts/ is written by people). */
function isGeneratedChartFile(path: string, content: string): boolean {
  return (
    path === chartVersionsFile ||
    path.endsWith('/values.schema.json') ||
    (path.endsWith('/README.md') && content.includes(readmeValuesBegin))
  );
}

export function readTree(root: string): Map<string, string> {
  const tree = new Map<string, string>();
  walk(root, appsDir, (path) => tree.set(path, readFileSync(join(root, path), 'utf8')));
  walk(root, 'charts', (path) => {
    if (!path.endsWith('.json') && !path.endsWith('/README.md')) return;
    const content = readFileSync(join(root, path), 'utf8');
    if (isGeneratedChartFile(path, content)) tree.set(path, content);
  });
  return tree;
}

/**
 * The full desired output. With `environment`, only that environment's files (apps/<env>/**) and the
 * environment-independent chart files are replaced; other environments' files are kept as they are.
 */
export function desiredTree(
  current: ReadonlyMap<string, string>,
  files: readonly OutputFile[],
  environment?: string,
): Map<string, string> {
  const desired = new Map<string, string>();
  if (environment !== undefined) {
    for (const [path, content] of current) {
      if (path.startsWith(`${appsDir}/`) && !path.startsWith(`${appsDir}/${environment}/`)) {
        desired.set(path, content);
      }
    }
  }
  for (const file of files) {
    if (environment === undefined || file.environment === undefined || file.environment === environment) {
      desired.set(file.path, file.content);
    }
  }
  return new Map([...desired.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
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

/**
 * Writes apps/ into a staging directory and each generated chart file beside its target, then swaps them
 * all in; nothing is replaced until everything has been written.
 */
export function replaceTree(root: string, desired: ReadonlyMap<string, string>): void {
  const staging = join(root, `.generate-staging-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  const chartFiles: [string, string][] = [];
  try {
    mkdirSync(join(staging, 'new', appsDir), { recursive: true });
    const created = new Set<string>();
    for (const [path, content] of desired) {
      const inApps = path.startsWith(`${appsDir}/`);
      const target = inApps ? join(staging, 'new', path) : join(root, `${path}.generate-${process.pid}`);
      const dir = dirname(target);
      if (!created.has(dir)) {
        mkdirSync(dir, { recursive: true });
        created.add(dir);
      }
      writeFileSync(target, content);
      if (!inApps) chartFiles.push([target, join(root, path)]);
    }
    for (const [temporary, target] of chartFiles) renameSync(temporary, target);
    chartFiles.length = 0;
    mkdirSync(join(staging, 'old'));
    if (existsSync(join(root, appsDir))) renameSync(join(root, appsDir), join(staging, 'old', appsDir));
    try {
      renameSync(join(staging, 'new', appsDir), join(root, appsDir));
    } catch (error) {
      renameSync(join(staging, 'old', appsDir), join(root, appsDir));
      throw error;
    }
  } finally {
    for (const [temporary] of chartFiles) rmSync(temporary, { force: true });
    rmSync(staging, { recursive: true, force: true });
  }
}
