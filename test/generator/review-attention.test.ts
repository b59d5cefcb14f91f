// What a review calls out: deletions, GPU requests, images, a wider AppProject, a route to another backend,
// CRD and API version changes.
import { describe, expect, it } from 'vitest';
import { attentionFor } from '../../generator/commands/review/attention.ts';
import { compareObjects } from '../../generator/commands/review/compare.ts';
import { keyObject } from '../../generator/commands/review/objects.ts';
import type { JsonObject } from '../../generator/verify/openapi-schema.ts';

function reasons(before: JsonObject[], after: JsonObject[]): string[] {
  const review = compareObjects(
    'app',
    before.map((object) => keyObject(object, 'template.yaml', 'llm')),
    after.map((object) => keyObject(object, 'template.yaml', 'llm')),
  );
  return attentionFor('dev', review).map((item) => `${item.reason}: ${item.message}`);
}

function deployment(image: string, gpus: number): JsonObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'm-vllm' },
    spec: {
      template: {
        spec: {
          containers: [{ name: 'vllm', image, resources: { limits: { 'nvidia.com/gpu': gpus } } }],
        },
      },
    },
  };
}

describe('review attention', () => {
  it('calls out GPU and image changes', () => {
    expect(reasons([deployment('vllm:1', 1)], [deployment('vllm:2', 2)])).toEqual([
      'image: Deployment.apps llm/m-vllm: image spec.template.spec.containers[0].image: "vllm:1" → "vllm:2"',
      'gpu: Deployment.apps llm/m-vllm: GPU spec.template.spec.containers[0].resources.limits["nvidia.com/gpu"]: 1 → 2',
    ]);
  });

  it('calls out deletions', () => {
    expect(reasons([deployment('vllm:1', 1)], [])).toEqual([
      'deleted: Deployment.apps llm/m-vllm is deleted',
    ]);
  });

  it('calls out a wider AppProject and not a narrower one', () => {
    const project = (namespaces: string[]): JsonObject => ({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AppProject',
      metadata: { name: 'dev-models', namespace: 'argocd' },
      spec: { destinations: namespaces.map((namespace) => ({ namespace, server: '*' })) },
    });
    expect(reasons([project(['llm'])], [project(['llm', 'kube-system'])])).toEqual([
      'project: AppProject.argoproj.io argocd/dev-models: spec.destinations now also permits {"namespace":"kube-system","server":"*"}',
    ]);
    expect(reasons([project(['llm', 'kube-system'])], [project(['llm'])])).toEqual([]);
  });

  it('calls out a route to another backend and an API version change', () => {
    const route = (apiVersion: string, backend: string): JsonObject => ({
      apiVersion,
      kind: 'HTTPRoute',
      metadata: { name: 'm' },
      spec: { rules: [{ backendRefs: [{ kind: 'InferencePool', name: backend }] }] },
    });
    expect(
      reasons(
        [route('gateway.networking.k8s.io/v1beta1', 'm')],
        [route('gateway.networking.k8s.io/v1', 'other')],
      ),
    ).toEqual([
      'api: HTTPRoute.gateway.networking.k8s.io llm/m: API version apiVersion: "gateway.networking.k8s.io/v1beta1" → "gateway.networking.k8s.io/v1"',
      'route: HTTPRoute.gateway.networking.k8s.io llm/m: now routes differently, spec.rules[0].backendRefs[0].name: "m" → "other"',
    ]);
  });

  it('calls out a CustomResourceDefinition that is added', () => {
    const crd: JsonObject = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
    };
    expect(reasons([], [crd])).toEqual(['api: CustomResourceDefinition widgets.example.com is added']);
  });
});
