import type { NormalizedEnvironment } from '../normalize/types.ts';
import type { OutputFile } from '../render/types.ts';
import { objectFile } from '../render/object-file.ts';
import {
  renderArgocdConfigProject,
  renderPlatformApplication,
  renderPlatformProject,
} from './applications.ts';
import { renderChartFiles, renderEnvironmentValues, type PlatformChart } from './chart.ts';
import { argocdConfigChart, argocdConfigValues } from './charts/argocd-config.ts';
import { gatewayChart, gatewayValues } from './charts/gateway.ts';
import { istioControlPlaneChart, istioControlPlaneValues } from './charts/istio-control-plane.ts';
import { monitoringChart, monitoringValues } from './charts/monitoring.ts';
import { pkiChart, pkiValues } from './charts/pki.ts';
import { platformComponents } from './components.ts';
import { platformSettings } from './profile.ts';
import type { PlatformSettings } from './settings.ts';

interface ChartWithValues {
  readonly chart: PlatformChart;
  readonly values: (settings: PlatformSettings) => Record<string, unknown>;
}

/** Our platform charts, by name, with the function that derives each environment's values. */
export const PLATFORM_CHARTS: Readonly<Record<string, ChartWithValues>> = {
  'argocd-config': { chart: argocdConfigChart, values: argocdConfigValues },
  gateway: { chart: gatewayChart, values: gatewayValues },
  'istio-control-plane': { chart: istioControlPlaneChart, values: istioControlPlaneValues },
  monitoring: { chart: monitoringChart, values: monitoringValues },
  pki: { chart: pkiChart, values: pkiValues },
};

export function platformDirectory(environment: string): string {
  return `apps/${environment}/platform`;
}

/** The Applications, the platform AppProject and the chart values of one environment. */
export function renderPlatformEnvironment(settings: PlatformSettings): OutputFile[] {
  const environment = settings.environment;
  const components = platformComponents(settings);
  const files: OutputFile[] = [
    objectFile(
      `apps/${environment}/projects/platform.yaml`,
      environment,
      renderPlatformProject(components, settings),
    ),
    objectFile(
      `apps/${environment}/projects/argocd-config.yaml`,
      environment,
      renderArgocdConfigProject(settings),
    ),
  ];
  for (const component of components) {
    files.push(
      objectFile(
        `${platformDirectory(environment)}/${component.name}.yaml`,
        environment,
        renderPlatformApplication(component, settings),
      ),
    );
    if (component.source.type === 'local') {
      const entry = PLATFORM_CHARTS[component.source.chart];
      if (entry === undefined) throw new Error(`no platform chart named ${component.source.chart}`);
      files.push(renderEnvironmentValues(entry.chart, environment, entry.values(settings)));
    }
  }
  return files;
}

/** Chart files shared by all environments (every platform chart is written, used or not). */
export function renderPlatformCharts(): OutputFile[] {
  return Object.values(PLATFORM_CHARTS).flatMap((entry) => renderChartFiles(entry.chart));
}

export function settingsOf(env: NormalizedEnvironment): PlatformSettings {
  return platformSettings(
    env.name,
    env.platform.profile,
    env.models.map((model) => model.namespace),
  );
}

/** Repository renderer: the platform charts once, then every environment's Applications and values. */
export function renderPlatform(envs: readonly NormalizedEnvironment[]): OutputFile[] {
  return [...renderPlatformCharts(), ...envs.flatMap((env) => renderPlatformEnvironment(settingsOf(env)))];
}
