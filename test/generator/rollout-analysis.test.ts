// The canary analysis, run for real: prod llama-8b's generated AnalysisTemplate, its queries sent with the
// Rollout's step arguments to a real Prometheus that scrapes the real router (HTTP face) and a simulated vLLM
// on loopback, its conditions evaluated with Argo Rollouts' rules. A healthy canary passes every metric, a slow
// and failing one fails every metric, and a canary that served nothing is Inconclusive: no data never passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRouterArgs } from '../../scheduler/service/flags.ts';
import { jsonLogger } from '../../scheduler/service/log.ts';
import { startRouter, type RunningRouter } from '../../scheduler/service/router-app.ts';
import { startSimServer, type SimFaults, type SimServer } from '../../scheduler/sim/server.ts';
import { measurementPhase, type MeasurementPhase } from './analysis/argo-condition.ts';
import { startPrometheus, type PrometheusServer } from './analysis/prometheus.ts';
import { repoRoot } from './helpers.ts';
import {
  generatedArgoObjects,
  isApplication,
  renderRepositoryChart,
  type ApplicationObject,
  type KubeObject,
} from './platform/platform-helpers.ts';
import { LOOPBACK_FLAGS } from '../scheduler/service/router-process.ts';

interface AnalysisMetric {
  name: string;
  successCondition: string;
  failureCondition: string;
  provider: { prometheus: { address: string; query: string } };
}
interface AnalysisArg {
  name: string;
  value: string;
}

const application = generatedArgoObjects(repoRoot, 'prod')
  .filter(isApplication)
  .find((app) => app.metadata.name === 'prod-llama-8b') as ApplicationObject;
const objects = renderRepositoryChart(repoRoot, application);
const template = objects.find((o) => o.kind === 'AnalysisTemplate') as KubeObject & {
  spec: { args: { name: string }[]; metrics: AnalysisMetric[] };
};
const rollout = objects.find((o) => o.kind === 'Rollout') as KubeObject & {
  spec: {
    template: { spec: { containers: { name: string; args?: string[] }[] } };
    strategy: { canary: { steps: { analysis?: { templates: unknown[]; args: AnalysisArg[] } }[] } };
  };
};
const stepArgs = rollout.spec.strategy.canary.steps.find((step) => step.analysis !== undefined)?.analysis
  ?.args as AnalysisArg[];
const vllmArgs = rollout.spec.template.spec.containers.find((c) => c.name === 'vllm')?.args ?? [];
const servedName = vllmArgs[vllmArgs.indexOf('--served-model-name') + 1] ?? '';
const argument = (name: string): string => stepArgs.find((arg) => arg.name === name)?.value ?? '';

/** Argo Rollouts resolves `{{args.NAME}}` in the query with the step's arguments. */
function resolveQuery(query: string, args: Readonly<Record<string, string>>): string {
  return query.replace(/\{\{args\.([a-zA-Z0-9_-]+)\}\}/g, (_, name: string) => {
    const value = args[name];
    if (value === undefined) throw new Error(`query uses undeclared argument ${name}`);
    return value;
  });
}

interface Canary {
  readonly namespace: string;
  readonly sim: SimServer;
  readonly router: RunningRouter;
}

async function startCanary(namespace: string, faults?: SimFaults): Promise<Canary> {
  const sim = await startSimServer({
    host: '127.0.0.1',
    port: 0,
    model: 'meta-llama/Llama-3.1-8B-Instruct',
    profile: 'qwen2.5-0.5b-l4',
    servedModelNames: [servedName],
    seed: 7,
    ...(faults !== undefined ? { faults } : {}),
  });
  const options = parseRouterArgs(
    [
      'node',
      'router',
      ...LOOPBACK_FLAGS,
      '--secure-serving=false',
      '--static-endpoints',
      `127.0.0.1:${sim.port}`,
      '--policy',
      'least-request',
    ],
    {},
  );
  const router = await startRouter(
    options,
    jsonLogger(() => undefined),
  );
  return { namespace, sim, router };
}

/**
 * Streaming chat requests with distinct prompts of about 200 words, a few at a time, for `seconds`: long
 * enough that Prometheus scrapes the series several times while they grow (rate() needs an increase between
 * two samples, and a series first appears with its first observation).
 */
async function sendTraffic(canary: Canary, seconds: number, concurrency: number): Promise<number[]> {
  const statuses: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  let next = 0;
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const index = next++;
      const prompt = Array.from(
        { length: 200 },
        (_, i) => `${words[(i * 7 + index) % words.length]}${index}`,
      ).join(' ');
      const response = await fetch(`http://127.0.0.1:${canary.router.ports.http}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: servedName,
          stream: true,
          max_tokens: 4,
          messages: [{ role: 'user', content: prompt }],
        }),
      });
      await response.text();
      statuses.push(response.status);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return statuses;
}

const canaries: Canary[] = [];
let prometheus: PrometheusServer | undefined;
const phases = new Map<string, Record<string, MeasurementPhase>>();
/** What each query returned, shown when a verdict is not the expected one. */
const results = new Map<string, Record<string, number[]>>();
const statuses = new Map<string, number[]>();

async function measure(namespace: string): Promise<Record<string, MeasurementPhase>> {
  const args = { namespace, pool: argument('pool'), track: argument('track') };
  const verdicts: Record<string, MeasurementPhase> = {};
  const values: Record<string, number[]> = {};
  for (const metric of template.spec.metrics) {
    const query = resolveQuery(metric.provider.prometheus.query, args);
    const result = await (prometheus as PrometheusServer).query(query);
    values[metric.name] = result;
    verdicts[metric.name] = measurementPhase(metric, result);
  }
  results.set(namespace, values);
  return verdicts;
}

beforeAll(async () => {
  canaries.push(
    await startCanary('good'),
    // A regression: every engine step 30 times slower, and one request in four failing at once.
    await startCanary('bad', { slowdown: 30, errorRate: 0.25 }),
    await startCanary('idle'),
  );
  prometheus = await startPrometheus(
    canaries.flatMap((canary) => [
      // The ServiceMonitor's relabeling adds pool; Prometheus's Kubernetes discovery adds namespace.
      {
        job: 'router',
        address: `127.0.0.1:${canary.router.ports.metrics}`,
        labels: { namespace: canary.namespace, pool: argument('pool') },
      },
      // The PodMonitor's relabeling copies the Rollout's track label.
      {
        job: 'vllm',
        address: `127.0.0.1:${canary.sim.port}`,
        labels: { namespace: canary.namespace, track: argument('track') },
      },
    ]),
  );
  await prometheus.waitForScrapes(2);
  const [good, bad] = canaries as [Canary, Canary, Canary];
  const [goodStatuses, badStatuses] = await Promise.all([sendTraffic(good, 5, 2), sendTraffic(bad, 5, 4)]);
  statuses.set('good', goodStatuses);
  statuses.set('bad', badStatuses);
  await new Promise((resolve) => setTimeout(resolve, 2500));
  for (const canary of canaries) phases.set(canary.namespace, await measure(canary.namespace));
}, 120_000);

afterAll(async () => {
  await prometheus?.close();
  for (const canary of canaries) {
    await canary.router.shutdown(100);
    await canary.sim.close();
  }
});

describe('the canary analysis against Prometheus scraping the router and vLLM', () => {
  it('runs the step arguments the Rollout passes, and every argument the template declares', () => {
    expect(stepArgs.map((arg) => arg.name).sort()).toEqual(template.spec.args.map((arg) => arg.name).sort());
    expect(argument('pool')).toBe('llama-8b-canary');
    expect(argument('track')).toBe('canary');
    expect(servedName).not.toBe('');
  });

  it('passes a healthy canary on every metric', () => {
    expect(statuses.get('good')?.every((status) => status === 200)).toBe(true);
    expect(phases.get('good'), JSON.stringify(results.get('good'))).toEqual({
      'ttft-p95': 'Successful',
      'inter-token-latency-p95': 'Successful',
      'error-ratio': 'Successful',
    });
  });

  it('fails a slow canary that answers some requests with errors, on every metric', () => {
    expect(statuses.get('bad')?.some((status) => status >= 500)).toBe(true);
    expect(phases.get('bad'), JSON.stringify(results.get('bad'))).toEqual({
      'ttft-p95': 'Failed',
      'inter-token-latency-p95': 'Failed',
      'error-ratio': 'Failed',
    });
  });

  it('is Inconclusive for a canary that served nothing', () => {
    expect(phases.get('idle'), JSON.stringify(results.get('idle'))).toEqual({
      'ttft-p95': 'Inconclusive',
      'inter-token-latency-p95': 'Inconclusive',
      'error-ratio': 'Inconclusive',
    });
  });
});
