import { describe, expect, it } from 'vitest';
import { OutlierDetector } from '../../../scheduler/core/outlier.ts';
import type { Endpoint } from '../../../scheduler/core/types.ts';

const endpoint = (key: string): Endpoint => ({
  key,
  address: '10.0.0.1',
  port: 8000,
  labels: {},
  metrics: undefined,
});
const A = endpoint('a');
const B = endpoint('b');

describe('OutlierDetector', () => {
  it('ejects after the configured failures in a row, and a success in between resets the count', () => {
    const d = new OutlierDetector({ consecutiveFailures: 3, baseEjectionMs: 1000, maxEjectionMs: 8000 });
    d.record('a', 'server-error', 0);
    d.record('a', 'connect-failure', 1);
    d.record('a', 'success', 2);
    d.record('a', 'reset', 3);
    d.record('a', 'server-error', 4);
    expect(d.routable('a', 5)).toBe(true);
    expect(d.record('a', 'server-error', 5)).toEqual({
      kind: 'ejected',
      key: 'a',
      forMs: 1000,
      outcome: 'server-error',
    });
    expect(d.routable('a', 6)).toBe(false);
    expect(d.filter([A, B], 6)).toEqual([B]);
    expect(d.ejected(6)).toEqual(['a']);
  });

  it('lets one recovery probe through after the ejection time and recovers on its success', () => {
    const d = new OutlierDetector({ consecutiveFailures: 1, baseEjectionMs: 1000, maxEjectionMs: 8000 });
    d.record('a', 'connect-failure', 0);
    expect(d.routable('a', 999)).toBe(false);
    expect(d.routable('a', 1000)).toBe(true);
    d.picked('a', 'probe-1', 1000);
    expect(d.routable('a', 1001)).toBe(false); // one probe at a time
    expect(d.record('a', 'success', 1200, 'probe-1')).toEqual({ kind: 'recovered', key: 'a' });
    expect(d.routable('a', 1201)).toBe(true);
    expect(d.filter([A, B], 1201)).toEqual([A, B]);
  });

  it('ejects a failed probe at once for twice as long, up to the maximum', () => {
    const d = new OutlierDetector({ consecutiveFailures: 2, baseEjectionMs: 1000, maxEjectionMs: 3000 });
    d.record('a', 'reset', 0);
    d.record('a', 'reset', 0);
    d.picked('a', 'p1', 1000);
    expect(d.record('a', 'connect-failure', 1000, 'p1')).toMatchObject({ kind: 'ejected', forMs: 2000 });
    expect(d.routable('a', 2999)).toBe(false);
    d.picked('a', 'p2', 3000);
    expect(d.record('a', 'connect-failure', 3000, 'p2')).toMatchObject({ kind: 'ejected', forMs: 3000 });
    // A failure reported while ejected (a request sent before) changes nothing.
    expect(d.record('a', 'connect-failure', 3500)).toBeUndefined();
    expect(d.routable('a', 6000)).toBe(true);
  });

  it('frees the probe slot when the probe ends without a verdict, and forgets endpoints that left', () => {
    const d = new OutlierDetector({ consecutiveFailures: 1, baseEjectionMs: 100, maxEjectionMs: 100 });
    d.record('a', 'server-error', 0);
    d.picked('a', 'p1', 100);
    expect(d.routable('a', 101)).toBe(false);
    d.released('a', 'p1');
    expect(d.routable('a', 102)).toBe(true);
    d.record('b', 'server-error', 0);
    d.retain(new Set(['a']));
    expect(d.routable('b', 1)).toBe(true);
  });
});
