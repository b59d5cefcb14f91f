// The pool's decode pace: the load integrals a decode window is described by, and the non-negative weighted fit.
import { describe, expect, it } from 'vitest';
import {
  advanceLoad,
  markLoad,
  newEndpointLoad,
  PACE_FEATURES,
  paceFeatures,
  WeightedRidge,
} from '../../../scheduler/core/plugins/decode-pace.ts';

/** A deterministic stream of numbers in [0, 1). */
function uniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

const features = (next: () => number): Float64Array =>
  Float64Array.of(1, 1 + 100 * next(), 20 * next(), 5 * next(), 10 * next());

describe('decode pace: load over a decode window', () => {
  it('gives the mean requests and prompt tokens in flight and the prefill that came back, per window', () => {
    const load = newEndpointLoad(0);
    load.inFlight = 2;
    load.promptTokens = 20_000;
    advanceLoad(load, 1000);
    const mark = markLoad(load);
    // Two requests for 1 s, then four (one more of 30,000 tokens and one of 50,000) for 3 s.
    advanceLoad(load, 2000);
    load.inFlight = 4;
    load.promptTokens = 100_000;
    load.prefilledTokens += 8000;
    load.prefilledAttention += 8000 * 4000;
    advanceLoad(load, 5000);
    const x = paceFeatures(load, mark, 4000, 99);
    expect(x[0]).toBe(1);
    expect(x[1]).toBeCloseTo((2 * 1 + 4 * 3) / 4, 12);
    expect(x[2]).toBeCloseTo((20_000 * 1 + 100_000 * 3) / 4 / 1e5, 12);
    expect(x[3]).toBeCloseTo(8000 / 99 / 1e3, 12);
    expect(x[4]).toBeCloseTo((8000 * 4000) / 99 / 1e8, 12);
  });

  it('never integrates backwards when an event arrives with an earlier time', () => {
    const load = newEndpointLoad(1000);
    load.inFlight = 1;
    advanceLoad(load, 900);
    expect(load.inFlightMs).toBe(0);
    advanceLoad(load, 1500);
    expect(load.inFlightMs).toBe(500);
  });
});

describe('decode pace: the weighted non-negative fit', () => {
  it('recovers a non-negative linear law from its samples', () => {
    const truth = [9, 0.02, 4.5, 40, 1.5];
    const fit = new WeightedRidge(PACE_FEATURES, 10_000, 1e-9);
    const next = uniform(7);
    for (let i = 0; i < 2000; i++) {
      const x = features(next);
      fit.add(
        x,
        truth.reduce((sum, w, j) => sum + w * (x[j] as number), 0),
      );
    }
    const w = fit.coefficients();
    truth.forEach((value, j) => expect(w[j]).toBeCloseTo(value, 3));
    const probe = Float64Array.of(1, 50, 10, 2, 3);
    expect(fit.predict(probe)).toBeCloseTo(9 + 1 + 45 + 80 + 4.5, 2);
  });

  it('keeps every coefficient at zero or above where a free fit would go negative', () => {
    // More of feature 1 comes with less time here (a slow endpoint with fewer requests in flight, say): a free
    // least-squares fit would give it a negative weight and explain the slowness away.
    const fit = new WeightedRidge(PACE_FEATURES, 10_000);
    const next = uniform(3);
    for (let i = 0; i < 500; i++) {
      const x = features(next);
      fit.add(x, 200 - (x[1] as number) + 3 * (x[2] as number));
    }
    const w = fit.coefficients();
    for (const value of w) expect(value).toBeGreaterThanOrEqual(0);
    expect(w[1]).toBe(0);
  });

  it('predicts the mean when the features do not vary (the intercept and a constant column are collinear)', () => {
    const fit = new WeightedRidge(PACE_FEATURES, 100);
    for (let i = 0; i < 60; i++) fit.add(Float64Array.of(1, 1, 0.01, 0, 0), i % 2 === 0 ? 40 : 60);
    const w = fit.coefficients();
    for (const value of w) expect(Number.isFinite(value)).toBe(true);
    // The latest samples weigh a little more: the mean is 50 within a tenth.
    expect(Math.abs(fit.predict(Float64Array.of(1, 1, 0.01, 0, 0)) - 50)).toBeLessThan(0.1);
    expect(Math.abs(fit.mean() - 50)).toBeLessThan(0.1);
    expect(fit.samples).toBe(60);
  });

  it('follows a change of law within its window', () => {
    const fit = new WeightedRidge(PACE_FEATURES, 50);
    const next = uniform(11);
    for (let i = 0; i < 500; i++) {
      const x = features(next);
      fit.add(x, 10 + (x[3] as number));
    }
    for (let i = 0; i < 500; i++) {
      const x = features(next);
      fit.add(x, 30 + 4 * (x[3] as number));
    }
    const w = fit.coefficients();
    // Within the ridge's shrinkage (0.1% of each feature's weight).
    expect(w[0]).toBeCloseTo(30, 0);
    expect(w[3]).toBeCloseTo(4, 1);
  });
});
