// callUpstream against real loopback servers: failures before the response headers reject (so the proxy can
// fail over), failures after them reach the sink, and a paused body resumes without losing bytes.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isConnectionRefusal } from '../../../scheduler/lifecycle/connection-errors.ts';
import { callUpstream, type ResponseSink } from '../../../scheduler/proxy/upstream-call.ts';

const agent = new Agent({ keepAliveTimeout: 1_000 });
let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

afterAll(() => agent.close());

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
}

interface Recorded {
  readonly events: string[];
  readonly chunks: Buffer[];
}

function recordingSink(onData?: (chunk: Buffer, resume: () => void) => boolean): ResponseSink & Recorded {
  const events: string[] = [];
  const chunks: Buffer[] = [];
  let resume = (): void => undefined;
  return {
    events,
    chunks,
    start(status, headers, r) {
      resume = r;
      events.push(`start ${String(status)} ${String(headers['content-type'])}`);
    },
    data(chunk) {
      chunks.push(chunk);
      return onData === undefined ? true : onData(chunk, resume);
    },
    end() {
      events.push('end');
    },
    error(err) {
      events.push(`error ${err.name}`);
    },
  };
}

describe('callUpstream', () => {
  it('rejects with a connection refusal before any response, without touching the sink', async () => {
    const origin = await listen(() => undefined);
    await new Promise<void>((r) => server?.close(() => r()));
    server = undefined;
    const sink = recordingSink();
    const error = await callUpstream(
      agent,
      { origin, path: '/v1/completions', method: 'POST', body: '{}' },
      new AbortController().signal,
      sink,
    ).catch((err: unknown) => err);
    expect(isConnectionRefusal(error)).toBe(true);
    expect(sink.events).toEqual([]);
  });

  it('rejects at once when the signal has already aborted', async () => {
    const origin = await listen((_req, res) => res.end('unexpected'));
    const abort = new AbortController();
    abort.abort(new Error('client went away'));
    await expect(
      callUpstream(agent, { origin, path: '/', method: 'GET' }, abort.signal, recordingSink()),
    ).rejects.toThrow('client went away');
  });

  it('delivers every byte of a body that the sink paused and resumed', async () => {
    const piece = Buffer.alloc(256 * 1024, 'y');
    const origin = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < 16; i++) res.write(piece);
      res.end();
    });
    let paused = 0;
    const sink = recordingSink((_chunk, resume) => {
      paused++;
      setTimeout(resume, 1);
      return false;
    });
    await callUpstream(agent, { origin, path: '/', method: 'GET' }, new AbortController().signal, sink);
    expect(paused).toBeGreaterThan(1);
    expect(sink.events).toEqual(['start 200 text/event-stream', 'end']);
    expect(Buffer.concat(sink.chunks).length).toBe(16 * piece.length);
  });

  it('reports an abort after the headers to the sink and resolves', async () => {
    const origin = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
    });
    const abort = new AbortController();
    const sink = recordingSink(() => {
      abort.abort(new Error('client went away'));
      return true;
    });
    await callUpstream(agent, { origin, path: '/', method: 'GET' }, abort.signal, sink);
    expect(sink.events[0]).toBe('start 200 text/event-stream');
    expect(sink.events.at(-1)).toBe('error Error');
    expect(Buffer.concat(sink.chunks).toString()).toBe('data: first\n\n');
  });
});
