/* eslint-disable @typescript-eslint/no-non-null-assertion -- fixtures index arrays whose length the test fixes */
import { describe, expect, it } from 'vitest';
import {
  maxScorePicker,
  randomPicker,
  roundRobinPicker,
  weightedRandomPicker,
} from '../../../scheduler/core/plugins/pickers.ts';
import { fakeDeps } from './helpers.ts';

const spec = (type: string, parameters: Record<string, unknown> = {}) => ({ type, name: type, parameters });

function counts(pick: () => number[], n: number, size: number): number[] {
  const seen = new Array<number>(size).fill(0);
  for (let i = 0; i < n; i++) seen[pick()[0]!]!++;
  return seen;
}

describe('pickers', () => {
  it('max-score picks the maximum and breaks ties uniformly at random', () => {
    const { random } = fakeDeps(3);
    const picker = maxScorePicker(spec('max-score-picker'));
    expect(picker.pick(Float64Array.from([0.1, 0.9, 0.3]), random)).toEqual([1]);
    const tied = counts(() => picker.pick(Float64Array.from([2, 1, 2, 2]), random), 3000, 4);
    expect(tied[1]).toBe(0);
    for (const i of [0, 2, 3]) expect(tied[i]).toBeGreaterThan(850); // ≈ 1000 each
  });

  it('max-score with maxNumOfEndpoints returns fallbacks best first', () => {
    const picker = maxScorePicker(spec('max-score-picker', { maxNumOfEndpoints: 3 }));
    expect(picker.pick(Float64Array.from([0.5, 0.9, 0.1, 0.7]), fakeDeps().random)).toEqual([1, 3, 0]);
  });

  it('round-robin cycles through the candidates', () => {
    const picker = roundRobinPicker(spec('round-robin-picker'));
    const totals = new Float64Array(3);
    expect(Array.from({ length: 7 }, () => picker.pick(totals, Math.random)[0])).toEqual([
      0, 1, 2, 0, 1, 2, 0,
    ]);
  });

  it('random picks every candidate about equally, distinct fallbacks', () => {
    const { random } = fakeDeps(5);
    const picker = randomPicker(spec('random-picker', { maxNumOfEndpoints: 4 }));
    const order = picker.pick(new Float64Array(4), random);
    expect([...order].sort()).toEqual([0, 1, 2, 3]);
    const seen = counts(() => picker.pick(new Float64Array(4), random), 4000, 4);
    for (const c of seen) expect(c).toBeGreaterThan(850);
  });

  it('weighted random follows the weights and never prefers a zero weight', () => {
    const { random } = fakeDeps(9);
    const picker = weightedRandomPicker(spec('weighted-random-picker'));
    const seen = counts(() => picker.pick(Float64Array.from([1, 3, 0]), random), 8000, 3);
    expect(seen[2]).toBe(0);
    expect(seen[1]! / seen[0]!).toBeGreaterThan(2.6);
    expect(seen[1]! / seen[0]!).toBeLessThan(3.4);
  });
});
