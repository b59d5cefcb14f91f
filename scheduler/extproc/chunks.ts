// Envoy implementations cap one streamed body chunk at 64 KiB; llm-d sends at most 62,000 bytes per chunk.
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
