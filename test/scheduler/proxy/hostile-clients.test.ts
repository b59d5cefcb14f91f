// Clients that never send a valid request: their sockets are destroyed (not half-closed with end(), which
// left the descriptor in FIN-WAIT-2 while the client kept writing), and a client dripping its headers is cut
// off by the headers timeout.
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './stack.ts';

let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** Writes `piece` every `everyMs` until the server closes the connection; resolves with what it answered. */
function keepWriting(port: number, first: string, piece: string, everyMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (data: Buffer) => (answer += data.toString('latin1')));
    socket.on('error', () => undefined);
    socket.once('connect', () => socket.write(first));
    const timer = setInterval(() => {
      if (!socket.destroyed && socket.writable) socket.write(piece);
    }, everyMs);
    socket.once('close', () => {
      clearInterval(timer);
      resolve(answer);
    });
  });
}

describe('hostile clients', () => {
  it('destroys the socket of a client that sends garbage and keeps writing', async () => {
    stack = await startStack({ replicas: 1 });
    const answer = await keepWriting(stack.proxy.port, 'NOT HTTP AT ALL\r\n', 'x'.repeat(1024), 10);
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    // Still serving.
    expect((await fetch(`${stack.url}/healthz`)).status).toBe(200);
  }, 20_000);

  it('cuts off a client that drips its headers (slow-loris) with 408', async () => {
    stack = await startStack({ replicas: 1, proxy: { headersTimeoutMs: 300 } });
    const answer = await keepWriting(
      stack.proxy.port,
      'POST /v1/completions HTTP/1.1\r\nhost: x\r\n',
      'x',
      50,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout/);
  }, 20_000);
});
