// The per-model chart charts/models/<model>/: one chart per model name covering every environment the
// model exists in; environment-specific settings go to values-<env>.yaml.
import { readdirSync, readFileSync } from 'node:fs';
import Handlebars from 'handlebars';
import { startupProbePeriodSeconds, vllmPort } from '../../normalize/defaults.ts';
import type { NormalizedEnvironment, NormalizedModel } from '../../normalize/types.ts';
import { modelMountPath } from '../../normalize/vllm-args.ts';
import { chartFiles, type ChartMetadata, environmentValuesFile, valuesSchemaText } from '../chart-files.ts';
import type { OutputFile, RepositoryRenderer } from '../types.ts';
import { generatedBanner } from '../yaml.ts';
import { routerTemplateContext } from './router.ts';
import { modelValues, valueComments } from './values.ts';
import { modelValuesSchema } from './values-schema.ts';

export const chartVersion = '0.1.0';
const templatesDir = new URL('./templates/', import.meta.url);

interface ChartTemplate {
  /** Output file name under templates/. */
  readonly output: string;
  readonly render: HandlebarsTemplateDelegate;
  /** Included only when one of the chart's environments needs it. */
  readonly when?: (deployments: readonly ModelDeployment[]) => boolean;
}

interface ModelDeployment {
  readonly env: NormalizedEnvironment;
  readonly model: NormalizedModel;
}

const conditions: Readonly<Record<string, (deployments: readonly ModelDeployment[]) => boolean>> = {
  'inferencemodelrewrites.yaml': (ds) => ds.some((d) => d.model.aliases.length > 0),
  'monitors.yaml': (ds) => ds.some((d) => d.env.platform.monitoring.enabled),
};

let templates: readonly ChartTemplate[] | undefined;
let modelValuesSchemaText: string | undefined;

/** The same for every model chart, so serialized once. */
function valuesSchemaJson(): string {
  modelValuesSchemaText ??= valuesSchemaText(modelValuesSchema());
  return modelValuesSchemaText;
}

/** Chart templates are Handlebars files in which every Helm action is escaped as `\{{ … }}`. */
export function chartTemplates(): readonly ChartTemplate[] {
  templates ??= readdirSync(templatesDir)
    .filter((file) => file.endsWith('.hbs'))
    .sort()
    .map((file) => {
      const output = file.slice(0, -'.hbs'.length);
      const source = readFileSync(new URL(file, templatesDir), 'utf8');
      const when = conditions[output];
      return {
        output,
        render: Handlebars.compile(source, { noEscape: true, strict: true }),
        ...(when === undefined ? {} : { when }),
      };
    });
  return templates;
}

export const renderModelCharts: RepositoryRenderer = (envs) => {
  const byModel = new Map<string, ModelDeployment[]>();
  for (const env of envs) {
    for (const model of env.models) {
      const list = byModel.get(model.name) ?? [];
      list.push({ env, model });
      byModel.set(model.name, list);
    }
  }
  return [...byModel.keys()].sort().flatMap((name) => renderModelChart(name, byModel.get(name) ?? []));
};

function renderModelChart(name: string, deployments: readonly ModelDeployment[]): OutputFile[] {
  const dir = `charts/models/${name}`;
  const first = deployments[0];
  if (first === undefined) {
    return [];
  }
  const sourceKinds = new Set(deployments.map((d) => d.model.source.kind));
  const context = {
    banner: generatedBanner,
    name,
    names: first.model.names,
    router: routerTemplateContext,
    vllmPort,
    startupProbePeriodSeconds,
    modelMountPath,
    sources: {
      pvc: sourceKinds.has('pvc'),
      oci: sourceKinds.has('oci'),
      external: sourceKinds.has('pvc') || sourceKinds.has('oci'),
    },
  };
  const rendered: Record<string, string> = {};
  for (const template of chartTemplates()) {
    if (template.when === undefined || template.when(deployments)) {
      rendered[template.output] = template.render(context);
    }
  }
  return [
    ...chartFiles({
      dir,
      metadata: chartMetadata(name, first.model),
      defaultValues: modelValues(first.env, first.model),
      valueComments,
      valuesHeader: [
        `Documented defaults of this chart (the settings of environment "${first.env.name}").`,
        'Argo CD renders the chart with values-<env>.yaml, which sets every key below.',
      ],
      valuesSchemaText: valuesSchemaJson(),
      readme: chartReadme(name, deployments),
      templates: rendered,
    }),
    ...deployments.map(({ env, model }) => environmentValuesFile(dir, env.name, modelValues(env, model))),
  ];
}

function chartMetadata(name: string, model: NormalizedModel): ChartMetadata {
  return {
    name,
    description: `Serves ${model.servedName} with vLLM behind a Switchyard router and the shared inference gateway.`,
    version: chartVersion,
    appVersion: chartVersion,
  };
}

function chartReadme(name: string, deployments: readonly ModelDeployment[]): string {
  const rows = deployments.map(
    ({ env, model }) =>
      `| ${env.name} | \`${model.namespace}\` | \`${model.uri}\` | ${model.replicas} | ${model.gpusPerPod} × ${model.accelerator.type} | \`/${model.namespace}/${name}/\` |`,
  );
  const first = deployments[0]?.model;
  return [
    `# ${name}`,
    '',
    `Serves \`${first?.servedName ?? name}\` with vLLM, routed by the Switchyard router (endpoint picker) through an`,
    'InferencePool on the shared inference gateway.',
    '',
    '| environment | namespace | model | replicas | GPUs per pod | path on the gateway |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    '## Objects',
    '',
    `- Deployment and Service \`${first?.names.vllm ?? ''}\`: vLLM (\`/health\` probes, /dev/shm, model cache at /models).`,
    `- InferencePool \`${first?.names.pool ?? ''}\` selecting the vLLM pods, endpoint picker \`${first?.names.router ?? ''}\` on port 9002.`,
    `- Router \`${first?.names.router ?? ''}\`: Deployment, Service (9002 ext_proc over TLS, 9003 health, 9090 metrics), ServiceAccount, Role, RoleBinding, ConfigMap (scoring profile), PodDisruptionBudget.`,
    `- Certificate \`${first?.names.routerTls ?? ''}\`: the router's TLS pair from the platform CA ClusterIssuer, mounted at \`${routerTemplateContext.certDir}\` (\`--cert-path\`); DestinationRule \`${first?.names.router ?? ''}\`: the gateway speaks TLS to it.`,
    `- HTTPRoute \`${first?.names.route ?? ''}\`: \`/<namespace>/${name}/\` rewritten to \`/\`, backend the InferencePool.`,
    '- InferenceObjectives (one per objective), InferenceModelRewrite for aliases, PodMonitor/ServiceMonitor, NetworkPolicies.',
    '',
    '## Values',
    '',
    'Argo CD renders this chart with `values-<env>.yaml` (see `apps/<env>/models/' + name + '.yaml`).',
    '`values.yaml` documents every key; `values.schema.json` makes Helm reject bad values.',
    '',
    '```sh',
    `helm template ${name} charts/models/${name} -n <namespace> -f charts/models/${name}/values-<env>.yaml`,
    '```',
    '',
  ].join('\n');
}
