// Flow control through the ext_proc server, with a real gRPC client playing Envoy's part: the pool holds one
// request at a time, so later streams wait for their header response until an earlier response completes.
import { afterEach, describe, expect, it } from 'vitest';
import type { Client } from '@grpc/grpc-js';
import { startExtProcServer, type ExtProcServer } from '../../../scheduler/extproc/server.ts';
import { flowFixture, type FlowFixture } from '../service/flow-fixture.ts';
import { EnvoyStream, connectExtProc, mutatedHeader, until } from './envoy-client.ts';

const ENDPOINT = '10.0.0.1:8000';

interface Setup {
  readonly fixture: FlowFixture;
  readonly server: ExtProcServer;
  readonly client: Client;
}

let current: Setup | undefined;

async function setup(ttlMs = 30_000): Promise<Setup> {
  const fixture = flowFixture(ENDPOINT, { requestTtlMs: ttlMs });
  fixture.service.setObjectivePriorities(
    new Map([
      ['premium', 100],
      ['batch', -10],
    ]),
  );
  const server = await startExtProcServer({ host: '127.0.0.1', port: 0, service: fixture.service });
  current = { fixture, server, client: connectExtProc(server.port) };
  return current;
}

afterEach(async () => {
  current?.client.close();
  await current?.server.close(100);
  current = undefined;
});

/** Opens a stream and sends one request; resolves once the router has taken it (routed or queued). */
async function request(s: Setup, id: string, headers: Record<string, string> = {}): Promise<EnvoyStream> {
  const stream = new EnvoyStream(s.client);
  const queuedBefore = s.fixture.service.queuedCount();
  const inFlightBefore = s.fixture.service.inFlightCount();
  stream.requestHeaders(
    {
      ':method': 'POST',
      ':path': '/v1/completions',
      'content-type': 'application/json',
      'x-request-id': id,
      ...headers,
    },
    false,
  );
  stream.requestBody(Buffer.from(JSON.stringify({ model: 'm', prompt: `prompt of ${id}` })), true);
  await until(
    () =>
      s.fixture.service.queuedCount() > queuedBefore ||
      s.fixture.service.inFlightCount() > inFlightBefore ||
      stream.received.length > 0,
  );
  return stream;
}

/** Plays the upstream response back through the stream, which completes the request. */
function respond(stream: EnvoyStream): void {
  stream.responseHeaders({ ':status': '200', 'content-type': 'application/json' }, false);
  stream.responseBody(
    Buffer.from(JSON.stringify({ usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } })),
    true,
  );
}

/** Which of the streams have received their routing answer so far. */
function answered(streams: Record<string, EnvoyStream>): string[] {
  return Object.entries(streams)
    .filter(([, stream]) => stream.received.some((r) => r.requestHeaders != null))
    .map(([name]) => name);
}

describe('ext_proc with flow control', () => {
  it('answers a premium stream queued after batch and normal ones first', async () => {
    const s = await setup();
    const first = await request(s, 'first');
    await first.waitFor(1);
    const queued = {
      batch: await request(s, 'batch', { 'x-llm-d-inference-objective': 'batch' }),
      normal: await request(s, 'normal'),
      premium: await request(s, 'premium', { 'x-llm-d-inference-objective': 'premium' }),
    };
    expect(s.fixture.service.queuedCount()).toBe(3);
    expect(answered(queued)).toEqual([]);

    const order: string[] = [];
    let previous = first;
    for (let round = 0; round < 3; round++) {
      respond(previous);
      await until(() => answered(queued).length === order.length + 1);
      const next = answered(queued).find((name) => !order.includes(name)) ?? '';
      order.push(next);
      const stream = queued[next as keyof typeof queued];
      expect(mutatedHeader(stream.received[0], 'x-gateway-destination-endpoint')).toBe(ENDPOINT);
      previous = stream;
    }
    respond(previous);
    expect(order).toEqual(['premium', 'normal', 'batch']);
    for (const stream of [first, ...Object.values(queued)]) {
      stream.end();
      await stream.ended;
    }
    await until(() => s.fixture.service.inFlightCount() === 0);
    expect(s.fixture.inFlight()).toBe(0);
    expect(s.fixture.scheduler.queuedRequests()).toBe(0);
  });

  it('alternates between fairness ids within one band', async () => {
    const s = await setup();
    const first = await request(s, 'first');
    await first.waitFor(1);
    const queued: Record<string, EnvoyStream> = {};
    for (const id of ['a1', 'a2', 'b1', 'b2']) {
      queued[id] = await request(s, id, { 'x-llm-d-inference-fairness-id': `tenant-${id[0] ?? ''}` });
    }
    const order: string[] = [];
    let previous = first;
    for (let round = 0; round < 4; round++) {
      respond(previous);
      await until(() => answered(queued).length === order.length + 1);
      const next = answered(queued).find((name) => !order.includes(name)) ?? '';
      order.push(next);
      previous = queued[next] ?? first;
    }
    respond(previous);
    expect(order).toEqual(['a1', 'b1', 'a2', 'b2']);
    await until(() => s.fixture.service.inFlightCount() === 0);
    expect(s.fixture.inFlight()).toBe(0);
  });

  it('answers 429 with the dropped reason when a stream outlives its queue TTL', async () => {
    const s = await setup(150);
    const first = await request(s, 'first');
    await first.waitFor(1);
    const late = await request(s, 'late');
    const [answer] = await late.waitFor(1);
    expect(answer?.immediateResponse?.status.code).toBe(429);
    expect(mutatedHeader(answer, 'x-llm-d-request-dropped-reason')).toBe('rejected-ttl-expired');
    expect((await late.ended).code).toBe(0);
    expect(s.fixture.service.queuedCount()).toBe(0);
    respond(first);
    await until(() => s.fixture.service.inFlightCount() === 0);
    expect(s.fixture.inFlight()).toBe(0);
  });

  it('forgets a queued stream that Envoy cancels', async () => {
    const s = await setup();
    const first = await request(s, 'first');
    await first.waitFor(1);
    const gone = await request(s, 'gone');
    expect(s.fixture.service.queuedCount()).toBe(1);
    gone.cancel();
    await until(() => s.fixture.service.queuedCount() === 0);
    expect(s.fixture.scheduler.queuedRequests()).toBe(0);
    respond(first);
    await until(() => s.fixture.service.inFlightCount() === 0);
    // The pool is free again and nothing was dispatched for the cancelled stream.
    expect(gone.received).toEqual([]);
    const next = await request(s, 'next');
    await next.waitFor(1);
    expect(mutatedHeader(next.received[0], 'x-gateway-destination-endpoint')).toBe(ENDPOINT);
    respond(next);
    await until(() => s.fixture.service.inFlightCount() === 0);
    expect(s.fixture.inFlight()).toBe(0);
  });

  it('queues two streams that reuse one x-request-id under distinct routing ids', async () => {
    const s = await setup();
    const first = await request(s, 'first');
    await first.waitFor(1);
    const one = await request(s, 'same');
    const two = await request(s, 'same');
    expect(s.fixture.service.queuedCount()).toBe(2);
    respond(first);
    await one.waitFor(1);
    expect(one.received[0]?.requestHeaders).toBeDefined();
    respond(one);
    await two.waitFor(1);
    expect(two.received[0]?.requestHeaders).toBeDefined();
    respond(two);
    await until(() => s.fixture.service.inFlightCount() === 0);
    expect(s.fixture.inFlight()).toBe(0);
  });

  it('takes a queued request out of the queue when its stream breaks the protocol', async () => {
    const s = await setup();
    const first = await request(s, 'first');
    await first.waitFor(1);
    const broken = await request(s, 'broken');
    broken.requestHeaders({ ':method': 'POST' }, false);
    const [answer] = await broken.waitFor(1);
    expect(answer?.immediateResponse?.status.code).toBe(400);
    expect(s.fixture.service.queuedCount()).toBe(0);
    expect(s.fixture.scheduler.queuedRequests()).toBe(0);
    respond(first);
    await until(() => s.fixture.service.inFlightCount() === 0);
    expect(s.fixture.inFlight()).toBe(0);
  });
});
