// The one place where renderers are composed. Every environment's files are rendered from that environment
// alone (and the charts' defaults); the charts' generated files depend on no environment at all.
import type { ChartSource } from '../model/charts.ts';
import { chartVersionsFile } from '../model/charts.ts';
import type { NormalizedRepository } from '../normalize/types.ts';
import { modelValuesPath, renderModelApps } from './apps.ts';
import { renderChartDocs } from './chart-docs.ts';
import { renderPlatformEnvironment } from './platform-apps.ts';
import { valuesFile } from './sources.ts';
import type { OutputFile } from './types.ts';
import { modelValuesFile } from './values/model.ts';
import { valuesOverlay } from './values/overlay.ts';
import { platformChartValues } from './values/platform.ts';
import { toStableJson } from './yaml.ts';

function chartById(charts: readonly ChartSource[], id: string): ChartSource {
  const chart = charts.find((candidate) => candidate.id === id);
  if (chart === undefined) throw new Error(`no chart charts/${id}`);
  return chart;
}

/** Renders every output file, sorted by path. */
export function renderAll(repository: NormalizedRepository): OutputFile[] {
  const { charts } = repository;
  const modelServer = chartById(charts.sources, 'model-server');
  const files: OutputFile[] = [
    ...renderChartDocs(charts.sources),
    { path: chartVersionsFile, content: toStableJson(charts.versions) },
  ];
  for (const env of repository.environments) {
    files.push(...renderModelApps(env));
    for (const model of env.models) {
      files.push(
        valuesFile(
          modelValuesPath(env.name, model.name),
          env.name,
          modelValuesFile(modelServer.defaults, env, model),
        ),
      );
    }
    files.push(
      ...renderPlatformEnvironment(env, (chart, settings) => {
        const values = platformChartValues[chart];
        if (values === undefined) throw new Error(`no values for platform chart ${chart}`);
        return valuesOverlay(chartById(charts.sources, `platform/${chart}`).defaults, values(settings));
      }),
    );
  }
  const seen = new Set<string>();
  for (const file of files) {
    if (seen.has(file.path)) throw new Error(`two renderers produced ${file.path}`);
    seen.add(file.path);
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
