// The proxy's per-request cancellation: what admission and callUpstream rely on of an abort signal.
import { describe, expect, it } from 'vitest';
import { Cancellation } from '../../../scheduler/proxy/cancellation.ts';

describe('Cancellation', () => {
  it('runs each listener once, on the first abort only, and keeps the first reason', () => {
    const cancel = new Cancellation();
    const calls: string[] = [];
    cancel.addEventListener('abort', () => calls.push('a'));
    cancel.addEventListener('abort', () => calls.push('b'));
    expect(cancel.aborted).toBe(false);
    const first = new Error('client went away');
    cancel.abort(first);
    cancel.abort(new Error('again'));
    expect(calls).toEqual(['a', 'b']);
    expect(cancel.aborted).toBe(true);
    expect(cancel.reason).toBe(first);
    cancel.addEventListener('abort', () => calls.push('late'));
    expect(calls).toEqual(['a', 'b']);
  });

  it('does not call a removed listener', () => {
    const cancel = new Cancellation();
    let called = false;
    const listener = (): void => {
      called = true;
    };
    cancel.addEventListener('abort', listener);
    cancel.removeEventListener('abort', listener);
    cancel.abort();
    expect(called).toBe(false);
  });

  it('gives an AbortSignal that follows it, whether made before or after the abort', () => {
    const before = new Cancellation();
    const signal = before.signal();
    expect(signal.aborted).toBe(false);
    const reason = new Error('shutting down');
    before.abort(reason);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);

    const after = new Cancellation();
    after.abort(reason);
    expect(after.signal().aborted).toBe(true);
    expect(after.signal()).toBe(after.signal());
  });
});
