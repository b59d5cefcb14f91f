import { chartFiles, environmentValuesFile, valuesSchemaText } from '../render/chart-files.ts';
import { generatedBanner, type KeyComments } from '../render/yaml.ts';
import type { OutputFile } from '../render/types.ts';
import { PLATFORM_CHARTS_DIR } from './applications.ts';

/** JSON Schema of a chart's values; the `description` of each property is also its values.yaml comment. */
export interface ValuesSchema {
  readonly type?: string | readonly string[];
  readonly description?: string;
  readonly properties?: Readonly<Record<string, ValuesSchema>>;
  readonly additionalProperties?: boolean | ValuesSchema;
  readonly required?: readonly string[];
  readonly items?: ValuesSchema;
  readonly enum?: readonly unknown[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly pattern?: string;
  readonly minLength?: number;
}

/** One of our platform charts, as pure data: the renderer turns it into files. */
export interface PlatformChart {
  readonly name: string;
  readonly description: string;
  readonly version: string;
  readonly appVersion: string;
  readonly valuesSchema: ValuesSchema;
  readonly defaultValues: Readonly<Record<string, unknown>>;
  /** templates/<file>: Helm templates, written verbatim (no generator-side templating). */
  readonly templates: Readonly<Record<string, string>>;
  /** Other chart files (e.g. files/health/*.lua), written verbatim. */
  readonly files: Readonly<Record<string, string>>;
  readonly readme: string;
}

/** values.yaml comments from the schema: each documented key is preceded by `<key> -- <description>`. */
export function schemaComments(
  schema: ValuesSchema,
  path = '',
  comments: Record<string, string> = {},
): KeyComments {
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const keyPath = path === '' ? key : `${path}.${key}`;
    if (child.description !== undefined) comments[keyPath] = `${key} -- ${child.description}`;
    schemaComments(child, keyPath, comments);
  }
  return comments;
}

function chartDirectory(chart: PlatformChart): string {
  return `${PLATFORM_CHARTS_DIR}/${chart.name}`;
}

/** Chart files shared by every environment. */
export function renderChartFiles(chart: PlatformChart): OutputFile[] {
  const templates: Record<string, string> = {};
  for (const [name, text] of Object.entries(chart.templates)) {
    templates[name] = `${generatedBanner}\n${text}`;
  }
  return chartFiles({
    dir: chartDirectory(chart),
    metadata: {
      name: chart.name,
      description: chart.description,
      version: chart.version,
      appVersion: chart.appVersion,
      keywords: ['switchyard', 'platform'],
    },
    defaultValues: chart.defaultValues,
    valueComments: schemaComments(chart.valuesSchema),
    valuesSchemaText: valuesSchemaText({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      title: `${chart.name} chart values`,
      ...chart.valuesSchema,
    }),
    readme: chart.readme,
    templates,
    files: chart.files,
  });
}

export function renderEnvironmentValues(
  chart: PlatformChart,
  environment: string,
  values: Readonly<Record<string, unknown>>,
): OutputFile {
  return environmentValuesFile(chartDirectory(chart), environment, values);
}
