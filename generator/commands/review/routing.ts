// Routing-impact preview: when a change touches a model's router configuration (its profile), replicas,
// accelerator or parallelism, replay one standard workload through the router core and simulated vLLM
// replicas in virtual time, with the configuration and replica count rendered before and after.
import { parse } from 'yaml';
import { buildRuns, contentSource } from '../../../scheduler/bench/requests.ts';
import { runConfig } from '../../../scheduler/bench/run-policy.ts';
import type { Workload } from '../../../scheduler/bench/workload.ts';
import { parseSchedulerConfig } from '../../../scheduler/core/config.ts';
import { getEngineProfile } from '../../../scheduler/sim/profiles.ts';
import { isJsonObject, type JsonObject } from '../../verify/openapi-schema.ts';
import type { KeyedObject } from './objects.ts';
import type { RoutingFigures, RoutingImpact } from './report.ts';

/** The standard workload: llm-d's shared-prefix shape, small enough to replay in a few seconds. */
export const previewWorkload: Workload = {
  name: 'review-shared-prefix',
  description:
    "llm-d's shared-prefix shape at review scale: 24 groups × 5 prompts, 2000-token system prompt, 200-token question, 200 output tokens, Poisson 4 req/s, 10 s warm-up then 20 s measured, on the qwen2.5-0.5b-l4 engine profile",
  profile: 'qwen2.5-0.5b-l4',
  replicas: 1,
  seed: 42,
  slo: { ttftP90Seconds: 2 },
  arrival: { type: 'poisson', rates: [4], warmupSeconds: 10, durationSeconds: 20 },
  requests: {
    type: 'shared-prefix',
    groups: 24,
    promptsPerGroup: 5,
    systemPromptTokens: 2000,
    questionTokens: 200,
    outputTokens: 200,
  },
};

/** What of one model's rendered objects the routing depends on. */
interface RoutingInputs {
  replicas: number;
  config: string;
  /** Accelerator and parallelism: node selector, GPU resources and vLLM arguments of the vLLM container. */
  placement: string;
}

function component(object: JsonObject): string | undefined {
  const metadata = isJsonObject(object.metadata) ? object.metadata : {};
  const labels = isJsonObject(metadata.labels) ? metadata.labels : {};
  const value = labels['app.kubernetes.io/component'];
  return typeof value === 'string' ? value : undefined;
}

function routingInputs(objects: readonly KeyedObject[]): RoutingInputs | undefined {
  const vllm = objects.find((entry) => entry.kind === 'Deployment' && component(entry.object) === 'vllm');
  const router = objects.find((entry) => entry.kind === 'ConfigMap' && component(entry.object) === 'router');
  const data = router !== undefined && isJsonObject(router.object.data) ? router.object.data : {};
  const config = data['config.yaml'];
  if (vllm === undefined || typeof config !== 'string') {
    return undefined;
  }
  const spec = isJsonObject(vllm.object.spec) ? vllm.object.spec : {};
  const template = isJsonObject(spec.template) && isJsonObject(spec.template.spec) ? spec.template.spec : {};
  const containers = Array.isArray(template.containers) ? (template.containers as unknown[]) : [];
  const placement = JSON.stringify([
    template.nodeSelector ?? null,
    containers.map((container) =>
      isJsonObject(container) ? [container.args ?? null, container.resources ?? null] : null,
    ),
  ]);
  return { replicas: typeof spec.replicas === 'number' ? spec.replicas : 1, config, placement };
}

function simulate(inputs: RoutingInputs, application: string): RoutingFigures | null {
  try {
    const profile = getEngineProfile(previewWorkload.profile);
    const workload: Workload = { ...previewWorkload, replicas: inputs.replicas };
    const source = contentSource(workload, '', profile.blockSize, profile.maxModelLen);
    const run = buildRuns(workload, source, profile.model)[0];
    if (run === undefined) return null;
    const config = parseSchedulerConfig(JSON.stringify(parse(inputs.config)), `${application} router config`);
    // The router as the chart deploys it, flow control included: the same run as a benchmark policy.
    const { summary } = runConfig('review', config, run, workload, profile);
    const round = (value: number, digits: number): number => Number(value.toFixed(digits));
    return {
      ttftP90Ms: round(summary.ttft.p90 * 1000, 1),
      outputTokensPerSecond: round(summary.outputTokensPerSecond, 1),
      prefixHitRate: round(summary.prefixHitRate, 4),
    };
  } catch {
    return null;
  }
}

/** The preview of one Application, when its routing inputs differ between the two revisions. */
export function routingImpact(
  environment: string,
  application: string,
  before: readonly KeyedObject[],
  after: readonly KeyedObject[],
): RoutingImpact | undefined {
  const old = routingInputs(before);
  const now = routingInputs(after);
  if (old === undefined && now === undefined) {
    return undefined;
  }
  const reasons: string[] = [];
  if (old?.config !== now?.config) reasons.push('router configuration');
  if (old?.replicas !== now?.replicas) reasons.push('replicas');
  if (old?.placement !== now?.placement) reasons.push('accelerator or parallelism');
  if (reasons.length === 0) {
    return undefined;
  }
  const model = application.startsWith(`${environment}-`)
    ? application.slice(environment.length + 1)
    : application;
  return {
    environment,
    model,
    workload: previewWorkload.name,
    reasons,
    before: old === undefined ? null : simulate(old, application),
    after: now === undefined ? null : simulate(now, application),
  };
}
