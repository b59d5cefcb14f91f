import { describe, expect, it } from 'vitest';
import {
  referenceProblems,
  selectorMatches,
  type PlacedObject,
} from '../../../generator/verify/references.ts';

const place = (object: Record<string, unknown>, namespace = 'llm'): PlacedObject => ({ object, namespace });

const vllmTemplate = {
  metadata: { labels: { app: 'qwen', role: 'vllm' } },
  spec: { containers: [{ name: 'vllm', ports: [{ name: 'http', containerPort: 8000 }] }] },
};
const vllm = place({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'qwen' },
  spec: { template: vllmTemplate },
});
const routerService = place({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'qwen-router' },
  spec: { ports: [{ name: 'grpc', port: 9002 }] },
});
const vllmService = place({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'qwen' },
  spec: { selector: { app: 'qwen' }, ports: [{ name: 'http', port: 8000, targetPort: 'http' }] },
});
const pool = (spec: Record<string, unknown>): PlacedObject =>
  place({
    apiVersion: 'inference.networking.k8s.io/v1',
    kind: 'InferencePool',
    metadata: { name: 'qwen' },
    spec: {
      selector: { matchLabels: { app: 'qwen' } },
      targetPorts: [{ number: 8000 }],
      endpointPickerRef: { name: 'qwen-router', port: { number: 9002 } },
      ...spec,
    },
  });
const gateway = place(
  {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'inference-gateway' },
    spec: {
      listeners: [
        {
          name: 'https',
          allowedRoutes: {
            namespaces: {
              from: 'Selector',
              selector: {
                matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['llm'] }],
              },
            },
          },
        },
      ],
    },
  },
  'gateway',
);
const route = (namespace: string, backendRefs: unknown[]): PlacedObject =>
  place(
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'qwen' },
      spec: { parentRefs: [{ name: 'inference-gateway', namespace: 'gateway' }], rules: [{ backendRefs }] },
    },
    namespace,
  );

function problems(objects: PlacedObject[]): string[] {
  return referenceProblems(objects).map(
    (problem) => `${String(problem.subject.object.kind)} ${problem.path}: ${problem.message}`,
  );
}

describe('references between the objects of an environment', () => {
  it('accepts a consistent model deployment', () => {
    const poolBackend = { group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'qwen' };
    expect(
      problems([vllm, routerService, vllmService, pool({}), gateway, route('llm', [poolBackend])]),
    ).toEqual([]);
  });

  it('finds missing pools, services and ports behind routes', () => {
    const backends = [
      { group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'other' },
      { name: 'qwen', port: 8080 },
      { name: 'nowhere', port: 80 },
    ];
    expect(problems([vllm, routerService, vllmService, pool({}), gateway, route('llm', backends)])).toEqual([
      'HTTPRoute spec.rules[0].backendRefs[0]: refers to InferencePool llm/other (inference.networking.k8s.io), which no Application of this environment deploys',
      'HTTPRoute spec.rules[0].backendRefs[1]: refers to Service llm/qwen has no port 8080',
      'HTTPRoute spec.rules[0].backendRefs[2]: refers to Service llm/nowhere, which no Application of this environment deploys',
    ]);
  });

  it('checks that the Gateway admits the route namespace', () => {
    expect(problems([gateway, route('batch', [])])).toEqual([
      'HTTPRoute spec.parentRefs[0]: Gateway gateway/inference-gateway does not admit routes from namespace batch',
    ]);
    // Without any Gateway in the environment, the Gateway is external and cannot be checked.
    expect(problems([route('batch', [])])).toEqual([]);
  });

  it('checks the pool selector, target ports and endpoint picker', () => {
    expect(
      problems([
        vllm,
        pool({
          targetPorts: [{ number: 8001 }],
          endpointPickerRef: { name: 'qwen-router', port: { number: 9003 } },
        }),
        routerService,
      ]),
    ).toEqual([
      'InferencePool spec.endpointPickerRef: refers to endpoint picker Service llm/qwen-router has no port 9003',
      'InferencePool spec.targetPorts[0]: no selected pod has a container port 8001',
    ]);
    expect(problems([vllm, routerService, pool({ selector: { matchLabels: { app: 'llama' } } })])).toEqual([
      'InferencePool spec.selector: selects no pod of any workload this environment deploys',
    ]);
  });

  it('follows Argo Rollouts stable and canary labels', () => {
    const rollout = place({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'qwen' },
      spec: {
        template: vllmTemplate,
        strategy: {
          canary: {
            stableMetadata: { labels: { track: 'stable' } },
            canaryMetadata: { labels: { track: 'canary' } },
          },
        },
      },
    });
    const trackPool = (track: string): PlacedObject =>
      pool({ selector: { matchLabels: { app: 'qwen', track } } });
    expect(problems([rollout, routerService, trackPool('stable'), trackPool('canary')])).toEqual([]);
    expect(problems([rollout, routerService, trackPool('preview')])).toEqual([
      'InferencePool spec.selector: selects no pod of any workload this environment deploys',
    ]);
  });

  it('checks pool references of objectives and Service selectors and named target ports', () => {
    const objective = place({
      apiVersion: 'inference.networking.x-k8s.io/v1alpha2',
      kind: 'InferenceObjective',
      metadata: { name: 'premium' },
      spec: { poolRef: { name: 'missing' } },
    });
    const badService = place({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'qwen-metrics' },
      spec: { selector: { app: 'qwen' }, ports: [{ port: 9090, targetPort: 'metrics' }] },
    });
    expect(problems([vllm, objective, badService])).toEqual([
      'InferenceObjective spec.poolRef: refers to InferencePool llm/missing, which no Application of this environment deploys',
      'Service spec.ports[0].targetPort: no selected pod has a container port named metrics',
    ]);
  });

  it('implements label selector operators', () => {
    const labels = { app: 'qwen', tier: 'gpu' };
    expect(selectorMatches({ matchLabels: { app: 'qwen' } }, labels)).toBe(true);
    expect(
      selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['cpu'] }] }, labels),
    ).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, labels)).toBe(
      true,
    );
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'Bogus' }] }, labels)).toBe(false);
  });
});
