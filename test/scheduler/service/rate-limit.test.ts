// A model's request-rate limit (route.rateLimit → --rate-limit on its router): a token bucket both faces spend,
// refusing with 429 rate_limit_exceeded and Retry-After; a malformed request spends nothing.
import type { Client } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenBucket } from '../../../scheduler/lifecycle/rate-limit.ts';
import type { RunningRouter } from '../../../scheduler/service/router-app.ts';
import { startRouterOverSim } from './loopback-router.ts';
import { connectExtProc, EnvoyStream } from '../extproc/envoy-client.ts';

describe('the token bucket', () => {
  it('admits a burst, then one request per 1/rate seconds, and says how long to wait', () => {
    let now = 0;
    const bucket = new TokenBucket({ requestsPerSecond: 2, burst: 3 }, () => now);
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([undefined, undefined, undefined]);
    expect(bucket.take()).toBe(1);
    now += 499;
    expect(bucket.take()).toBe(1);
    now += 2;
    expect(bucket.take()).toBeUndefined();
    now += 10_000;
    // Refills up to the burst, no further.
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([
      undefined,
      undefined,
      undefined,
      1,
    ]);
  });

  it('needs a positive rate and a burst of at least one', () => {
    expect(() => new TokenBucket({ requestsPerSecond: 0, burst: 1 })).toThrow('requestsPerSecond > 0');
  });
});

describe('a router with --rate-limit', () => {
  let router: RunningRouter;
  let close: () => Promise<void>;
  let client: Client;
  const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';

  beforeAll(async () => {
    ({ router, close } = await startRouterOverSim(MODEL, ['--rate-limit', '0.5', '--rate-limit-burst', '2']));
    client = connectExtProc(router.ports.grpc);
  });

  afterAll(async () => {
    client.close();
    await close();
  });

  const post = (body: unknown): Promise<Response> =>
    fetch(`http://127.0.0.1:${router.ports.http}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('admits the burst on either face and refuses the next with 429, Retry-After and an OpenAI error', async () => {
    // A malformed request is refused before it could spend a token.
    expect((await post({ prompt: 'no model' })).status).toBe(400);
    expect((await post({ model: MODEL, prompt: 'one', max_tokens: 2 })).status).toBe(200);
    // The second token goes to an ext_proc request: one bucket for both faces.
    const stream = new EnvoyStream(client);
    stream.requestHeaders({ ':path': '/v1/completions', ':method': 'POST' }, false);
    stream.requestBody(Buffer.from(JSON.stringify({ model: MODEL, prompt: 'two', max_tokens: 2 })), true);
    const [routed] = await stream.waitFor(1);
    expect(routed?.immediateResponse ?? undefined).toBeUndefined();
    stream.cancel();

    const refused = await post({ model: MODEL, prompt: 'three', max_tokens: 2 });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('2');
    expect(await refused.json()).toMatchObject({
      error: { type: 'rate_limit_error', code: 'rate_limit_exceeded' },
    });
    const viaExtProc = new EnvoyStream(client);
    viaExtProc.requestHeaders({ ':path': '/v1/completions', ':method': 'POST' }, false);
    viaExtProc.requestBody(Buffer.from(JSON.stringify({ model: MODEL, prompt: 'four' })), true);
    const [answer] = await viaExtProc.waitFor(1);
    expect(answer?.immediateResponse?.status?.code).toBe(429);
    const metrics = await (await fetch(`http://127.0.0.1:${router.ports.metrics}/metrics`)).text();
    expect(metrics).toMatch(/llm_d_epp_request_error_total\{[^}]*error_code="ResourceExhausted"[^}]*\} 2/);
  });
});
