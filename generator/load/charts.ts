// Reads the project's own Helm charts (charts/model-server, charts/platform/*): Chart.yaml, the documented
// values.yaml, README.md and a digest of the chart's content, plus the recorded chart versions.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Node, type YAMLMap } from 'yaml';
import type { InputProblem } from '../errors.ts';
import {
  chartVersionsFile,
  modelServerChartDir,
  platformChartsDir,
  type ChartInputs,
  type ChartSource,
  type ChartVersionRecord,
  type DocumentedValue,
} from '../model/charts.ts';

export type ChartsResult = { ok: true; inputs: ChartInputs } | { ok: false; problems: InputProblem[] };

/** Files a chart's digest leaves out: generated from values.yaml, or documentation only. */
const undigested = new Set(['README.md', 'values.schema.json']);

export function chartDirectories(root: string): string[] {
  const platform = join(root, platformChartsDir);
  const platformDirs = existsSync(platform)
    ? readdirSync(platform)
        .filter((name) => existsSync(join(platform, name, 'Chart.yaml')))
        .sort()
        .map((name) => `${platformChartsDir}/${name}`)
    : [];
  return [
    ...(existsSync(join(root, modelServerChartDir, 'Chart.yaml')) ? [modelServerChartDir] : []),
    ...platformDirs,
  ];
}

export function loadCharts(root: string): ChartsResult {
  const problems: InputProblem[] = [];
  const charts: ChartSource[] = [];
  const dirs = chartDirectories(root);
  if (!dirs.includes(modelServerChartDir)) {
    problems.push(fileProblem(`${modelServerChartDir}/Chart.yaml`, 'expected the model-serving chart'));
  }
  for (const dir of dirs) {
    const chart = loadChart(root, dir, problems);
    if (chart !== undefined) charts.push(chart);
  }
  const recorded = loadRecordedVersions(root, problems);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, inputs: { charts, recorded } };
}

function loadChart(root: string, dir: string, problems: InputProblem[]): ChartSource | undefined {
  const chartFile = `${dir}/Chart.yaml`;
  const valuesFile = `${dir}/values.yaml`;
  const chartText = readFileSync(join(root, chartFile), 'utf8');
  const chartLines = new LineCounter();
  const chartDoc = parseDocument(chartText, { lineCounter: chartLines, prettyErrors: false });
  if (chartDoc.errors.length > 0) {
    problems.push(yamlProblem(chartFile, chartLines, chartDoc.errors[0]));
    return undefined;
  }
  const metadata = chartDoc.toJS() as Record<string, unknown> | null;
  const version = typeof metadata?.version === 'string' ? metadata.version : undefined;
  const name = typeof metadata?.name === 'string' ? metadata.name : undefined;
  if (version === undefined || name === undefined) {
    problems.push(fileProblem(chartFile, 'expected string fields name and version'));
    return undefined;
  }
  const versionNode = (chartDoc.contents as YAMLMap | null)?.items.find(
    (item) => isScalar(item.key) && item.key.value === 'version',
  );
  const versionLine = chartLines.linePos(rangeStart(versionNode?.value) ?? 0).line;

  if (!existsSync(join(root, valuesFile))) {
    problems.push(fileProblem(valuesFile, 'expected a documented values.yaml'));
    return undefined;
  }
  const valuesText = readFileSync(join(root, valuesFile), 'utf8');
  const lineCounter = new LineCounter();
  const valuesDoc = parseDocument(valuesText, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (valuesDoc.errors.length > 0) {
    problems.push(yamlProblem(valuesFile, lineCounter, valuesDoc.errors[0]));
    return undefined;
  }
  const defaults = (valuesDoc.toJS() ?? {}) as Record<string, unknown>;
  const contents = valuesDoc.contents;
  const values = isMap(contents)
    ? documentedEntries(contents, '', valuesFile, lineCounter, valuesText, problems)
    : [];

  const readmePath = join(root, dir, 'README.md');
  const { version: _version, ...unversioned } = metadata ?? {};
  return {
    dir,
    id: dir.slice('charts/'.length),
    name,
    version,
    appVersion: String(metadata?.appVersion ?? ''),
    description: String(metadata?.description ?? ''),
    versionLine,
    defaults,
    values,
    readme: existsSync(readmePath) ? readFileSync(readmePath, 'utf8') : '',
    digest: chartDigest(root, dir, JSON.stringify(sortKeys(unversioned))),
  };
}

/**
 * The documented keys of a block map. A key's documentation is the run of comment lines right above it:
 * lines after `# --` form the description, a `# @schema {…}` line holds JSON Schema keywords.
 */
function documentedEntries(
  map: YAMLMap,
  prefix: string,
  file: string,
  lineCounter: LineCounter,
  text: string,
  problems: InputProblem[],
): DocumentedValue[] {
  const lines = text.split('\n');
  const entries: DocumentedValue[] = [];
  for (const item of map.items) {
    if (!isPair(item) || !isScalar(item.key)) continue;
    const key = String(item.key.value);
    const path = prefix === '' ? key : `${prefix}.${key}`;
    const line = lineCounter.linePos(rangeStart(item.key) ?? 0).line;
    const comment = commentAbove(lines, line);
    let schema: Record<string, unknown> | undefined;
    if (comment.schema !== undefined) {
      try {
        const parsed: unknown = JSON.parse(comment.schema.text);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
          throw new Error('not an object');
        schema = parsed as Record<string, unknown>;
      } catch (error) {
        problems.push({
          file,
          line: comment.schema.line,
          column: 1,
          pointer: toPointerPath(path),
          message: `expected a JSON object after @schema: ${(error as Error).message}`,
        });
      }
    }
    if (comment.description === '') {
      problems.push({
        file,
        line,
        column: 1,
        pointer: toPointerPath(path),
        message: `expected a "# -- description" comment above ${path}`,
      });
    }
    const value = item.value as Node | null;
    entries.push({
      key,
      path,
      description: comment.description,
      schema,
      value: value === null ? null : (value.toJSON() as unknown),
      // A map whose @schema states its type is documented as one value (e.g. a free-form config object).
      children:
        isMap(value) && !value.flow && !(schema !== undefined && 'type' in schema)
          ? documentedEntries(value, path, file, lineCounter, text, problems)
          : undefined,
      line,
    });
  }
  return entries;
}

interface KeyComment {
  readonly description: string;
  readonly schema: { readonly text: string; readonly line: number } | undefined;
}

/** The contiguous comment lines right above 1-based `line`. */
function commentAbove(lines: readonly string[], line: number): KeyComment {
  const block: { text: string; line: number }[] = [];
  for (let index = line - 2; index >= 0; index -= 1) {
    const trimmed = (lines[index] ?? '').trim();
    if (!trimmed.startsWith('#')) break;
    block.unshift({ text: trimmed.replace(/^#\s?/, ''), line: index + 1 });
  }
  const start = block.findIndex((entry) => entry.text.startsWith('-- ') || entry.text === '--');
  if (start < 0) return { description: '', schema: undefined };
  const description: string[] = [];
  let schema: KeyComment['schema'];
  for (const entry of block.slice(start)) {
    if (entry.text.startsWith('@schema')) {
      schema = { text: entry.text.slice('@schema'.length).trim(), line: entry.line };
    } else {
      description.push(entry.text.replace(/^--\s?/, ''));
    }
  }
  return { description: description.join(' ').trim(), schema };
}

function chartDigest(root: string, dir: string, chartMetadata: string): string {
  const hash = createHash('sha256');
  hash.update(`Chart.yaml\0${chartMetadata}\0`);
  const walk = (relative: string): void => {
    for (const name of readdirSync(join(root, dir, relative)).sort()) {
      const path = relative === '' ? name : posix.join(relative, name);
      if (statSync(join(root, dir, path)).isDirectory()) {
        walk(path);
      } else if (path !== 'Chart.yaml' && !undigested.has(path)) {
        hash
          .update(`${path}\0`)
          .update(readFileSync(join(root, dir, path)))
          .update('\0');
      }
    }
  };
  walk('');
  return `sha256:${hash.digest('hex')}`;
}

function loadRecordedVersions(root: string, problems: InputProblem[]): ChartVersionRecord {
  const path = join(root, chartVersionsFile);
  if (!existsSync(path)) return {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as ChartVersionRecord;
  } catch (error) {
    problems.push(
      fileProblem(
        chartVersionsFile,
        `expected JSON of the form {"<chart>": {"<version>": "sha256:…"}}: ${(error as Error).message}`,
      ),
    );
    return {};
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, sortKeys(v)]),
    );
  }
  return value;
}

function toPointerPath(path: string): string {
  return `/${path.split('.').join('/')}`;
}

function rangeStart(node: unknown): number | undefined {
  return (node as Node | null | undefined)?.range?.[0];
}

function fileProblem(file: string, message: string): InputProblem {
  return { file, line: 1, column: 1, pointer: '', message };
}

function yamlProblem(
  file: string,
  lineCounter: LineCounter,
  error: { pos: [number, number]; message: string } | undefined,
): InputProblem {
  const position = lineCounter.linePos(error?.pos[0] ?? 0);
  return {
    file,
    line: position.line,
    column: position.col,
    pointer: '',
    message: `expected valid YAML: ${(error?.message ?? '').split('\n')[0] ?? ''}`,
  };
}
