// Cancelled requests, counted exactly on both faces: before, 7–23 of 50 cancelled ext_proc streams were
// recorded as successes and the prefix index kept the blocks of requests that never ran.
import { afterEach, describe, expect, it } from 'vitest';
import { EnvoyStream, connectExtProc, until } from '../extproc/envoy-client.ts';
import { MODEL, startStack, type Stack } from '../proxy/stack.ts';

let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** Sum of llm_d_epp_request_error_total samples with this error code. */
function errorsOf(exposition: string, code: string): number {
  return exposition
    .split('\n')
    .filter(
      (line) => line.startsWith('llm_d_epp_request_error_total{') && line.includes(`error_code="${code}"`),
    )
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

function indexed(s: Stack): { inFlight: number; blocks: number } {
  const accounting = s.scheduler.accounting();
  return {
    inFlight: accounting.reduce((sum, a) => sum + a.inFlightRequests, 0),
    blocks: accounting.reduce((sum, a) => sum + a.indexedBlocks, 0),
  };
}

/** A prompt of several 64-token blocks, distinct per request. */
const prompt = (i: number): string =>
  `request ${i}: ${'the quick brown fox jumps over the lazy dog '.repeat(40)}`;

describe('cancel accounting', () => {
  it('ext_proc: every cancelled stream is recorded as cancelled and its prefix blocks are released', async () => {
    stack = await startStack({ replicas: 3, extproc: true, policy: 'switchyard' });
    const s = stack;
    const client = connectExtProc(s.extproc?.port ?? 0);
    try {
      const streams: Promise<void>[] = [];
      for (let i = 0; i < 50; i++) {
        streams.push(
          (async () => {
            const stream = new EnvoyStream(client);
            const body = Buffer.from(JSON.stringify({ model: MODEL, prompt: prompt(i), stream: true }));
            stream.requestHeaders(
              { ':method': 'POST', ':path': '/v1/completions', 'x-request-id': `c-${i}` },
              false,
            );
            stream.requestBody(body, true);
            await stream.waitFor(2);
            if (i % 4 >= 1)
              stream.responseHeaders({ ':status': '200', 'content-type': 'text/event-stream' }, false);
            if (i % 4 >= 2) stream.responseBody(Buffer.from('data: {"choices":[{"text":"a"}]}\n\n'), false);
            // The gateway gives up: a cancel (RST_STREAM), or for every fourth a half-close without a response end.
            if (i % 4 === 3) stream.end();
            else stream.cancel();
            await stream.ended;
          })(),
        );
      }
      // Ten that complete, to show successes stay successes and keep their blocks.
      for (let i = 50; i < 60; i++) {
        streams.push(
          (async () => {
            const stream = new EnvoyStream(client);
            const body = Buffer.from(JSON.stringify({ model: MODEL, prompt: prompt(i) }));
            stream.requestHeaders(
              { ':method': 'POST', ':path': '/v1/completions', 'x-request-id': `ok-${i}` },
              false,
            );
            stream.requestBody(body, true);
            await stream.waitFor(2);
            stream.responseHeaders({ ':status': '200', 'content-type': 'application/json' }, false);
            stream.responseBody(
              Buffer.from(
                '{"usage":{"prompt_tokens":500,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":0}}}',
              ),
              true,
            );
            await stream.waitFor(4);
            stream.end();
            await stream.ended;
          })(),
        );
      }
      await Promise.all(streams);
      await until(() => s.service.inFlightCount() === 0);
      const exposition = await s.metrics.registry.metrics();
      expect(errorsOf(exposition, 'Cancelled')).toBe(50);
      expect(errorsOf(exposition, 'ModelServerError')).toBe(0);
      const after = indexed(s);
      expect(after.inFlight).toBe(0);
      // Only the ten completed requests keep blocks: each prompt has at least 6 full 64-token blocks.
      expect(after.blocks).toBeGreaterThanOrEqual(10 * 6);
      expect(after.blocks).toBeLessThanOrEqual(10 * 8);
    } finally {
      client.close();
    }
  }, 60_000);

  it('proxy: every client that goes away is recorded as cancelled and its prefix blocks are released', async () => {
    stack = await startStack({ replicas: 2, policy: 'switchyard', slowdown: 5 });
    const s = stack;
    const requests: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      requests.push(
        (async () => {
          const abort = new AbortController();
          // Odd ones leave before the response starts, even ones after its first event.
          if (i % 2 === 1) setTimeout(() => abort.abort(), 20 + (i % 7) * 5);
          try {
            const res = await fetch(`${s.url}/v1/completions`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'x-request-id': `p-${i}` },
              body: JSON.stringify({ model: MODEL, prompt: prompt(i), stream: true, max_tokens: 500 }),
              signal: abort.signal,
            });
            await res.body?.getReader().read();
            abort.abort();
          } catch {
            // aborted
          }
        })(),
      );
    }
    await Promise.all(requests);
    await until(() => s.service.inFlightCount() === 0, 10_000);
    const exposition = await s.metrics.registry.metrics();
    // A client that leaves before its request was read never became a request; every other one is a
    // cancellation, and nothing else.
    const reached = exposition
      .split('\n')
      .filter((line) => line.startsWith('llm_d_epp_request_total{'))
      .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    expect(reached).toBeGreaterThanOrEqual(25);
    expect(errorsOf(exposition, 'Cancelled')).toBe(reached);
    expect(indexed(s)).toEqual({ inFlight: 0, blocks: 0 });
  }, 60_000);
});
