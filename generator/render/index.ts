// The one place where renderers are composed. Add a renderer by adding it to one of the lists.
import type { NormalizedEnvironment } from '../normalize/types.ts';
import { renderApps } from './apps.ts';
import { renderModelCharts } from './model-chart/index.ts';
import { renderPlatform } from '../platform/index.ts';
import type { EnvironmentRenderer, OutputFile, RepositoryRenderer } from './types.ts';

/** Run once per environment. */
export const environmentRenderers: readonly EnvironmentRenderer[] = [renderApps];

/** Run once over all environments (outputs that span environments, such as a model's chart). */
export const repositoryRenderers: readonly RepositoryRenderer[] = [renderModelCharts, renderPlatform];

/**
 * Renders every output file, sorted by path. Two renderers may emit the same path only with identical
 * content (for example a shared chart emitted from each environment).
 */
export function renderAll(envs: readonly NormalizedEnvironment[]): OutputFile[] {
  const files = new Map<string, OutputFile>();
  const add = (file: OutputFile): void => {
    const existing = files.get(file.path);
    if (existing !== undefined && existing.content !== file.content) {
      throw new Error(`two renderers produced different content for ${file.path}`);
    }
    if (existing !== undefined && existing.environment !== file.environment) {
      const { environment: _dropped, ...shared } = file;
      files.set(file.path, shared);
      return;
    }
    files.set(file.path, file);
  };
  for (const env of envs) {
    for (const render of environmentRenderers) {
      render(env).forEach(add);
    }
  }
  for (const render of repositoryRenderers) {
    render(envs).forEach(add);
  }
  return [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
