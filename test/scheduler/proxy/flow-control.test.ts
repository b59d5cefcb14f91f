// Flow control through the HTTP proxy: a model server on loopback that holds every request until the test
// releases it, so the pool (one request at a time) stays saturated and later requests wait in the queue.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startProxyServer, type ProxyServer } from '../../../scheduler/proxy/server.ts';
import { until } from '../extproc/envoy-client.ts';
import { flowFixture, type FlowFixture } from '../service/flow-fixture.ts';

/** A model server that records the order requests arrive in and answers each one when released. */
class HoldingUpstream {
  readonly arrivals: string[] = [];
  private readonly held = new Map<string, ServerResponse>();
  readonly server: Server;

  constructor() {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.once('end', () => {
        const id = String(req.headers['x-request-id']);
        this.arrivals.push(id);
        this.held.set(id, res);
      });
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  release(id: string): void {
    const res = this.held.get(id);
    if (res === undefined) {
      throw new Error(`request ${id} is not held upstream`);
    }
    this.held.delete(id);
    const body = JSON.stringify({
      id,
      object: 'text_completion',
      model: 'm',
      choices: [{ index: 0, text: 'ok', finish_reason: 'stop' }],
      usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

interface Setup {
  readonly upstream: HoldingUpstream;
  readonly fixture: FlowFixture;
  readonly proxy: ProxyServer;
  send(id: string, headers?: Record<string, string>, signal?: AbortSignal): Promise<Response>;
}

let current: Setup | undefined;

async function setup(ttlMs = 30_000): Promise<Setup> {
  const upstream = new HoldingUpstream();
  const port = await upstream.listen();
  const fixture = flowFixture(`127.0.0.1:${port}`, { requestTtlMs: ttlMs });
  fixture.service.setObjectivePriorities(
    new Map([
      ['premium', 100],
      ['batch', -10],
    ]),
  );
  const proxy = await startProxyServer({ host: '127.0.0.1', port: 0, service: fixture.service });
  const send = (id: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> =>
    fetch(`http://127.0.0.1:${proxy.port}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': id, ...headers },
      body: JSON.stringify({ model: 'm', prompt: `prompt of ${id}`, max_tokens: 1 }),
      ...(signal !== undefined ? { signal } : {}),
    });
  current = { upstream, fixture, proxy, send };
  return current;
}

afterEach(async () => {
  await current?.proxy.close(100);
  await current?.upstream.close();
  current = undefined;
});

/**
 * Sends a request and waits until it is queued, so that queue order is the order of the calls. The response
 * is wrapped so that awaiting the queueing does not await the response too.
 */
async function sendQueued(
  s: Setup,
  id: string,
  headers: Record<string, string> = {},
): Promise<{ response: Promise<Response> }> {
  const queuedBefore = s.fixture.service.queuedCount();
  const response = s.send(id, headers);
  await until(() => s.fixture.service.queuedCount() === queuedBefore + 1);
  return { response };
}

/** Releases the request upstream and waits for the next one to arrive there (when one is expected). */
async function releaseAndAwaitNext(s: Setup, id: string, expectNext: boolean): Promise<void> {
  const arrived = s.upstream.arrivals.length;
  s.upstream.release(id);
  if (expectNext) {
    await until(() => s.upstream.arrivals.length === arrived + 1);
  }
}

describe('HTTP proxy with flow control', () => {
  it('dispatches a premium request queued after batch and normal ones first, then by priority', async () => {
    const s = await setup();
    const first = s.send('first');
    await until(() => s.upstream.arrivals.length === 1);
    const batch = (await sendQueued(s, 'batch', { 'x-llm-d-inference-objective': 'batch' })).response;
    const normal = (await sendQueued(s, 'normal')).response;
    const premium = (await sendQueued(s, 'premium', { 'x-gateway-inference-objective': 'premium' })).response;
    expect(s.upstream.arrivals).toEqual(['first']);

    await releaseAndAwaitNext(s, 'first', true);
    await releaseAndAwaitNext(s, 'premium', true);
    await releaseAndAwaitNext(s, 'normal', true);
    await releaseAndAwaitNext(s, 'batch', false);
    expect(s.upstream.arrivals).toEqual(['first', 'premium', 'normal', 'batch']);

    const statuses = await Promise.all([first, batch, normal, premium].map(async (r) => (await r).status));
    expect(statuses).toEqual([200, 200, 200, 200]);
    await until(() => s.fixture.service.inFlightCount() === 0);
    expect(s.fixture.inFlight()).toBe(0);
    expect(s.fixture.scheduler.queuedRequests()).toBe(0);
  });

  it('alternates between fairness ids within one band', async () => {
    const s = await setup();
    const responses = [s.send('hold')];
    await until(() => s.upstream.arrivals.length === 1);
    for (const id of ['a1', 'a2', 'a3']) {
      responses.push((await sendQueued(s, id, { 'x-llm-d-inference-fairness-id': 'tenant-a' })).response);
    }
    for (const id of ['b1', 'b2']) {
      responses.push((await sendQueued(s, id, { 'x-gateway-inference-fairness-id': 'tenant-b' })).response);
    }
    for (const id of ['hold', 'a1', 'b1', 'a2', 'b2']) {
      await releaseAndAwaitNext(s, id, true);
    }
    s.upstream.release('a3');
    expect(s.upstream.arrivals).toEqual(['hold', 'a1', 'b1', 'a2', 'b2', 'a3']);
    for (const response of responses) {
      expect((await response).status).toBe(200);
    }
    await until(() => s.fixture.inFlight() === 0);
  });

  it('answers 429 with the dropped reason when a request outlives its queue TTL', async () => {
    const s = await setup(150);
    const hold = s.send('hold');
    await until(() => s.upstream.arrivals.length === 1);
    const late = await (await sendQueued(s, 'late')).response;
    expect(late.status).toBe(429);
    expect(late.headers.get('x-llm-d-request-dropped-reason')).toBe('rejected-ttl-expired');
    expect(await late.json()).toMatchObject({ error: { code: 'rejected-ttl-expired' } });
    expect(s.fixture.service.queuedCount()).toBe(0);
    expect(s.fixture.scheduler.queuedRequests()).toBe(0);
    s.upstream.release('hold');
    expect((await hold).status).toBe(200);
    expect(s.upstream.arrivals).toEqual(['hold']);
    await until(() => s.fixture.inFlight() === 0);
    expect(s.fixture.service.inFlightCount()).toBe(0);
  });

  it('queues two requests that reuse one x-request-id under distinct routing ids', async () => {
    const s = await setup();
    const hold = s.send('hold');
    await until(() => s.upstream.arrivals.length === 1);
    const one = (await sendQueued(s, 'same')).response;
    const two = (await sendQueued(s, 'same')).response;
    await releaseAndAwaitNext(s, 'hold', true);
    await releaseAndAwaitNext(s, s.upstream.arrivals[1] ?? '', true);
    s.upstream.release(s.upstream.arrivals[2] ?? '');
    expect(s.upstream.arrivals[1]).toBe('same');
    expect(s.upstream.arrivals[2]).toMatch(/^same#/);
    expect([(await hold).status, (await one).status, (await two).status]).toEqual([200, 200, 200]);
    await until(() => s.fixture.inFlight() === 0);
  });

  it('forgets a queued request whose client went away', async () => {
    const s = await setup();
    const hold = s.send('hold');
    await until(() => s.upstream.arrivals.length === 1);
    const abort = new AbortController();
    const gone = s.send('gone', {}, abort.signal).catch((error: unknown) => error);
    await until(() => s.fixture.service.queuedCount() === 1);
    abort.abort();
    expect(await gone).toBeInstanceOf(Error);
    await until(() => s.fixture.service.queuedCount() === 0);
    expect(s.fixture.scheduler.queuedRequests()).toBe(0);

    await releaseAndAwaitNext(s, 'hold', false);
    expect((await hold).status).toBe(200);
    const next = s.send('next');
    await until(() => s.upstream.arrivals.length === 2);
    s.upstream.release('next');
    expect((await next).status).toBe(200);
    expect(s.upstream.arrivals).toEqual(['hold', 'next']);
    await until(() => s.fixture.inFlight() === 0);
    expect(s.fixture.service.inFlightCount()).toBe(0);
  });
});
