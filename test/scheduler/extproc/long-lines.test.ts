// Response streams that never send a newline: the usage reader and the response rewriter hold a bounded
// part of the unfinished line, give up on lines too long to be usage events, and still echo every byte.
import { afterEach, describe, expect, it } from 'vitest';
import type { Client } from '@grpc/grpc-js';
import {
  MAX_EVENT_LINE_CHARS,
  ResponseRewriter,
  UsageReader,
} from '../../../scheduler/extproc/response-body.ts';
import { startExtProcServer, type ExtProcServer } from '../../../scheduler/extproc/server.ts';
import { EnvoyStream, connectExtProc, streamedChunks, until } from './envoy-client.ts';
import { routingFixture } from './routing-fixture.ts';

const CHUNK = Buffer.alloc(64 * 1024, 'x');
const USAGE_EVENT =
  '\n\ndata: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,' +
  '"prompt_tokens_details":{"cached_tokens":8}}}\n\ndata: [DONE]\n\n';

describe('newline-free response streams', () => {
  it('reads usage after a 64 MB line while holding at most one bounded line', () => {
    const reader = new UsageReader(true);
    reader.push(Buffer.from('data: {"usage":'));
    let largestBuffer = 0;
    for (let i = 0; i < 1024; i++) {
      reader.push(CHUNK);
      largestBuffer = Math.max(largestBuffer, reader.bufferedSize());
    }
    // The 64 MB line itself is given up on; the events after it are read as usual.
    reader.push(Buffer.from(USAGE_EVENT));
    expect(largestBuffer).toBeLessThanOrEqual(MAX_EVENT_LINE_CHARS);
    expect(reader.bufferedSize()).toBe(0);
    expect(reader.finish()).toEqual({ promptTokens: 9, completionTokens: 4, cachedTokens: 8 });
  });

  it('still reads a usage event that arrives in many small pieces', () => {
    const reader = new UsageReader(true);
    const event = Buffer.from(USAGE_EVENT);
    for (let at = 0; at < event.length; at += 3) {
      reader.push(event.subarray(at, at + 3));
    }
    expect(reader.finish()).toEqual({ promptTokens: 9, completionTokens: 4, cachedTokens: 8 });
  });

  it('gives up on a line longer than the limit even when the stream ends without a newline', () => {
    const reader = new UsageReader(true);
    reader.push(Buffer.from('data: {"usage":{"prompt_tokens":1}, "pad": "'));
    reader.push(Buffer.alloc(MAX_EVENT_LINE_CHARS + 1, 'y'));
    reader.push(Buffer.from('"}'));
    expect(reader.bufferedSize()).toBe(0);
    expect(reader.finish()).toBeUndefined();
  });

  it('echoes every byte of a 64 MB line through the response rewriter, holding a bounded amount', () => {
    const restorer = new ResponseRewriter({
      model: { served: 'served', client: 'alias' },
      dropUsageEvents: true,
      streaming: true,
    });
    let input = 0;
    let output = 0;
    let largestHeld = 0;
    const head = Buffer.from('data: {"model":"served","text":"');
    input += head.length;
    output += restorer.push(head).length;
    for (let i = 0; i < 1024; i++) {
      input += CHUNK.length;
      output += restorer.push(CHUNK).length;
      largestHeld = Math.max(largestHeld, input - output);
    }
    output += restorer.end().length;
    // The name sits in the held part when the line is let through, so it is still restored (5 bytes shorter).
    expect(output).toBe(input - 'served'.length + 'alias'.length);
    expect(largestHeld).toBeLessThanOrEqual(MAX_EVENT_LINE_CHARS + CHUNK.length);
  });
});

describe('newline-free response streams through the ext_proc server', () => {
  let server: ExtProcServer | undefined;
  let client: Client | undefined;

  afterEach(async () => {
    client?.close();
    await server?.close(100);
  });

  it('echoes a 16 MB event stream without newlines and still reports the usage that follows', async () => {
    const service = routingFixture({ endpoints: ['10.0.0.1:8000'] });
    server = await startExtProcServer({ host: '127.0.0.1', port: 0, service });
    client = connectExtProc(server.port);
    const stream = new EnvoyStream(client);
    stream.requestHeaders({ ':method': 'POST', 'x-request-id': 'long-line' }, false);
    // The client asks for usage itself, so the router passes the stream through unchanged.
    stream.requestBody(
      Buffer.from(
        JSON.stringify({ model: 'm', prompt: 'p', stream: true, stream_options: { include_usage: true } }),
      ),
      true,
    );
    await stream.waitFor(2);
    stream.responseHeaders({ ':status': '200', 'content-type': 'text/event-stream' }, false);
    const sent: Buffer[] = [Buffer.from('data: ')];
    for (let i = 0; i < 256; i++) {
      sent.push(CHUNK);
    }
    sent.push(Buffer.from(USAGE_EVENT));
    for (const [i, chunk] of sent.entries()) {
      stream.responseBody(chunk, i === sent.length - 1);
    }
    await until(
      () => streamedChunks(stream.received, 'responseBody').some((chunk) => chunk.endOfStream),
      30_000,
    );
    const echoed = streamedChunks(stream.received, 'responseBody').map((chunk) => chunk.body);
    expect(Buffer.concat(echoed).equals(Buffer.concat(sent))).toBe(true);
    stream.end();
    await stream.ended;
    expect(service.completions.get('long-line')).toEqual([
      { ok: true, outcome: 'success', promptTokens: 9, completionTokens: 4, cachedTokens: 8 },
    ]);
    expect(service.inFlight()).toBe(0);
  }, 60_000);
});
