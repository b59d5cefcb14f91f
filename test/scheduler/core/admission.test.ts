/* eslint-disable @typescript-eslint/no-non-null-assertion -- fixtures index arrays whose length the test fixes */
// Saturation detector, shedding (429), no candidates (503), subset hint and filters.
import { describe, expect, it } from 'vitest';
import { createScheduler, policyPresets } from '../../../scheduler/core/index.ts';
import type { SchedulerConfig } from '../../../scheduler/core/index.ts';
import { endpoint, fakeDeps, request } from './helpers.ts';

function withDetector(parameters: Record<string, unknown>, asFilter = false): SchedulerConfig {
  return {
    apiVersion: 'llm-d.ai/v1alpha1',
    kind: 'EndpointPickerConfig',
    plugins: [
      { type: 'utilization-detector', name: 'sd', parameters },
      { type: 'active-request-scorer', name: 'active', parameters: {} },
    ],
    schedulingProfiles: [
      {
        name: 'default',
        plugins: [...(asFilter ? [{ pluginRef: 'sd', weight: 1 }] : []), { pluginRef: 'active', weight: 1 }],
      },
    ],
  };
}

describe('utilization-detector', () => {
  it('is the mean over endpoints of max(queue/queueDepthThreshold, kv/kvCacheUtilThreshold)', () => {
    const deps = fakeDeps();
    const scheduler = createScheduler(withDetector({}), deps);
    const eps = [
      endpoint(0, { waitingRequests: 5, kvCacheUsage: 0.4 }),
      endpoint(1, { waitingRequests: 1, kvCacheUsage: 0.4 }),
    ];
    // endpoint 0: max(5/5, 0.4/0.8) = 1; endpoint 1: max(0.2, 0.5) = 0.5
    expect(scheduler.saturation(eps)).toBeCloseTo(0.75, 12);
  });

  it('counts stale or missing metrics as full', () => {
    const deps = fakeDeps();
    const scheduler = createScheduler(withDetector({ metricsStalenessThreshold: '200ms' }), deps);
    deps.advance(1000);
    const eps = [
      endpoint(0, { scrapedAtMs: 700 }),
      endpoint(1, { scrapedAtMs: 900 }),
      endpoint(2, undefined),
    ];
    expect(scheduler.saturation(eps)).toBeCloseTo((1 + 0 + 1) / 3, 12);
  });

  it('adds requests picked since the scrape to the waiting count', () => {
    const deps = fakeDeps();
    const scheduler = createScheduler(withDetector({ queueDepthThreshold: 2 }), deps);
    const eps = [endpoint(0, { scrapedAtMs: 0 })];
    deps.advance(10);
    expect(scheduler.saturation(eps)).toBe(0);
    scheduler.pick(request(), eps);
    expect(scheduler.saturation(eps)).toBe(0.5);
    scheduler.pick(request(), eps);
    expect(scheduler.saturation(eps)).toBe(1);
  });

  it('as a filter drops endpoints above threshold·(1 + headroom) and fails open when all are above', () => {
    const deps = fakeDeps();
    const scheduler = createScheduler(withDetector({ threshold: 0.8, headroom: 0.25 }, true), deps);
    const eps = [endpoint(0, { waitingRequests: 6 }), endpoint(1, { waitingRequests: 5 })];
    const r = scheduler.pick(request(), eps);
    expect(r.kind === 'picked' && r.endpoints.map((e) => e.key)).toEqual([eps[1]!.key]);
    const full = [endpoint(0, { waitingRequests: 9 }), endpoint(1, { waitingRequests: 9 })];
    const open = scheduler.pick(request(), full);
    expect(open.kind).toBe('picked');
    if (open.kind === 'picked') expect(open.scores.size).toBe(2);
  });
});

describe('admission', () => {
  const saturated = [endpoint(0, { waitingRequests: 10 }), endpoint(1, { kvCacheUsage: 0.9 })];
  const relaxed = [endpoint(0, { waitingRequests: 1 }), endpoint(1, { kvCacheUsage: 0.1 })];

  it('sheds priority < 0 with 429 when the pool is saturated, and admits everybody else', () => {
    const scheduler = createScheduler(policyPresets['llm-d'], fakeDeps());
    expect(scheduler.pick(request({ priority: -10 }), saturated)).toEqual({
      kind: 'rejected',
      status: 429,
      reason: 'rejected-saturated',
    });
    expect(scheduler.pick(request({ priority: 0 }), saturated).kind).toBe('picked');
    expect(scheduler.pick(request({ priority: 100 }), saturated).kind).toBe('picked');
    expect(scheduler.pick(request({ priority: -10 }), relaxed).kind).toBe('picked');
  });

  it('answers 503 without endpoints, with an empty subset, or when filters remove everybody', () => {
    const scheduler = createScheduler(policyPresets.switchyard, fakeDeps());
    const no = { kind: 'rejected', status: 503, reason: 'rejected-no-endpoints' };
    expect(scheduler.pick(request(), [])).toEqual(no);
    expect(scheduler.pick(request({ subset: [] }), relaxed)).toEqual(no);
    expect(scheduler.pick(request({ subset: ['10.9.9.9:8000'] }), relaxed)).toEqual(no);
    const prefillOnly: SchedulerConfig = {
      apiVersion: 'llm-d.ai/v1alpha1',
      kind: 'EndpointPickerConfig',
      plugins: [{ type: 'prefill-filter', name: 'prefill-filter', parameters: {} }],
      schedulingProfiles: [{ name: 'default', plugins: [{ pluginRef: 'prefill-filter', weight: 1 }] }],
    };
    expect(createScheduler(prefillOnly, fakeDeps()).pick(request(), relaxed)).toEqual(no);
  });

  it('honours the subset hint', () => {
    const scheduler = createScheduler(policyPresets.random, fakeDeps());
    for (let i = 0; i < 20; i++) {
      const r = scheduler.pick(request({ subset: [relaxed[1]!.key] }), relaxed);
      expect(r.kind === 'picked' && r.endpoints[0]!.key).toBe(relaxed[1]!.key);
    }
  });
});

describe('filters', () => {
  function filterConfig(type: string, parameters: Record<string, unknown> = {}): SchedulerConfig {
    return {
      apiVersion: 'llm-d.ai/v1alpha1',
      kind: 'EndpointPickerConfig',
      plugins: [
        { type, name: 'f', parameters },
        { type: 'random-picker', name: 'p', parameters: { maxNumOfEndpoints: 10 } },
      ],
      schedulingProfiles: [
        {
          name: 'default',
          plugins: [
            { pluginRef: 'f', weight: 1 },
            { pluginRef: 'p', weight: 1 },
          ],
        },
      ],
    };
  }
  const pods = [
    endpoint(0, {}, { 'llm-d.ai/role': 'decode', zone: 'a' }),
    endpoint(1, {}, { 'llm-d.ai/role': 'prefill', zone: 'b' }),
    endpoint(2, {}, { 'llm-d.ai/role': 'prefill-decode', zone: 'a', gpu: 'h100' }),
    endpoint(3, {}, {}),
  ];
  const keep = (config: SchedulerConfig): number[] => {
    const r = createScheduler(config, fakeDeps()).pick(request(), pods);
    return r.kind === 'picked' ? r.endpoints.map((e) => pods.indexOf(e)).sort() : [];
  };

  it('decode-filter keeps decode-capable and unlabelled pods; prefill-filter keeps prefill pods', () => {
    expect(keep(filterConfig('decode-filter'))).toEqual([0, 2, 3]);
    expect(keep(filterConfig('prefill-filter'))).toEqual([1, 2]);
  });

  it('label-selector-filter applies matchLabels and matchExpressions', () => {
    expect(keep(filterConfig('label-selector-filter', { matchLabels: { zone: 'a' } }))).toEqual([0, 2]);
    expect(
      keep(
        filterConfig('label-selector-filter', {
          matchExpressions: [
            { key: 'zone', operator: 'In', values: ['a', 'b'] },
            { key: 'gpu', operator: 'DoesNotExist' },
          ],
        }),
      ),
    ).toEqual([0, 1]);
    expect(
      keep(
        filterConfig('label-selector-filter', {
          matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }],
        }),
      ),
    ).toEqual([1, 3]);
    expect(
      keep(filterConfig('label-selector-filter', { matchExpressions: [{ key: 'gpu', operator: 'Exists' }] })),
    ).toEqual([2]);
  });
});
