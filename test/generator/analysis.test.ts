// The generated analyses, run for real: prod llama-8b's canary AnalysisTemplate (its queries resolved with the
// Rollout's step arguments) and prod llama-70b's version-split gate (a PostSync AnalysisRun), their queries sent
// to a real Prometheus that scrapes real routers (HTTP face) and simulated vLLM replicas on loopback, their
// conditions evaluated with Argo Rollouts' rules. A healthy version passes every metric, a slow and failing one
// fails every metric, and one that served nothing is Inconclusive: no data never passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRouter } from '../../scheduler/service/router-app.ts';
import { startSimServer, type SimFaults, type SimServer } from '../../scheduler/sim/server.ts';
import { measurementPhase, type MeasurementPhase } from './analysis/argo-condition.ts';
import { startPrometheus, type PrometheusServer } from './analysis/prometheus.ts';
import { repoRoot } from './helpers.ts';
import { renderedApplication, type KubeObject } from './platform/platform-helpers.ts';
import { startLoopbackRouter } from '../scheduler/service/loopback-router.ts';

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

const renderedModel = (name: string): KubeObject[] => renderedApplication(repoRoot, 'prod', `prod-${name}`);
const canaryObjects = renderedModel('llama-8b');
const template = canaryObjects.find((o) => o.kind === 'AnalysisTemplate') as KubeObject & {
  spec: { args: { name: string }[]; metrics: AnalysisMetric[] };
};
const rollout = canaryObjects.find((o) => o.kind === 'Rollout') as KubeObject & {
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

const gate = renderedModel('llama-70b').find((o) => o.kind === 'AnalysisRun') as KubeObject & {
  metadata: { namespace?: string };
  spec: { metrics: AnalysisMetric[] };
};
const gateServedName = 'meta-llama/Llama-3.3-70B-Instruct';

/** Argo Rollouts resolves `{{args.NAME}}` in the query with the step's arguments. */
function resolveQuery(query: string, args: Readonly<Record<string, string>>): string {
  return query.replace(/\{\{args\.([a-zA-Z0-9_-]+)\}\}/g, (_, name: string) => {
    const value = args[name];
    if (value === undefined) throw new Error(`query uses undeclared argument ${name}`);
    return value;
  });
}

/** One measured version: a simulated vLLM replica behind a router, scraped with a version's labels. */
interface Version {
  readonly key: string;
  readonly namespace: string;
  readonly pool: string;
  readonly track: string;
  readonly servedName: string;
  readonly sim: SimServer;
  readonly router: RunningRouter;
}

async function startVersion(labels: Omit<Version, 'sim' | 'router'>, faults?: SimFaults): Promise<Version> {
  const sim = await startSimServer({
    host: '127.0.0.1',
    port: 0,
    model: labels.servedName,
    profile: 'qwen2.5-0.5b-l4',
    servedModelNames: [labels.servedName],
    seed: 7,
    ...(faults !== undefined ? { faults } : {}),
  });
  const router = await startLoopbackRouter(['--static-endpoints', `127.0.0.1:${sim.port}`]);
  return { ...labels, sim, router };
}

/**
 * Streaming chat requests with distinct prompts of about 200 words, a few at a time, for `seconds`: long
 * enough that Prometheus scrapes the series several times while they grow (rate() needs an increase between
 * two samples, and a series first appears with its first observation).
 */
async function sendTraffic(version: Version, seconds: number, concurrency: number): Promise<number[]> {
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
      const response = await fetch(`http://127.0.0.1:${version.router.ports.http}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: version.servedName,
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

const versions: Version[] = [];
let prometheus: PrometheusServer | undefined;
const phases = new Map<string, Record<string, MeasurementPhase>>();
/** What each query returned, shown when a verdict is not the expected one. */
const results = new Map<string, Record<string, number[]>>();
const statuses = new Map<string, number[]>();

async function evaluate(
  key: string,
  metrics: readonly AnalysisMetric[],
  args: Readonly<Record<string, string>>,
) {
  const verdicts: Record<string, MeasurementPhase> = {};
  const values: Record<string, number[]> = {};
  for (const metric of metrics) {
    const result = await (prometheus as PrometheusServer).query(
      resolveQuery(metric.provider.prometheus.query, args),
    );
    values[metric.name] = result;
    verdicts[metric.name] = measurementPhase(metric, result);
  }
  results.set(key, values);
  phases.set(key, verdicts);
}

// A regression: every engine step 30 times slower, and one request in four failing at once.
const regression: SimFaults = { slowdown: 30, errorRate: 0.25 };

beforeAll(async () => {
  const canary = { pool: argument('pool'), track: argument('track'), servedName };
  versions.push(
    await startVersion({ key: 'good', namespace: 'good', ...canary }),
    await startVersion({ key: 'bad', namespace: 'bad', ...canary }, regression),
    await startVersion({ key: 'idle', namespace: 'idle', ...canary }),
    // The split gate's queries name their namespace, pools and tracks: bf16 healthy, fp8 regressed.
    await startVersion({
      key: 'bf16',
      namespace: 'llm',
      pool: 'llama-70b-bf16',
      track: 'bf16',
      servedName: gateServedName,
    }),
    await startVersion(
      { key: 'fp8', namespace: 'llm', pool: 'llama-70b-fp8', track: 'fp8', servedName: gateServedName },
      // llama-70b's limits are looser than llama-8b's (TTFT p95 3 s): a slower regression.
      { ...regression, slowdown: 45 },
    ),
  );
  prometheus = await startPrometheus(
    versions.flatMap((version) => [
      // The ServiceMonitor's relabeling adds pool; Prometheus's Kubernetes discovery adds namespace.
      {
        job: 'router',
        address: `127.0.0.1:${version.router.ports.metrics}`,
        labels: { namespace: version.namespace, pool: version.pool },
      },
      // The PodMonitor's relabeling copies the pod's track label.
      {
        job: 'vllm',
        address: `127.0.0.1:${version.sim.port}`,
        labels: { namespace: version.namespace, track: version.track },
      },
    ]),
  );
  await prometheus.waitForScrapes(2);
  const loaded = versions.filter((version) => version.key !== 'idle');
  const sent = await Promise.all(
    loaded.map((version) =>
      sendTraffic(version, 5, version.key === 'good' || version.key === 'bf16' ? 2 : 4),
    ),
  );
  loaded.forEach((version, index) => statuses.set(version.key, sent[index] ?? []));
  await new Promise((resolve) => setTimeout(resolve, 2500));
  for (const key of ['good', 'bad', 'idle']) {
    await evaluate(key, template.spec.metrics, {
      namespace: key,
      pool: argument('pool'),
      track: argument('track'),
    });
  }
  await evaluate('gate', gate.spec.metrics, {});
}, 120_000);

afterAll(async () => {
  await prometheus?.close();
  for (const version of versions) {
    await version.router.shutdown(100);
    await version.sim.close();
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

describe("the version split's PostSync gate against the same Prometheus", () => {
  it('passes the healthy version and fails the regressed one, so the sync fails', () => {
    expect(statuses.get('fp8')?.some((status) => status >= 500)).toBe(true);
    expect(phases.get('gate'), JSON.stringify(results.get('gate'))).toEqual({
      'bf16-ttft-p95': 'Successful',
      'bf16-inter-token-latency-p95': 'Successful',
      'bf16-error-ratio': 'Successful',
      'fp8-ttft-p95': 'Failed',
      'fp8-inter-token-latency-p95': 'Failed',
      'fp8-error-ratio': 'Failed',
    });
  });
});
