/* eslint-disable @typescript-eslint/no-non-null-assertion -- fixtures index arrays whose length the test fixes */
// Invariants over random endpoint sets, metrics and request sequences, for every preset.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createScheduler, PLUGIN_TYPES, POLICY_NAMES, policyPresets } from '../../../scheduler/core/index.ts';
import type { Endpoint } from '../../../scheduler/core/index.ts';
import { createPlugin } from '../../../scheduler/core/plugins/registry.ts';
import type { EndpointState } from '../../../scheduler/core/state.ts';
import { fakeDeps } from './helpers.ts';

const metricsArb = fc.option(
  fc.record({
    waitingRequests: fc.nat({ max: 50 }),
    runningRequests: fc.nat({ max: 300 }),
    kvCacheUsage: fc.double({ min: 0, max: 1.2, noNaN: true }),
    kvCacheCapacityBlocks: fc.integer({ min: 1, max: 5000 }),
    kvBlockSize: fc.constantFrom(16, 32),
    activeLoras: fc.constant<string[]>([]),
    waitingLoras: fc.constant<string[]>([]),
    maxLoras: fc.constant(0),
    scrapedAtMs: fc.nat({ max: 100 }),
  }),
  { nil: undefined },
);

const endpointsArb = fc.array(metricsArb, { minLength: 1, maxLength: 12 }).map((ms) =>
  ms.map((metrics, i): Endpoint => ({
    key: `10.0.1.${i}:8000`,
    address: `10.0.1.${i}`,
    port: 8000,
    labels: {},
    metrics,
  })),
);

const opsArb = fc.array(
  fc.oneof(
    fc.record({
      kind: fc.constant('pick' as const),
      prompt: fc.nat({ max: 5 }),
      length: fc.nat({ max: 600 }),
      priority: fc.integer({ min: -1, max: 1 }),
    }),
    fc.record({
      kind: fc.constant('complete' as const),
      which: fc.nat(),
      cached: fc.option(fc.nat({ max: 700 }), { nil: undefined }),
      ok: fc.boolean(),
    }),
  ),
  { maxLength: 80 },
);

describe.each(POLICY_NAMES)('policy %s', (policy) => {
  it('picks only candidates, keeps weighted scores within [0, Σweights], never drives in-flight negative', () => {
    const weightSum = policyPresets[policy].schedulingProfiles[0]!.plugins.reduce((s, p) => s + p.weight, 0);
    fc.assert(
      fc.property(endpointsArb, opsArb, fc.integer({ min: 1, max: 1000 }), (endpoints, ops, seed) => {
        const deps = fakeDeps(seed);
        const scheduler = createScheduler(policyPresets[policy], deps);
        const live: string[] = [];
        const liveBlocks = new Map<string, number>();
        let n = 0;
        for (const op of ops) {
          deps.advance(7);
          if (op.kind === 'pick') {
            const id = `r${n++}`;
            const prompt = Uint32Array.from({ length: op.length }, (_, i) =>
              i < 300 ? op.prompt * 1000 + i : n * 7 + i,
            );
            const result = scheduler.pick(
              { id, model: 'm', priority: op.priority, fairnessId: 'f', promptTokens: prompt },
              endpoints,
            );
            if (result.kind === 'picked') {
              expect(result.endpoints.length).toBeGreaterThan(0);
              for (const e of result.endpoints) expect(endpoints).toContain(e);
              for (const [key, score] of result.scores) {
                expect(endpoints.some((e) => e.key === key)).toBe(true);
                expect(score).toBeGreaterThanOrEqual(0);
                expect(score).toBeLessThanOrEqual(weightSum + 1e-9);
              }
              live.push(id);
              liveBlocks.set(id, Math.ceil(op.length / 16));
            } else {
              expect([429, 503]).toContain(result.status);
            }
          } else if (live.length > 0) {
            const [id] = live.splice(op.which % live.length, 1);
            const completion =
              op.cached === undefined ? { ok: op.ok } : { ok: op.ok, cachedTokens: op.cached };
            scheduler.complete(id!, completion);
            scheduler.complete(id!, completion); // twice: must be harmless
            liveBlocks.delete(id!);
          }
          const accounting = scheduler.accounting();
          // Blocks held by requests in flight may exceed an endpoint's capacity until they complete.
          const held = [...liveBlocks.values()].reduce((s, b) => s + b, 0);
          for (const a of accounting) {
            expect(a.inFlightRequests).toBeGreaterThanOrEqual(0);
            expect(a.inFlightUncachedTokens).toBeGreaterThanOrEqual(0);
            expect(a.indexedBlocks).toBeLessThanOrEqual(Math.max(a.indexCapacityBlocks, 0) + held);
          }
          expect(accounting.reduce((s, a) => s + a.inFlightRequests, 0)).toBe(live.length);
        }
        for (const id of live.splice(0)) scheduler.complete(id, { ok: true });
        for (const a of scheduler.accounting()) {
          expect(a.inFlightRequests).toBe(0);
          expect(a.indexedBlocks).toBeLessThanOrEqual(Math.max(a.indexCapacityBlocks, 0));
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('scorer outputs', () => {
  // Raw plugin outputs, before the scheduler's clamp, on arbitrary metrics, loads and prefix matches.
  const scorerTypes = PLUGIN_TYPES.filter((t) => t.endsWith('-scorer'));
  const stateArb = fc.record({
    inFlightRequests: fc.nat({ max: 500 }),
    uncached: fc.nat({ max: 100_000 }),
    picked: fc.nat({ max: 200 }),
  });

  it('every scorer writes one score in [0, 1] per candidate', () => {
    fc.assert(
      fc.property(
        endpointsArb.chain((eps) =>
          fc.tuple(
            fc.constant(eps),
            fc.array(stateArb, { minLength: eps.length, maxLength: eps.length }),
            fc.array(fc.nat({ max: 40 }), { minLength: eps.length, maxLength: eps.length }),
          ),
        ),
        fc.constantFrom(...scorerTypes),
        fc.nat({ max: 2500 }),
        ([endpoints, loads, matched], type, length) => {
          const plugin = createPlugin({ type, name: type, parameters: {} });
          if (plugin?.kind !== 'scorer') throw new Error(`${type} is not a scorer`);
          const states: EndpointState[] = loads.map((l, id) => ({
            id,
            key: endpoints[id]!.key,
            lastSeenMs: 0,
            records: Array.from({ length: Math.min(l.inFlightRequests, 20) }, (_, k) => ({
              requestId: `q${k}`,
              endpointKey: endpoints[id]!.key,
              pickedAtMs: l.picked + k,
              promptTokens: 100,
              uncachedTokens: Math.floor(l.uncached / 20),
              outputTokens: 100,
              hashes: new Float64Array(0),
              predictedBlocks: 0,
              active: true,
            })),
            inFlightRequests: l.inFlightRequests,
            inFlightPromptTokens: l.uncached * 2,
            inFlightUncachedTokens: l.uncached,
            inFlightOutputTokens: l.inFlightRequests * 100,
            version: 0,
            queuedMemo: undefined,
            sinceScrapeMemo: undefined,
          }));
          const hashes = new Float64Array(Math.floor(length / 64));
          const prefix = {
            blockSize: 64,
            hashes,
            matchedBlocks: Int32Array.from(matched, (m) => Math.min(m, hashes.length)),
          };
          const out = new Float64Array(endpoints.length).fill(Number.NaN);
          plugin.score(
            {
              request: {
                id: 'x',
                model: 'm',
                priority: 0,
                fairnessId: 'f',
                promptTokens: new Uint32Array(length),
                sessionId: 's',
              },
              nowMs: 150,
              candidates: endpoints,
              states,
              prefix: () => prefix,
            },
            out,
          );
          for (const score of out) {
            expect(score).toBeGreaterThanOrEqual(0);
            expect(score).toBeLessThanOrEqual(1);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
