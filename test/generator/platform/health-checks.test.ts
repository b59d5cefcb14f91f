import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers.ts';
import { runHealthCheck } from './lua-vm.ts';

/** The Lua check the argocd-config chart installs as resource.customizations.health.<key>. */
function script(key: string): string {
  return readFileSync(join(repoRoot, 'charts/platform/argocd-config/files/health', `${key}.lua`), 'utf8');
}

const condition = (type: string, status: string, reason = '', extra: Record<string, unknown> = {}) => ({
  type,
  status,
  reason,
  message: `${type} is ${status}`,
  lastTransitionTime: '2026-01-01T00:00:00Z',
  ...extra,
});

describe('InferencePool health', () => {
  const lua = script('inference.networking.k8s.io_InferencePool');
  const pool = (status: unknown) => ({
    apiVersion: 'inference.networking.k8s.io/v1',
    kind: 'InferencePool',
    metadata: { name: 'qwen', namespace: 'llm', generation: 2 },
    spec: { selector: { matchLabels: { app: 'qwen' } }, targetPorts: [{ number: 8000 }] },
    ...(status === undefined ? {} : { status }),
  });
  const parent = (conditions: unknown[]) => ({
    parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'inference-gateway' },
    controllerName: 'istio.io/gateway-controller',
    conditions,
  });

  it('is Progressing through a normal start, then Healthy, never Degraded', () => {
    const start = [
      pool(undefined),
      pool({ parents: [] }),
      pool({ parents: [parent([condition('Accepted', 'Unknown', 'Pending')])] }),
      // A condition from the previous generation does not count, whatever it says.
      pool({
        parents: [
          parent([condition('ResolvedRefs', 'False', 'InvalidExtensionRef', { observedGeneration: 1 })]),
        ],
      }),
      pool({
        parents: [
          parent([
            condition('Accepted', 'True', 'Accepted', { observedGeneration: 2 }),
            condition('ResolvedRefs', 'True', 'ResolvedRefs', { observedGeneration: 2 }),
          ]),
        ],
      }),
    ];
    const statuses = start.map((object) => runHealthCheck(lua, object).status);
    expect(statuses).toEqual(['Progressing', 'Progressing', 'Progressing', 'Progressing', 'Healthy']);
  });

  it('is Degraded when the Gateway rejects the pool or cannot resolve its endpoint picker', () => {
    const rejected = runHealthCheck(
      lua,
      pool({
        parents: [
          parent([condition('ResolvedRefs', 'False', 'InvalidExtensionRef', { observedGeneration: 2 })]),
        ],
      }),
    );
    expect(rejected.status).toBe('Degraded');
    expect(rejected.message).toContain('inference-gateway: ResolvedRefs=False InvalidExtensionRef');
    const notAccepted = runHealthCheck(
      lua,
      pool({ parents: [parent([condition('Accepted', 'False', 'NotSupportedByParent')])] }),
    );
    expect(notAccepted.status).toBe('Degraded');
  });
});

describe('LeaderWorkerSet health', () => {
  const lua = script('leaderworkerset.x-k8s.io_LeaderWorkerSet');
  const lws = (status: unknown, generation = 1) => ({
    apiVersion: 'leaderworkerset.x-k8s.io/v1',
    kind: 'LeaderWorkerSet',
    metadata: { name: 'llama-70b', generation },
    spec: { replicas: 2, leaderWorkerTemplate: { size: 2 } },
    ...(status === undefined ? {} : { status }),
  });

  it('is Progressing while groups start and Healthy when all are available, never Degraded', () => {
    const start = [
      lws(undefined),
      lws({ observedGeneration: 0 }),
      lws({
        observedGeneration: 1,
        replicas: 2,
        readyReplicas: 0,
        updatedReplicas: 2,
        conditions: [
          condition('Progressing', 'True', 'GroupsProgressing'),
          condition('Available', 'False', 'AllGroupsReady'),
        ],
      }),
      lws({
        observedGeneration: 1,
        replicas: 2,
        readyReplicas: 1,
        updatedReplicas: 2,
        conditions: [condition('Progressing', 'True', 'GroupsProgressing')],
      }),
      lws({
        observedGeneration: 1,
        replicas: 2,
        readyReplicas: 2,
        updatedReplicas: 2,
        conditions: [
          condition('Available', 'True', 'AllGroupsReady'),
          condition('Progressing', 'False', 'Done'),
        ],
      }),
    ];
    const results = start.map((object) => runHealthCheck(lua, object));
    expect(results.map((result) => result.status)).toEqual([
      'Progressing',
      'Progressing',
      'Progressing',
      'Progressing',
      'Healthy',
    ]);
    expect(results[3]?.message).toBe('1/2 groups ready');
  });

  it('is Progressing during a rolling update even when all groups are ready', () => {
    const updating = lws(
      {
        observedGeneration: 2,
        replicas: 2,
        readyReplicas: 2,
        updatedReplicas: 2,
        conditions: [
          condition('Available', 'True', 'AllGroupsReady'),
          condition('UpdateInProgress', 'True', 'GroupsUpdating'),
        ],
      },
      2,
    );
    expect(runHealthCheck(lua, updating).status).toBe('Progressing');
  });
});

describe('LLMInferenceService health', () => {
  const lua = script('serving.kserve.io_LLMInferenceService');
  const service = (conditions: unknown[] | undefined, observedGeneration = 1) => ({
    apiVersion: 'serving.kserve.io/v1alpha2',
    kind: 'LLMInferenceService',
    metadata: { name: 'qwen', generation: 1 },
    spec: { model: { uri: 'hf://Qwen/Qwen2.5-0.5B-Instruct' } },
    ...(conditions === undefined ? {} : { status: { observedGeneration, conditions } }),
  });

  it('treats WorkloadsReady=False during a normal start as Progressing, never Degraded', () => {
    const start = [
      service(undefined),
      service([condition('Ready', 'False', 'WorkloadsNotReady')], 0),
      service([
        condition('PresetsCombined', 'True'),
        condition('WorkloadsReady', 'False', 'MinimumReplicasUnavailable'),
        condition('RouterReady', 'True'),
        condition('Ready', 'False', 'MinimumReplicasUnavailable'),
      ]),
      service([
        condition('WorkloadsReady', 'False', 'Progressing'),
        condition('Ready', 'False', 'Progressing'),
      ]),
      service([
        condition('PresetsCombined', 'True'),
        condition('WorkloadsReady', 'True'),
        condition('RouterReady', 'True'),
        condition('Ready', 'True'),
      ]),
    ];
    expect(start.map((object) => runHealthCheck(lua, object).status)).toEqual([
      'Progressing',
      'Progressing',
      'Progressing',
      'Progressing',
      'Healthy',
    ]);
  });

  it('is Degraded for terminal reasons and Suspended when stopped', () => {
    const missingConfig = runHealthCheck(
      lua,
      service([condition('PresetsCombined', 'False', 'ConfigNotFound')]),
    );
    expect(missingConfig).toEqual({
      status: 'Degraded',
      message: 'PresetsCombined: ConfigNotFound PresetsCombined is False',
    });
    const deadline = runHealthCheck(
      lua,
      service([condition('WorkloadsReady', 'False', 'ProgressDeadlineExceeded')]),
    );
    expect(deadline.status).toBe('Degraded');
    expect(runHealthCheck(lua, service([condition('Ready', 'False', 'Stopped')])).status).toBe('Suspended');
  });
});

describe('Application health (waves between child Applications)', () => {
  const lua = script('argoproj.io_Application');
  const app = (status: unknown) => ({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: 'prod-cert-manager', namespace: 'argocd' },
    spec: { project: 'prod-platform' },
    ...(status === undefined ? {} : { status }),
  });

  it('holds the wave while a child is created, syncing or starting, and releases it when synced and healthy', () => {
    const start = [
      app(undefined),
      app({ sync: { status: 'OutOfSync' }, health: { status: 'Missing' } }),
      app({ sync: { status: 'OutOfSync' }, health: { status: 'Healthy' } }),
      app({
        sync: { status: 'Synced' },
        health: { status: 'Progressing' },
        operationState: { phase: 'Running' },
      }),
      app({
        sync: { status: 'Synced' },
        health: { status: 'Progressing' },
        operationState: { phase: 'Succeeded' },
      }),
      app({
        sync: { status: 'Synced' },
        health: { status: 'Healthy' },
        operationState: { phase: 'Succeeded' },
      }),
    ];
    expect(start.map((object) => runHealthCheck(lua, object).status)).toEqual([
      'Progressing',
      'Progressing',
      'Progressing',
      'Progressing',
      'Progressing',
      'Healthy',
    ]);
  });

  it('passes Degraded and Suspended children through', () => {
    const degraded = app({
      sync: { status: 'Synced' },
      health: { status: 'Degraded', message: 'Deployment exceeded its progress deadline' },
    });
    expect(runHealthCheck(lua, degraded)).toEqual({
      status: 'Degraded',
      message: 'Deployment exceeded its progress deadline',
    });
    expect(
      runHealthCheck(lua, app({ sync: { status: 'Synced' }, health: { status: 'Suspended' } })).status,
    ).toBe('Suspended');
  });
});

describe('health check scripts', () => {
  it('use only the Lua base and table libraries Argo CD opens by default', () => {
    const dir = join(repoRoot, 'charts/platform/argocd-config/files/health');
    const files = readdirSync(dir).filter((file) => file.endsWith('.lua'));
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const file of files) {
      const lua = readFileSync(join(dir, file), 'utf8');
      expect(lua, file).not.toMatch(/\b(string|os|io|math|debug|require)\s*[.(]/);
      expect(lua, file).not.toMatch(/:\s*(sub|find|match|gsub|format|len)\s*\(/);
    }
  });
});
