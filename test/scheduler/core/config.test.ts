/* eslint-disable @typescript-eslint/no-non-null-assertion -- fixtures index arrays whose length the test fixes */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  createScheduler,
  parseSchedulerConfig,
  schedulerConfigDocument,
  PluginConfigError,
  PLUGIN_TYPES,
  POLICY_NAMES,
  policyPresets,
} from '../../../scheduler/core/index.ts';
import routerConfigSchema from '../../../schemas/router-config.schema.json' with { type: 'json' };
import { configProblems, fakeDeps } from './helpers.ts';

const llmdDefault = `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
- type: kv-cache-utilization-scorer
- type: prefix-cache-scorer
- type: metrics-data-source
  parameters:
    scheme: http
    path: /metrics
- type: core-metrics-extractor
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
    weight: 2
  - pluginRef: kv-cache-utilization-scorer
    weight: 2
  - pluginRef: prefix-cache-scorer
    weight: 3
`;

const problemsOf = (text: string): string[] => configProblems(text, 'router.yaml');

describe('parseSchedulerConfig', () => {
  it("reads llm-d's default EndpointPickerConfig and fills names and weights", () => {
    const config = parseSchedulerConfig(llmdDefault, 'router.yaml');
    expect(config.plugins.map((p) => p.name)).toEqual([
      'queue-scorer',
      'kv-cache-utilization-scorer',
      'prefix-cache-scorer',
      'metrics-data-source',
      'core-metrics-extractor',
    ]);
    expect(config.schedulingProfiles[0]!.plugins.map((p) => p.weight)).toEqual([2, 2, 3]);
    expect(config.flowControl).toBeUndefined();
    expect(createScheduler(config, fakeDeps()).pick).toBeTypeOf('function');
  });

  it('accepts the older API group, named plugins, durations and a flowControl section', () => {
    const config = parseSchedulerConfig(
      `apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
plugins:
- {type: session-affinity-scorer, name: sticky, parameters: {ttlMs: 2m}}
- {type: utilization-detector, parameters: {metricsStalenessThreshold: 500ms, queueDepthThreshold: 8}}
schedulingProfiles:
- name: only
  plugins: [{pluginRef: sticky}]
flowControl: {maxQueuedRequests: 10, requestTtl: 30s, fairness: global-strict}
`,
      'router.yaml',
    );
    expect(config.plugins[0]).toEqual({
      type: 'session-affinity-scorer',
      name: 'sticky',
      parameters: { ttlMs: '2m' },
    });
    expect(config.flowControl).toEqual({
      maxQueuedRequests: 10,
      requestTtlMs: 30_000,
      fairness: 'global-strict',
      ordering: { type: 'fcfs' },
      dispatch: { type: 'pool-saturation' },
    });
  });

  it('reads a prefill-deadline ordering with its defaults, and names what is missing or misplaced', () => {
    const withOrdering = (ordering: string): string =>
      llmdDefault + `flowControl:\n  ordering: ${ordering}\n`;
    expect(
      parseSchedulerConfig(withOrdering('{type: prefill-deadline, prefillTokensPerSecond: 20480}'), 'r.yaml')
        .flowControl,
    ).toEqual({
      maxQueuedRequests: 5000,
      requestTtlMs: 60_000,
      fairness: 'round-robin',
      ordering: { type: 'prefill-deadline', prefillTokensPerSecond: 20480, slack: 30, maxSlackMs: 60_000 },
      dispatch: { type: 'pool-saturation' },
    });
    expect(
      parseSchedulerConfig(
        withOrdering('{type: prefill-deadline, prefillTokensPerSecond: 8000, slack: 5, maxSlack: 2m}'),
        'r.yaml',
      ).flowControl?.ordering,
    ).toEqual({ type: 'prefill-deadline', prefillTokensPerSecond: 8000, slack: 5, maxSlackMs: 120_000 });
    const line = llmdDefault.split('\n').length + 1;
    expect(problemsOf(withOrdering('{type: prefill-deadline, slack: 5}'))).toEqual([
      `router.yaml:${line}:13: /flowControl/ordering: missing required field "prefillTokensPerSecond"`,
    ]);
    expect(problemsOf(withOrdering('{type: fcfs, slack: 5}'))).toEqual([
      `router.yaml:${line}:26: /flowControl/ordering/slack: unknown field "slack"`,
    ]);
    const withDispatch = (dispatch: string): string =>
      llmdDefault + `flowControl:\n  dispatch: ${dispatch}\n`;
    expect(
      parseSchedulerConfig(withDispatch('{type: endpoint-queue-depth}'), 'r.yaml').flowControl?.dispatch,
    ).toEqual({ type: 'endpoint-queue-depth', maxWaitingRequests: 5, metricsStalenessMs: 200 });
    expect(
      parseSchedulerConfig(
        withDispatch('{type: endpoint-queue-depth, maxWaitingRequests: 2, metricsStalenessThreshold: 1s}'),
        'r.yaml',
      ).flowControl?.dispatch,
    ).toEqual({ type: 'endpoint-queue-depth', maxWaitingRequests: 2, metricsStalenessMs: 1000 });
    expect(problemsOf(withDispatch('{type: pool-saturation, maxWaitingRequests: 2}'))).toEqual([
      `router.yaml:${line}:37: /flowControl/dispatch/maxWaitingRequests: unknown field "maxWaitingRequests"`,
    ]);
    expect(problemsOf(withOrdering('{type: edf}'))[0]).toMatch(
      /^router\.yaml:\d+:\d+: \/flowControl\/ordering\/type: must be one of "fcfs", "prefill-deadline"/,
    );
  });

  it('names line, column and field of schema violations, all at once', () => {
    const problems = problemsOf(`apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
  parameters:
    treshold: 3
- type: prefix-cache-scorer
  parameters:
    matchLengthWeight: 2
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
    weight: -1
`);
    expect(problems).toEqual([
      'router.yaml:6:5: /plugins/0/parameters/treshold: unknown field "treshold"',
      'router.yaml:9:24: /plugins/1/parameters/matchLengthWeight: must be <= 1',
      'router.yaml:14:13: /schedulingProfiles/0/plugins/0/weight: must be >= 0',
    ]);
  });

  it('reports unknown plugin types, dangling references and duplicate names', () => {
    expect(problemsOf(llmdDefault.replace('type: queue-scorer', 'type: queue-scorrer'))[0]).toMatch(
      /^router\.yaml:4:9: \/plugins\/0\/type: must be one of "queue-scorer"/,
    );
    expect(problemsOf(llmdDefault.replace('pluginRef: prefix-cache-scorer', 'pluginRef: prefix'))).toEqual([
      'router.yaml:19:16: /schedulingProfiles/0/plugins/2/pluginRef: "prefix" names no plugin in plugins',
    ]);
    expect(problemsOf(llmdDefault.replace('- type: core-metrics-extractor', '- type: queue-scorer'))).toEqual(
      ['router.yaml:11:9: /plugins/4/type: plugin name "queue-scorer" is used twice'],
    );
  });

  it('reports invalid YAML with its position, and rejects two pickers', () => {
    expect(problemsOf('apiVersion: [\n')[0]).toMatch(/^router\.yaml:\d+:\d+: invalid YAML/);
    expect(
      problemsOf(`apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins: [{type: random-picker}, {type: max-score-picker}]
schedulingProfiles: [{name: d, plugins: [{pluginRef: random-picker}, {pluginRef: max-score-picker}]}]
`)[0],
    ).toMatch(/^router\.yaml:4:\d+: schedulingProfiles "d": more than one picker/);
  });

  it('round-trips every preset through YAML, and the schema lists exactly the plugin types the router knows', () => {
    for (const name of POLICY_NAMES) {
      const preset = policyPresets[name];
      expect(parseSchedulerConfig(stringify(schedulerConfigDocument(preset)), `${name}.yaml`)).toEqual(
        preset,
      );
    }
    expect([...routerConfigSchema.$defs.plugin.properties.type.enum].sort()).toEqual(
      [...PLUGIN_TYPES].sort(),
    );
  });

  it("reads llm-d v1.0's optimized-baseline layout under llm-d.ai/v1: no picker, no weights", () => {
    const config = parseSchedulerConfig(
      `apiVersion: llm-d.ai/v1
kind: EndpointPickerConfig
plugins:
  - type: token-load-scorer
  - type: inflight-load-producer
  - type: approx-prefix-cache-producer
    parameters:
      maxPrefixTokensToMatch: 40960
  - type: prefix-cache-affinity-filter
    parameters:
      affinityThreshold: 0.80
      maxTokensInFlightPenalty: 286720
      maxTTFTPenaltyMs: 0
schedulingProfiles:
  - name: default
    plugins:
      - pluginRef: prefix-cache-affinity-filter
      - pluginRef: token-load-scorer
`,
      'optimized-baseline.yaml',
    );
    expect(config.apiVersion).toBe('llm-d.ai/v1');
    expect(config.schedulingProfiles[0]!.plugins).toEqual([
      { pluginRef: 'prefix-cache-affinity-filter', weight: 1 },
      { pluginRef: 'token-load-scorer', weight: 1 },
    ]);
    expect(createScheduler(config, fakeDeps()).pick).toBeTypeOf('function');
  });

  it('names the field of a bad affinity-filter or precise-producer parameter', () => {
    const problems = problemsOf(`apiVersion: llm-d.ai/v1
kind: EndpointPickerConfig
plugins:
  - type: prefix-cache-affinity-filter
    parameters:
      affinityThreshold: 1.5
  - type: precise-prefix-cache-producer
    parameters:
      blockSize: 64
schedulingProfiles:
  - name: default
    plugins:
      - pluginRef: prefix-cache-affinity-filter
`);
    expect(problems).toEqual([
      'router.yaml:6:26: /plugins/0/parameters/affinityThreshold: must be <= 1',
      'router.yaml:9:7: /plugins/1/parameters/blockSize: unknown field "blockSize"',
    ]);
  });
});

describe('createScheduler on configs built in code', () => {
  it('names the plugin and field of a bad parameter', () => {
    expect(() =>
      createScheduler(
        {
          apiVersion: 'llm-d.ai/v1alpha1',
          kind: 'EndpointPickerConfig',
          plugins: [{ type: 'load-aware-scorer', name: 'load', parameters: { threshold: 'high' } }],
          schedulingProfiles: [{ name: 'd', plugins: [{ pluginRef: 'load', weight: 1 }] }],
        },
        fakeDeps(),
      ),
    ).toThrow(
      new PluginConfigError(
        'plugin "load": parameters.threshold must be a number in [1, Infinity], got "high"',
      ),
    );
  });
});
