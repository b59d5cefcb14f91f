import { describe, expect, it } from 'vitest';
import { validateObject } from '../../../generator/verify/objects.ts';

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'vllm', namespace: 'llm', labels: { 'app.kubernetes.io/name': 'vllm' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { 'app.kubernetes.io/name': 'vllm' } },
    template: {
      metadata: { labels: { 'app.kubernetes.io/name': 'vllm' } },
      spec: {
        containers: [{ name: 'vllm', image: 'vllm/vllm-openai:v0.11.0', ports: [{ containerPort: 8000 }] }],
      },
    },
  },
};

const pool = {
  apiVersion: 'inference.networking.k8s.io/v1',
  kind: 'InferencePool',
  metadata: { name: 'qwen', namespace: 'llm' },
  spec: {
    selector: { matchLabels: { app: 'qwen' } },
    targetPorts: [{ number: 8000 }],
    endpointPickerRef: { name: 'qwen-router', port: { number: 9002 }, failureMode: 'FailOpen' },
  },
};

describe('validateObject with kubernetes-models', () => {
  it('accepts a valid Deployment', () => {
    expect(validateObject(deployment)).toEqual([]);
  });

  it('rejects a Deployment with a wrongly typed field', () => {
    const broken = { ...deployment, spec: { ...deployment.spec, replicas: 'two' } };
    expect(validateObject(broken)).toEqual(['spec.replicas: must be integer']);
  });

  it('rejects a container without a name, deep inside the pod template', () => {
    const broken = structuredClone(deployment);
    delete (broken.spec.template.spec.containers[0] as { name?: string }).name;
    expect(validateObject(broken)).toEqual([
      'spec.template.spec.containers[0].name: required field is missing',
    ]);
  });

  it('rejects unknown fields in core kinds, as strict field validation does', () => {
    const container = {
      name: 'vllm',
      image: 'vllm',
      imagePullPolicy: 'IfNotPresent',
      ports: [{ contanerPort: 8001 }],
    };
    const misspelt = {
      ...deployment,
      spec: { ...deployment.spec, replica: 2, template: { spec: { containers: [container] } } },
    };
    expect(validateObject(misspelt)).toEqual([
      'spec.template.spec.containers[0].ports[0].containerPort: required field is missing',
      'spec.template.spec.containers[0].ports[0].contanerPort: unknown field (not in the schema)',
      'spec.replica: unknown field (not in the schema)',
    ]);
    expect(
      validateObject({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'e' },
        involvedObject: {},
        bogus: 1,
      }),
    ).toEqual(['bogus: unknown field (not in the schema)']);
  });

  it('checks label values beyond what the model schemas check', () => {
    const broken = { ...deployment, metadata: { name: 'vllm', labels: { tier: 'a b' } } };
    expect(validateObject(broken)).toEqual(['metadata.labels.tier: string "a b" is not a valid label value']);
  });

  it('validates Argo CD, Gateway API, cert-manager, Istio and Prometheus operator kinds', () => {
    expect(
      validateObject({
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Application',
        metadata: { name: 'dev-qwen', namespace: 'argocd' },
        spec: {
          project: 'dev-models',
          source: {
            repoURL: 'https://git.example.com/p.git',
            path: 'charts/models/qwen',
            targetRevision: 'main',
          },
          destination: { server: 'https://kubernetes.default.svc', namespace: 'llm' },
        },
      }),
    ).toEqual([]);
    expect(
      validateObject({
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'r' },
        spec: { rules: [{ timeouts: { request: 300 } }] },
      }),
    ).toEqual(['spec.rules[0].timeouts.request: must be string']);
    expect(
      validateObject({
        apiVersion: 'cert-manager.io/v1',
        kind: 'ClusterIssuer',
        metadata: { name: 'ca' },
        spec: { ca: { secretName: 'root-ca' } },
      }),
    ).toEqual([]);
    expect(
      validateObject({
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'PodMonitor',
        metadata: { name: 'vllm' },
        spec: { selector: {}, podMetricsEndpoints: [{ port: 'http', interval: 30 }] },
      }),
    ).toEqual(['spec.podMetricsEndpoints[0].interval: must be string']);
    expect(
      validateObject({
        apiVersion: 'networking.istio.io/v1',
        kind: 'DestinationRule',
        metadata: { name: 'dr' },
        spec: { host: 'svc', trafficPolicy: { tls: { mode: 'SIMPLE' } } },
      }),
    ).toEqual([]);
  });

  it('checks object names and namespaces as the API server does', () => {
    const service = (name: string): string[] =>
      validateObject({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'llm' }, spec: {} });
    expect(service('qwen-router')).toEqual([]);
    expect(service('8b-router')).toEqual([
      'metadata.name: "8b-router": a Service name must be a DNS-1035 label (lowercase letters, digits and "-", starting with a letter, at most 63 characters)',
    ]);
    expect(service('x'.repeat(64))[0]).toMatch(/a Service name must be a DNS-1035 label/);
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', data: {} };
    expect(validateObject({ ...configMap, metadata: { name: 'router.config', namespace: 'llm' } })).toEqual(
      [],
    );
    expect(validateObject({ ...configMap, metadata: { name: 'Router_Config', namespace: 'LLM' } })).toEqual([
      'metadata.name: "Router_Config": the name must be a DNS-1123 subdomain (lowercase letters, digits, "-" and ".", at most 253 characters)',
      'metadata.namespace: "LLM": a namespace must be a DNS-1123 label',
    ]);
    expect(validateObject({ ...configMap, metadata: {} })).toEqual([
      'metadata.name: required field is missing (or metadata.generateName)',
    ]);
    expect(validateObject(configMap)).toEqual(['metadata: required field is missing']);
    expect(
      validateObject({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'system:reader' },
      }),
    ).toEqual([]);
  });

  it('reports unknown kinds and malformed objects', () => {
    expect(validateObject({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } })).toEqual(
      ['(root): unknown kind: no schema for example.com/v1 Widget'],
    );
    expect(validateObject({ apiVersion: 'v1', kind: '../../etc' })).toEqual([
      '(root): unknown kind: no schema for v1 ../../etc',
    ]);
    expect(validateObject({ kind: 'Service' })).toEqual([
      '(root): apiVersion and kind must be non-empty strings',
    ]);
    expect(validateObject(['not', 'an', 'object'])).toEqual([
      '(root): a Kubernetes object must be a mapping',
    ]);
  });
});

describe('validateObject with the project schemas (schemas/crds)', () => {
  it('accepts a valid InferencePool and rejects unknown fields and bad values', () => {
    expect(validateObject(pool)).toEqual([]);
    expect(validateObject({ ...pool, spec: { ...pool.spec, targetPortNumber: 8000 } })).toEqual([
      'spec: unknown field "targetPortNumber" (schemas/crds/inferencepool-v1.schema.json)',
    ]);
    expect(
      validateObject({
        ...pool,
        spec: { ...pool.spec, endpointPickerRef: { name: 'r', port: { number: 0 } } },
      }),
    ).toEqual([
      'spec.endpointPickerRef.port.number: must be >= 1 (schemas/crds/inferencepool-v1.schema.json)',
    ]);
  });

  it('validates InferenceObjective and InferenceModelRewrite', () => {
    const objective = {
      apiVersion: 'inference.networking.x-k8s.io/v1alpha2',
      kind: 'InferenceObjective',
      metadata: { name: 'premium' },
      spec: { priority: 100, poolRef: { name: 'qwen' } },
    };
    expect(validateObject(objective)).toEqual([]);
    expect(validateObject({ ...objective, spec: { priority: 1.5, poolRef: { name: 'qwen' } } })).toEqual([
      'spec.priority: must be integer (schemas/crds/inferenceobjective-v1alpha2.schema.json)',
    ]);
    const rewrite = {
      apiVersion: 'inference.networking.x-k8s.io/v1alpha2',
      kind: 'InferenceModelRewrite',
      metadata: { name: 'aliases' },
      spec: {
        poolRef: { name: 'qwen' },
        rules: [
          {
            matches: [{ model: { value: 'qwen' } }],
            targets: [{ modelRewrite: 'Qwen/Qwen2.5-0.5B-Instruct' }],
          },
        ],
      },
    };
    expect(validateObject(rewrite)).toEqual([]);
    expect(
      validateObject({ ...rewrite, spec: { poolRef: { name: 'qwen' }, rules: [{ targets: [] }] } }),
    ).toEqual([
      'spec.rules[0].targets: must NOT have fewer than 1 items (schemas/crds/inferencemodelrewrite-v1alpha2.schema.json)',
    ]);
  });

  it('checks the pod templates inside LeaderWorkerSet and LLMInferenceService as core types', () => {
    const podSpec = {
      containers: [{ name: 'main', image: 'vllm', resources: { limits: { 'nvidia.com/gpu': '1' } } }],
    };
    const lws = {
      apiVersion: 'leaderworkerset.x-k8s.io/v1',
      kind: 'LeaderWorkerSet',
      metadata: { name: 'big' },
      spec: { replicas: 1, leaderWorkerTemplate: { size: 2, workerTemplate: { spec: podSpec } } },
    };
    expect(validateObject(lws)).toEqual([]);
    const brokenPod = { containers: [{ name: 'main', ports: [{ containerPort: 'http' }] }] };
    expect(
      validateObject({
        ...lws,
        spec: { leaderWorkerTemplate: { size: 2, workerTemplate: { spec: brokenPod } } },
      }),
    ).toEqual([
      'spec.leaderWorkerTemplate.workerTemplate.spec.containers[0].ports[0].containerPort: must be integer',
    ]);

    for (const version of ['v1alpha1', 'v1alpha2']) {
      const service = {
        apiVersion: `serving.kserve.io/${version}`,
        kind: 'LLMInferenceService',
        metadata: { name: 'qwen' },
        spec: {
          model: { uri: 'hf://Qwen/Qwen3-8B', name: 'Qwen/Qwen3-8B' },
          replicas: 2,
          parallelism: { tensor: 1 },
          router: { gateway: {}, route: {}, scheduler: {} },
          template: podSpec,
        },
      };
      expect(validateObject(service)).toEqual([]);
      expect(validateObject({ ...service, spec: { ...service.spec, template: brokenPod } })).toEqual([
        'spec.template.containers[0].ports[0].containerPort: must be integer',
      ]);
    }
  });

  it('tells the two LLMInferenceService versions apart', () => {
    const criticality = (version: string): string[] =>
      validateObject({
        apiVersion: `serving.kserve.io/${version}`,
        kind: 'LLMInferenceService',
        metadata: { name: 'qwen' },
        spec: { model: { uri: 'hf://Qwen/Qwen3-8B', criticality: 'Critical' } },
      });
    expect(criticality('v1alpha1')).toEqual([]);
    expect(criticality('v1alpha2')).toEqual([
      'spec.model: unknown field "criticality" (schemas/crds/llminferenceservice-v1alpha2.schema.json)',
    ]);
  });
});
