// The project's hand-written Helm charts as the generator sees them: documented defaults and a digest of
// what a chart version must pin. Shared by load (which reads them), normalize and render.

/** One key of a chart's values.yaml with its documentation. */
export interface DocumentedValue {
  readonly key: string;
  /** Dotted path from the top of values.yaml. */
  readonly path: string;
  /** Text of the `# --` comment above the key. */
  readonly description: string;
  /** JSON Schema keywords from a `# @schema {…}` line, merged over what the default value implies. */
  readonly schema: Readonly<Record<string, unknown>> | undefined;
  /** The default, as plain data. */
  readonly value: unknown;
  /** The keys below a block map, in file order; undefined for scalars, lists and flow maps. */
  readonly children: readonly DocumentedValue[] | undefined;
  readonly line: number;
}

export interface ChartSource {
  /** Repository-relative chart directory, e.g. charts/model-server. */
  readonly dir: string;
  /** Key of the chart in charts/chart-versions.json: the directory below charts/. */
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly appVersion: string;
  readonly description: string;
  /** Line of `version:` in Chart.yaml, for errors. */
  readonly versionLine: number;
  /** values.yaml as plain data. */
  readonly defaults: Readonly<Record<string, unknown>>;
  readonly values: readonly DocumentedValue[];
  /** README.md as written (its values section is regenerated). */
  readonly readme: string;
  /** sha256 of everything a chart version pins: Chart.yaml without `version`, values.yaml, templates/, files/. */
  readonly digest: string;
}

/** charts/chart-versions.json: per chart, the digest recorded for each released version. */
export type ChartVersionRecord = Readonly<Record<string, Readonly<Record<string, string>>>>;

export interface ChartInputs {
  readonly charts: readonly ChartSource[];
  readonly recorded: ChartVersionRecord;
}

export const chartVersionsFile = 'charts/chart-versions.json';
export const modelServerChartDir = 'charts/model-server';
export const platformChartsDir = 'charts/platform';
