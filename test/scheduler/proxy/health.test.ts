// The endpoint-health-scorer fed by the real request path: the proxy reports first response bytes and the usage it
// asked for, from simulated replicas on loopback, one of them slower.
import { afterEach, describe, expect, it } from 'vitest';
import { profileConfig } from '../core/helpers.ts';
import { MODEL, startStack, type Stack } from './stack.ts';

/** The health scorer alone, with a random picker: every replica keeps getting requests to learn from. */
const HEALTH_ONLY = profileConfig([{ type: 'endpoint-health-scorer' }, { type: 'random-picker' }]);

describe('endpoint-health-scorer behind the HTTP proxy', () => {
  let stack: Stack | undefined;

  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('learns that a replica twenty times slower is slow from streamed answers, and scores it below the others', async () => {
    stack = await startStack({ replicas: 3, faults: [{ slowdown: 20 }], config: HEALTH_ONLY });
    const served = new Map<string, number>();
    for (let i = 0; i < 60; i++) {
      // Streamed, without asking for usage: the router asks for it itself.
      const res = await fetch(`${stack.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, prompt: `question ${i}`, max_tokens: 2, stream: true }),
      });
      expect(res.status).toBe(200);
      const by = res.headers.get('x-gateway-destination-endpoint-served') ?? '';
      served.set(by, (served.get(by) ?? 0) + 1);
      await res.text();
    }
    const slow = `127.0.0.1:${stack.sims[0]?.port ?? 0}`;
    // The random picker sent the slow replica its share.
    expect(served.get(slow)).toBeGreaterThanOrEqual(5);
    const probe = stack.scheduler.pick(
      {
        id: 'probe',
        model: MODEL,
        priority: 0,
        fairnessId: 'default-flow',
        promptTokens: Uint32Array.of(1, 2, 3),
        streaming: true,
      },
      stack.service.routableEndpoints(),
    );
    if (probe.kind !== 'picked') throw new Error(`probe not picked: ${probe.kind}`);
    stack.scheduler.complete('probe', { ok: false });
    // Below 1, and below every healthy replica (whose averages may still carry a slow first request that opened
    // the connection).
    const slowScore = probe.scores.get(slow) ?? 1;
    expect(slowScore).toBeLessThan(1);
    for (const [key, score] of probe.scores) if (key !== slow) expect(score).toBeGreaterThan(slowScore);
    expect(stack.service.inFlightCount()).toBe(0);
  }, 30_000);
});
