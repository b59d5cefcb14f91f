// A model's canary, rendered by real helm from prod's generated Application: the Rollout, its Services and
// pools agree; Argo Rollouts' Gateway API plugin, applied as documented, splits the traffic as each step says
// while pinned requests keep their pool; Argo CD ignores exactly what the plugin writes; the Lua health check
// reads a paused or failed Rollout correctly.
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers.ts';
import {
  generatedArgoObjects,
  isApplication,
  renderRepositoryChart,
  type ApplicationObject,
  type KubeObject,
} from './platform/platform-helpers.ts';
import { runHealthCheck } from './platform/lua-vm.ts';
import { split, type HttpRoute } from './gateway-routing.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const application = generatedArgoObjects(repoRoot, 'prod')
  .filter(isApplication)
  .find((app) => app.metadata.name === 'prod-llama-8b') as ApplicationObject;
const objects = renderRepositoryChart(repoRoot, application);
const named = (kind: string, name: string): KubeObject | undefined =>
  objects.find((o) => o.kind === kind && o.metadata.name === name);
const rollout = named('Rollout', 'llama-8b-vllm') as KubeObject & {
  spec: {
    replicas: number;
    template: {
      metadata: { labels: Record<string, string> };
      spec: { containers: { resources: { limits: Record<string, string> } }[] };
    };
    strategy: {
      canary: {
        stableService: string;
        canaryService: string;
        stableMetadata: { labels: Record<string, string> };
        canaryMetadata: { labels: Record<string, string> };
        trafficRouting: { plugins: Record<string, { httpRoute: string; namespace: string }> };
        steps: Record<string, unknown>[];
      };
    };
  };
};
const canary = rollout.spec.strategy.canary;

/**
 * Argo Rollouts' Gateway API plugin (rollouts-plugin-trafficrouter-gatewayapi, pkg/plugin/httproute.go,
 * setHTTPRouteWeight): in every rule of the managed route, the backendRef named like the canary Service gets
 * the desired weight and the one named like the stable Service the rest; either missing is an error.
 */
function setHTTPRouteWeight(route: HttpRoute, desired: number): HttpRoute {
  const edited = structuredClone(route);
  let canaryFound = false;
  let stableFound = false;
  for (const rule of edited.spec.rules) {
    for (const ref of rule.backendRefs) {
      if (ref.name === canary.canaryService) {
        ref.weight = desired;
        canaryFound = true;
      }
      if (ref.name === canary.stableService) {
        ref.weight = 100 - desired;
        stableFound = true;
      }
    }
  }
  if (!canaryFound || !stableFound) throw new Error('canary or stable backendRef not found');
  return {
    ...edited,
    metadata: {
      ...edited.metadata,
      labels: {
        ...edited.metadata.labels,
        ...(desired > 0 ? { 'rollouts.argoproj.io/gatewayapi-canary': 'in-progress' } : {}),
      },
    },
  };
}

describe('a canary model renders one workload, two tracks and their pools', () => {
  it('serves from a Rollout with its own pod template instead of a Deployment', () => {
    expect(objects.some((o) => o.kind === 'Deployment' && o.metadata.name === 'llama-8b-vllm')).toBe(false);
    expect(rollout.spec.replicas).toBe(2);
    expect(rollout.spec.template.spec.containers[0]?.resources.limits['nvidia.com/gpu']).toBe('2');
    expect(canary.steps[0]).toEqual({ setCanaryScale: { replicas: 1 } });
    expect(canary.steps.filter((step) => 'setWeight' in step).map((step) => step.setWeight)).toEqual([
      10, 50,
    ]);
  });

  it('has a Service and an InferencePool of the same name per track, each selecting only that track', () => {
    for (const [service, metadata] of [
      [canary.stableService, canary.stableMetadata],
      [canary.canaryService, canary.canaryMetadata],
    ] as const) {
      expect(named('Service', service)).toBeDefined();
      const pool = named('InferencePool', service) as KubeObject & {
        spec: {
          selector: { matchLabels: Record<string, string> };
          endpointPickerRef: { port: { number: number } };
        };
      };
      const podLabels = { ...rollout.spec.template.metadata.labels, ...metadata.labels };
      for (const [key, value] of Object.entries(pool.spec.selector.matchLabels)) {
        expect(podLabels[key], `${service} selects ${key}`).toBe(value);
      }
      expect(pool.spec.selector.matchLabels['switchyard.dev/track']).toBe(
        metadata.labels['switchyard.dev/track'],
      );
      // The pool's endpoint picker port is the port of the router container that serves exactly this pool.
      const router = named('Deployment', 'llama-8b-router') as KubeObject & {
        spec: { template: { spec: { containers: { args: string[] }[] } } };
      };
      const picker = router.spec.template.spec.containers.find(
        (container) => container.args[container.args.indexOf('--pool-name') + 1] === service,
      );
      expect(picker?.args[picker.args.indexOf('--grpc-port') + 1]).toBe(
        String(pool.spec.endpointPickerRef.port.number),
      );
    }
  });

  it('runs the analysis steps against an AnalysisTemplate that declares every argument they pass', () => {
    const template = named('AnalysisTemplate', 'llama-8b-slo') as KubeObject & {
      spec: {
        args: { name: string }[];
        metrics: { name: string; successCondition: string; provider: { prometheus: { query: string } } }[];
      };
    };
    const declared = template.spec.args.map((arg) => arg.name).sort();
    const analysisSteps = canary.steps.filter((step) => 'analysis' in step) as {
      analysis: { templates: { templateName: string }[]; args: { name: string; value: string }[] };
    }[];
    expect(analysisSteps).toHaveLength(2);
    for (const step of analysisSteps) {
      expect(step.analysis.templates).toEqual([{ templateName: 'llama-8b-slo' }]);
      expect(step.analysis.args.map((arg) => arg.name).sort()).toEqual(declared);
      expect(step.analysis.args.find((arg) => arg.name === 'pool')?.value).toBe(canary.canaryService);
    }
    expect(template.spec.metrics.map((metric) => metric.successCondition)).toEqual([
      'len(result) > 0 && !isNaN(result[0]) && result[0] <= 1.5',
      'len(result) > 0 && !isNaN(result[0]) && result[0] <= 0.08',
      'len(result) > 0 && !isNaN(result[0]) && result[0] <= 0.01',
    ]);
  });

  it('queries only series that the router and a simulated vLLM (on loopback) expose', async () => {
    const { RouterMetrics } = await import('../../scheduler/telemetry/metrics.ts');
    const { startSimServer } = await import('../../scheduler/sim/server.ts');
    const exposition = [await new RouterMetrics({ poolName: 'llama-8b-canary' }).registry.metrics()];
    const sim = await startSimServer({
      model: 'meta-llama/Llama-3.1-8B-Instruct',
      profile: 'qwen2.5-0.5b-l4',
      seed: 1,
    });
    try {
      exposition.push(await (await fetch(`${sim.url}/metrics`)).text());
    } finally {
      await sim.close();
    }
    const exposed = new Set(
      exposition.flatMap((text) => [...text.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1] ?? '')),
    );
    const template = named('AnalysisTemplate', 'llama-8b-slo') as KubeObject & {
      spec: { metrics: { provider: { prometheus: { query: string } } }[] };
    };
    for (const metric of template.spec.metrics) {
      const series = [...metric.provider.prometheus.query.matchAll(/([a-z_:]+)\{/g)].map((match) =>
        (match[1] ?? '').replace(/_bucket$/, ''),
      );
      expect(series.length).toBeGreaterThan(0);
      for (const name of series) expect(exposed, name).toContain(name);
    }
  });
});

describe("the Rollouts plugin's weight edits", () => {
  const route = named('HTTPRoute', 'llama-8b') as HttpRoute;
  const pinned = named('HTTPRoute', 'llama-8b-pinned') as HttpRoute;

  it('manage the route the Rollout names, and git keeps stable 100 / canary 0', () => {
    expect(canary.trafficRouting.plugins['argoproj-labs/gatewayAPI']).toEqual({
      httpRoute: 'llama-8b',
      namespace: 'llm',
    });
    expect(split([route, pinned], '/llm/llama-8b/v1/chat/completions', {})).toEqual({
      [canary.stableService]: 1,
      [canary.canaryService]: 0,
    });
  });

  it.each([0, 10, 50, 100])(
    'at weight %i split unpinned traffic accordingly and leave pinned traffic alone',
    (weight) => {
      const edited = setHTTPRouteWeight(route, weight);
      // The model's own path, and the shared endpoint's (the header the body-based router sets).
      const shared = { 'x-gateway-model-name': 'meta-llama/Llama-3.1-8B-Instruct' };
      for (const [path, headers] of [
        ['/llm/llama-8b/v1/chat/completions', {}],
        ['/v1/chat/completions', shared],
      ] as const) {
        expect(split([edited, pinned], path, headers)).toEqual({
          [canary.stableService]: (100 - weight) / 100,
          [canary.canaryService]: weight / 100,
        });
        expect(split([edited, pinned], path, { ...headers, 'x-model-version': 'canary' })).toEqual({
          [canary.canaryService]: 1,
        });
        expect(split([edited, pinned], path, { ...headers, 'x-model-version': 'stable' })).toEqual({
          [canary.stableService]: 1,
        });
      }
      expect(split([edited, pinned], '/v1/chat/completions', {})).toEqual({});
      // The plugin edits only the route it was given; the pinned route is what git says.
      expect(pinned.spec.rules.every((rule) => rule.backendRefs.length === 1)).toBe(true);
    },
  );

  it("are what the model's Application tells Argo CD to ignore, and it applies around them", () => {
    const spec = application.spec as ApplicationObject['spec'] & {
      ignoreDifferences?: { kind: string; name: string; jqPathExpressions: string[] }[];
    };
    expect(spec.syncPolicy?.syncOptions).toContain('RespectIgnoreDifferences=true');
    const ignored = spec.ignoreDifferences?.find((entry) => entry.kind === 'HTTPRoute');
    expect(ignored?.name).toBe('llama-8b');
    expect(ignored?.jqPathExpressions).toEqual([
      '.spec.rules[].backendRefs[]?.weight',
      '.metadata.labels["rollouts.argoproj.io/gatewayapi-canary"]',
    ]);
    // Removing the ignored paths leaves the live (plugin-edited) route equal to git's: self-heal has nothing to do.
    const withoutIgnored = (r: HttpRoute): unknown => {
      const copy = structuredClone(r);
      for (const rule of copy.spec.rules) for (const ref of rule.backendRefs) delete ref.weight;
      const labels = { ...copy.metadata.labels };
      delete labels['rollouts.argoproj.io/gatewayapi-canary'];
      return { ...copy, metadata: { ...copy.metadata, labels } };
    };
    expect(isDeepStrictEqual(withoutIgnored(setHTTPRouteWeight(route, 50)), withoutIgnored(route))).toBe(
      true,
    );
  });
});

describe('Rollout health', () => {
  const lua = readFileSync(
    join(repoRoot, 'charts/platform/argocd-config/files/health/argoproj.io_Rollout.lua'),
    'utf8',
  );
  const object = (status: unknown, extra: Record<string, unknown> = {}) => ({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'llama-8b-vllm', namespace: 'llm', generation: 4 },
    spec: { replicas: 2, ...extra },
    ...(status === undefined ? {} : { status }),
  });
  const progressing = (reason: string, status = 'True') => ({
    type: 'Progressing',
    status,
    reason,
    message: `Progressing: ${reason}`,
  });

  it('is Progressing until the controller has seen the spec, then Healthy when the update is done', () => {
    expect(runHealthCheck(lua, object(undefined)).status).toBe('Progressing');
    expect(runHealthCheck(lua, object({ observedGeneration: '3', phase: 'Healthy' })).status).toBe(
      'Progressing',
    );
    expect(
      runHealthCheck(
        lua,
        object({
          observedGeneration: '4',
          phase: 'Progressing',
          message: 'more replicas need to be updated',
        }),
      ),
    ).toEqual({ status: 'Progressing', message: 'more replicas need to be updated' });
    expect(
      runHealthCheck(
        lua,
        object({
          observedGeneration: '4',
          phase: 'Healthy',
          conditions: [progressing('NewReplicaSetAvailable')],
        }),
      ).status,
    ).toBe('Healthy');
  });

  it('is Suspended at a pause step, on an inconclusive analysis and when paused by hand', () => {
    expect(
      runHealthCheck(
        lua,
        object({
          observedGeneration: '4',
          phase: 'Paused',
          pauseConditions: [{ reason: 'CanaryPauseStep', startTime: '2026-12-01T00:00:00Z' }],
        }),
      ),
    ).toEqual({ status: 'Suspended', message: 'Paused: CanaryPauseStep' });
    expect(
      runHealthCheck(
        lua,
        object({
          observedGeneration: '4',
          phase: 'Paused',
          pauseConditions: [{ reason: 'InconclusiveAnalysisRun', startTime: '2026-12-01T00:00:00Z' }],
        }),
      ).message,
    ).toBe('Paused: InconclusiveAnalysisRun');
    expect(
      runHealthCheck(lua, object({ observedGeneration: '4', phase: 'Healthy' }, { paused: true })).status,
    ).toBe('Suspended');
  });

  it('is Degraded after an abort (a failed analysis) and after a missed progress deadline', () => {
    const aborted = runHealthCheck(
      lua,
      object({
        observedGeneration: '4',
        abort: true,
        phase: 'Degraded',
        message: 'RolloutAborted: Rollout aborted update to revision 5: Metric "ttft-p95" assessed Failed',
      }),
    );
    expect(aborted.status).toBe('Degraded');
    expect(aborted.message).toContain('ttft-p95');
    expect(
      runHealthCheck(
        lua,
        object({
          observedGeneration: '4',
          phase: 'Progressing',
          conditions: [progressing('ProgressDeadlineExceeded', 'False')],
        }),
      ).status,
    ).toBe('Degraded');
  });
});
