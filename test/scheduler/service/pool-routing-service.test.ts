import { describe, expect, it } from 'vitest';
import { createScheduler, estimatePromptTokens, policyPresets } from '../../../scheduler/core/index.ts';
import type { RoutingRequest } from '../../../scheduler/core/types.ts';
import { EndpointRegistry } from '../../../scheduler/datalayer/endpoint-registry.ts';
import { rewriteRules } from '../../../scheduler/datalayer/objectives.ts';
import { parseStaticEndpoints } from '../../../scheduler/datalayer/static-endpoints.ts';
import { PoolRoutingService } from '../../../scheduler/service/pool-routing-service.ts';
import { flowFixture } from './flow-fixture.ts';

function setup(servedModels?: readonly string[]) {
  const registry = new EndpointRegistry();
  registry.setTargets(parseStaticEndpoints('10.0.0.1:8000,10.0.0.2:8000'));
  const scheduler = createScheduler(policyPresets['least-request'], { now: () => 0, random: () => 0.5 });
  const service = new PoolRoutingService({
    scheduler,
    registry,
    ...(servedModels !== undefined ? { servedModels } : {}),
  });
  return { registry, scheduler, service };
}

function request(id: string, extra: Partial<RoutingRequest> = {}): RoutingRequest {
  return {
    id,
    model: 'm',
    priority: 0,
    fairnessId: 'default-flow',
    promptTokens: estimatePromptTokens(`prompt ${id}`),
    ...extra,
  };
}

describe('PoolRoutingService', () => {
  it('routes over the registry snapshot and keeps in-flight accounting balanced', () => {
    const { service, scheduler } = setup();
    const a = service.route(request('a'));
    const b = service.route(request('b'));
    expect(a.kind).toBe('picked');
    expect(b.kind).toBe('picked');
    // least-request spreads two concurrent requests over both endpoints.
    const keys = [a, b].map((r) => (r.kind === 'picked' ? r.endpoints[0]?.key : undefined));
    expect(new Set(keys)).toEqual(new Set(['10.0.0.1:8000', '10.0.0.2:8000']));
    expect(service.inFlightCount()).toBe(2);
    service.complete('a', { ok: true });
    service.complete('a', { ok: true });
    service.complete('never-routed', { ok: false });
    expect(service.inFlightCount()).toBe(1);
    service.complete('b', { ok: false });
    expect(service.inFlightCount()).toBe(0);
    expect(scheduler.accounting().every((e) => e.inFlightRequests === 0)).toBe(true);
  });

  it('honours the subset hint and answers 503 without endpoints', () => {
    const { service, registry } = setup();
    const r = service.route(request('s', { subset: ['10.0.0.2:8000'] }));
    expect(r.kind === 'picked' && r.endpoints[0]?.key).toBe('10.0.0.2:8000');
    registry.setTargets([]);
    expect(service.route(request('t'))).toEqual({
      kind: 'rejected',
      status: 503,
      reason: 'rejected-no-endpoints',
    });
  });

  it('is ready once synced and until draining; draining refuses new requests and waits for in-flight ones', async () => {
    const { service, registry } = setup();
    expect(service.ready()).toBe(false);
    registry.markSynced();
    expect(service.ready()).toBe(true);
    service.route(request('x'));
    service.startDraining();
    expect(service.ready()).toBe(false);
    expect(service.route(request('y'))).toEqual({
      kind: 'rejected',
      status: 503,
      reason: 'rejected-shutting-down',
    });
    expect(await service.whenIdle(20)).toBe(false);
    const idle = service.whenIdle(5_000);
    service.complete('x', { ok: true });
    expect(await idle).toBe(true);
  });

  it('answers objective priorities and applies rewrites', () => {
    const { service } = setup(['base']);
    expect(service.objectivePriority(undefined)).toBe(0);
    service.setObjectivePriorities(
      new Map([
        ['premium', 100],
        ['batch', -10],
      ]),
    );
    expect(service.objectivePriority('premium')).toBe(100);
    expect(service.objectivePriority('batch')).toBe(-10);
    expect(service.objectivePriority('unknown')).toBe(0);

    expect(service.servedModels()).toEqual(['base']);
    service.setRewriteRules(
      rewriteRules(
        [
          {
            metadata: { name: 'r', namespace: 'ns' },
            spec: {
              poolRef: { name: 'pool' },
              rules: [{ matches: [{ model: { value: 'alias' } }], targets: [{ modelRewrite: 'base' }] }],
            },
          },
        ],
        'pool',
      ),
    );
    expect(service.rewriteModel('alias', 0.3)).toEqual({ targetModel: 'base', rewritten: true });
    expect(service.rewriteModel('base', 0.3)).toEqual({ targetModel: 'base', rewritten: false });
    expect(service.servedModels()).toEqual(['base', 'alias']);
  });

  it('counts an answer a success at its first token: a recovery probe readmits its endpoint then', () => {
    let now = 1_000;
    const registry = new EndpointRegistry();
    registry.setTargets(parseStaticEndpoints('10.0.0.1:8000,10.0.0.2:8000'));
    const events: string[] = [];
    const service = new PoolRoutingService({
      scheduler: createScheduler(policyPresets['least-request'], { now: () => now, random: () => 0.5 }),
      registry,
      now: () => now,
      onHealthEvent: (event) => events.push(`${event.kind} ${event.key}`),
    });
    const onFirst = (id: string) => service.route(request(id, { subset: ['10.0.0.1:8000'] }));
    for (const id of ['f1', 'f2', 'f3']) {
      onFirst(id);
      service.complete(id, { ok: false, outcome: 'server-error' });
    }
    expect(events).toEqual(['ejected 10.0.0.1:8000']);
    now += 2_001;
    expect(onFirst('probe')).toMatchObject({ kind: 'picked', endpoints: [{ key: '10.0.0.1:8000' }] });
    // While the probe streams, nothing else goes there.
    expect(onFirst('meanwhile')).toMatchObject({ kind: 'rejected', status: 503 });
    service.firstToken('probe');
    expect(events).toEqual(['ejected 10.0.0.1:8000', 'recovered 10.0.0.1:8000']);
    expect(onFirst('after')).toMatchObject({ kind: 'picked', endpoints: [{ key: '10.0.0.1:8000' }] });
    // Its stream ending well adds nothing; a stream that breaks off afterwards counts as a failure.
    service.complete('probe', { ok: true, outcome: 'success' });
    service.complete('after', { ok: false, outcome: 'reset' });
    expect(events).toHaveLength(2);
  });
});

describe('PoolRoutingService admission with flow control', () => {
  const key = '10.0.0.1:8000';

  it('decides at once while the pool has room, and queues once it is saturated', async () => {
    const { service, inFlight } = flowFixture(key);
    const first = service.admit(request('first'));
    expect(first).toMatchObject({ kind: 'picked' });
    const second = service.admit(request('second'));
    expect(second).toBeInstanceOf(Promise);
    expect(service.queuedCount()).toBe(1);
    service.complete('first', { ok: true });
    expect(await second).toMatchObject({ kind: 'picked' });
    service.complete('second', { ok: true });
    expect(service.inFlightCount()).toBe(0);
    expect(inFlight()).toBe(0);
  });

  it('answers 429 rejected-queue-full beyond the queue limit', () => {
    const { service, scheduler } = flowFixture(key, { maxQueuedRequests: 1 });
    expect(service.admit(request('a'))).toMatchObject({ kind: 'picked' });
    const queued = service.admit(request('b'));
    expect(service.admit(request('c'))).toEqual({
      kind: 'rejected',
      status: 429,
      reason: 'rejected-queue-full',
    });
    expect(scheduler.queuedRequests()).toBe(1);
    service.startDraining();
    return expect(queued).resolves.toEqual({
      kind: 'rejected',
      status: 503,
      reason: 'rejected-shutting-down',
    });
  });

  it('rejects a waiting admission when its signal aborts, and leaves nothing queued or in flight', async () => {
    const { service, scheduler, inFlight } = flowFixture(key);
    service.admit(request('holder'));
    const abort = new AbortController();
    const waiting = service.admit(request('waiting'), abort.signal);
    abort.abort(new Error('client went away'));
    await expect(waiting).rejects.toThrow('client went away');
    expect(scheduler.queuedRequests()).toBe(0);
    expect(service.queuedCount()).toBe(0);
    service.complete('holder', { ok: true });
    expect(inFlight()).toBe(0);
    await expect(service.admit(request('late'), abort.signal)).rejects.toThrow('client went away');
  });

  it('refuses a second admission under an id that is still queued', async () => {
    const { service } = flowFixture(key);
    service.admit(request('holder'));
    const first = service.admit(request('same'));
    await expect(service.admit(request('same'))).rejects.toThrow('already queued or in flight');
    service.complete('holder', { ok: true });
    expect(await first).toMatchObject({ kind: 'picked' });
  });
});
