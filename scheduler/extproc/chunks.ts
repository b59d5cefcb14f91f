// Envoy implementations cap one streamed body chunk at 64 KiB; llm-d sends at most 62,000 bytes per chunk.
import type { HttpBody, ProcessingResponse } from './messages.ts';

export const MAX_STREAMED_CHUNK_BYTES = 62_000;

/** Splits a body into views of at most `limit` bytes (no copies). An empty body gives one empty chunk. */
export function splitBody(body: Buffer, limit: number = MAX_STREAMED_CHUNK_BYTES): Buffer[] {
  if (body.length <= limit) {
    return [body];
  }
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < body.length; offset += limit) {
    chunks.push(body.subarray(offset, Math.min(offset + limit, body.length)));
  }
  return chunks;
}

/** A body as streamed_response chunks of at most 62,000 bytes; only the last may carry end_of_stream. */
export function streamedBody(
  direction: 'requestBody' | 'responseBody',
  body: Buffer,
  endOfStream: boolean,
): ProcessingResponse[] {
  const chunks = splitBody(body, MAX_STREAMED_CHUNK_BYTES);
  return chunks.map((chunk, i) => ({
    [direction]: {
      response: {
        bodyMutation: {
          streamedResponse: { body: chunk, endOfStream: endOfStream && i === chunks.length - 1 },
        },
      },
    },
  }));
}

/** The bytes of a body message, without a copy (grpc-js may hand over a Uint8Array view). */
export function bytesOf(body: HttpBody): Buffer {
  const bytes = body.body;
  if (bytes == null || bytes.length === 0) {
    return Buffer.alloc(0);
  }
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
