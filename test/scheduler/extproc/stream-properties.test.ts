// Properties of the per-stream state machine, driven directly (no gRPC): whatever the chunking, the body
// is echoed intact in ≤ 62,000-byte chunks after one routing answer; whatever the bytes, the router answers
// and never leaves a request in flight.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { estimatePromptTokens } from '../../../scheduler/core/index.ts';
import type { ProcessingResponse } from '../../../scheduler/extproc/messages.ts';
import { ExtProcStream } from '../../../scheduler/extproc/request-stream.ts';
import type { ExtProcDeps } from '../../../scheduler/extproc/request-stream.ts';
import { routingFixture } from './routing-fixture.ts';
import { mutatedHeader, streamedChunks } from './envoy-client.ts';

function harness(): { deps: ExtProcDeps; service: ReturnType<typeof routingFixture> } {
  const service = routingFixture({ endpoints: ['10.0.0.1:8000', '10.0.0.2:8000'] });
  return {
    service,
    deps: {
      service,
      metrics: undefined,
      maxBodyBytes: 1 << 20,
      tokenize: estimatePromptTokens,
      random: () => 0.5,
      activeIds: new Set(),
    },
  };
}

function run(
  deps: ExtProcDeps,
  body: Buffer,
  cuts: readonly number[],
): { sent: ProcessingResponse[]; ended: boolean } {
  const sent: ProcessingResponse[] = [];
  let ended = false;
  const stream = new ExtProcStream(deps, {
    send: (response) => sent.push(response),
    end: () => (ended = true),
  });
  stream.handle({
    requestHeaders: { headers: { headers: [{ key: ':method', value: 'POST' }] }, endOfStream: false },
  });
  const points = [...new Set(cuts.map((cut) => cut % (body.length + 1)))].sort((a, b) => a - b);
  let start = 0;
  for (const point of points) {
    stream.handle({ requestBody: { body: body.subarray(start, point), endOfStream: false } });
    start = point;
  }
  stream.handle({ requestBody: { body: body.subarray(start), endOfStream: true } });
  stream.close('ended');
  return { sent, ended };
}

describe('ext_proc stream properties', () => {
  it('echoes any valid body intact, in bounded chunks, after exactly one routing answer', () => {
    const { deps, service } = harness();
    fc.assert(
      fc.property(
        fc.string({ maxLength: 200 }),
        fc.integer({ min: 0, max: 200_000 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (text, padding, cuts) => {
          const body = Buffer.from(JSON.stringify({ model: 'm', prompt: text, pad: 'x'.repeat(padding) }));
          const { sent } = run(deps, body, cuts);
          expect(sent[0]?.requestHeaders).toBeDefined();
          expect(sent.filter((response) => response.requestHeaders !== undefined)).toHaveLength(1);
          expect(mutatedHeader(sent[0], 'content-length')).toBe(String(body.length));
          const chunks = streamedChunks(sent, 'requestBody');
          expect(chunks.every((chunk) => chunk.body.length <= 62_000)).toBe(true);
          expect(chunks.map((chunk) => chunk.endOfStream)).toEqual(
            chunks.map((_, i) => i === chunks.length - 1),
          );
          expect(Buffer.concat(chunks.map((chunk) => chunk.body)).equals(body)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
    expect(service.inFlight()).toBe(0);
  });

  it('answers arbitrary bytes with a routing decision or a 4xx, and leaves nothing in flight', () => {
    const { deps, service } = harness();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(), { maxLength: 5 }), (bytes, cuts) => {
        const { sent, ended } = run(deps, Buffer.from(bytes), cuts);
        const first = sent[0];
        const status = first?.immediateResponse?.status.code;
        expect(
          first?.requestHeaders !== undefined || (status !== undefined && status >= 400 && status < 500),
        ).toBe(true);
        expect(ended).toBe(status !== undefined);
      }),
      { numRuns: 300 },
    );
    expect(service.inFlight()).toBe(0);
    expect(deps.activeIds.size).toBe(0);
  });
});
