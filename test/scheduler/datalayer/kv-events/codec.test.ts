// vLLM's KV-event wire format: the three frames, array- and map-encoded events, 64-bit and bytes hashes, and
// bad input coming back as an error result (never a throw).
import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import {
  decodeKvEventBatch,
  decodeKvEventMessage,
  encodeKvEventMessage,
  kvEventTopic,
  type EngineKvEvent,
} from '../../../../scheduler/datalayer/kv-events/codec.ts';

const TOPIC = kvEventTopic('10.0.0.7', 8000, 'Qwen/Qwen3-32B');

function sequenceFrame(n: bigint): Buffer {
  const frame = Buffer.alloc(8);
  frame.writeBigUInt64BE(n);
  return frame;
}

/** A message as vLLM's msgspec encoder writes it: events as tagged arrays inside the batch array. */
function vllmMessage(events: unknown[], sequence = 7n, extra: unknown[] = []): Uint8Array[] {
  return [
    Buffer.from(TOPIC),
    sequenceFrame(sequence),
    encode([1_765_000_000.25, events, ...extra], { useBigInt64: true }),
  ];
}

function decodedEvents(frames: Uint8Array[]): EngineKvEvent[] {
  const decoded = decodeKvEventMessage(frames);
  if (!decoded.ok) throw new Error(decoded.error);
  return decoded.batch.events.map((e) => {
    if (!e.ok) throw new Error(e.error);
    return e.event;
  });
}

describe('KV-event codec', () => {
  it('reads the topic, the big-endian sequence number and an array-encoded batch', () => {
    const decoded = decodeKvEventMessage(
      vllmMessage(
        [
          ['BlockStored', [11, 12], null, [1, 2, 3, 4, 5, 6, 7, 8], 4, null, 'GPU', null, null],
          ['BlockRemoved', [11], 'GPU'],
          ['AllBlocksCleared'],
        ],
        2n ** 40n + 3n,
        [0],
      ),
    );
    expect(decoded).toMatchObject({
      ok: true,
      topic: 'kv@10.0.0.7:8000@Qwen/Qwen3-32B',
      sequence: 2n ** 40n + 3n,
      batch: { ts: 1_765_000_000.25, dataParallelRank: 0 },
    });
    expect(decodedEvents(vllmMessage([['BlockStored', [11, 12], 10, [1, 2, 3, 4, 5, 6, 7, 8], 4]]))).toEqual([
      {
        type: 'BlockStored',
        blockHashes: [11, 12],
        parentBlockHash: 10,
        tokenIds: Uint32Array.from([1, 2, 3, 4, 5, 6, 7, 8]),
        blockSize: 4,
        loraId: null,
        medium: null,
        loraName: null,
      },
    ]);
    if (!decoded.ok) return;
    expect(decoded.batch.events.map((e) => e.ok && e.event.type)).toEqual([
      'BlockStored',
      'BlockRemoved',
      'AllBlocksCleared',
    ]);
  });

  it('reads map-encoded events with the same field names', () => {
    const events = decodedEvents(
      vllmMessage([
        {
          type: 'BlockStored',
          block_hashes: [5],
          parent_block_hash: 4,
          token_ids: [9, 9],
          block_size: 2,
          lora_id: 3,
          medium: 'CPU',
          lora_name: 'sql-adapter',
        },
        { type: 'BlockRemoved', block_hashes: [5] },
        { type: 'AllBlocksCleared' },
      ]),
    );
    expect(events).toEqual([
      {
        type: 'BlockStored',
        blockHashes: [5],
        parentBlockHash: 4,
        tokenIds: Uint32Array.from([9, 9]),
        blockSize: 2,
        loraId: 3,
        medium: 'CPU',
        loraName: 'sql-adapter',
      },
      { type: 'BlockRemoved', blockHashes: [5], medium: null },
      { type: 'AllBlocksCleared' },
    ]);
  });

  it('keeps 64-bit hashes exact (bigint beyond 2^53) and bytes hashes as hex keys', () => {
    const big = 18_446_744_073_709_551_557n; // a uint64 near the top
    const negative = -9_223_372_036_854_775_000n; // an int64
    const bytes = Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const [stored] = decodedEvents(
      vllmMessage([['BlockStored', [big, negative, bytes, 2n ** 40n], null, [1, 1, 1, 1], 1]]),
    );
    expect(stored).toMatchObject({
      blockHashes: [big, negative, '0xdeadbeef000102030405060708090a0b', 2 ** 40],
    });
  });

  it('encodes what it decodes (the simulator publishes with the same code)', () => {
    const events: EngineKvEvent[] = [
      {
        type: 'BlockStored',
        blockHashes: [1, 2n ** 63n + 5n, '0x00ff'],
        parentBlockHash: null,
        tokenIds: [1, 2, 3],
        blockSize: 1,
        loraId: null,
        medium: 'GPU',
        loraName: null,
      },
      { type: 'BlockRemoved', blockHashes: [1], medium: 'GPU' },
      { type: 'AllBlocksCleared' },
    ];
    // Decoded token ids come back as a Uint32Array; an event to encode may carry either form.
    const typed = events.map((e) =>
      e.type === 'BlockStored' ? { ...e, tokenIds: Uint32Array.from(e.tokenIds) } : e,
    );
    for (const asMap of [false, true]) {
      const frames = encodeKvEventMessage(TOPIC, 42n, events, { ts: 1, asMap });
      expect(decodeKvEventMessage(frames)).toMatchObject({ ok: true, sequence: 42n, topic: TOPIC });
      expect(decodedEvents(frames)).toEqual(typed);
      expect(encodeKvEventMessage(TOPIC, 42n, typed, { ts: 1, asMap })).toEqual(frames);
    }
  });

  it('returns an error result for malformed messages instead of throwing', () => {
    const good = vllmMessage([['AllBlocksCleared']]);
    const [topic, sequence] = good as [Uint8Array, Uint8Array, Uint8Array];
    const cases: [string, Uint8Array[], RegExp][] = [
      ['two frames', [topic, sequence], /expected 3 frames/],
      ['a short sequence', [topic, Buffer.alloc(4), encode([0, []])], /8 bytes/],
      ['a topic that is not UTF-8', [Buffer.from([0xff, 0xfe]), sequence, encode([0, []])], /UTF-8/],
      ['a payload that is not msgpack', [topic, sequence, Buffer.from([0xc1])], /not msgpack/],
      [
        'a truncated payload',
        [topic, sequence, encode([0, [['BlockStored', [1]]]]).subarray(0, 6)],
        /not msgpack/,
      ],
      ['a batch that is a string', [topic, sequence, encode('hello')], /array or a map/],
      ['events that are not a list', [topic, sequence, encode([0, 5])], /events must be an array/],
      ['a ts that is not a number', [topic, sequence, encode(['now', []])], /ts must be a number/],
    ];
    for (const [what, frames, error] of cases) {
      const decoded = decodeKvEventMessage(frames);
      expect(decoded.ok, what).toBe(false);
      if (!decoded.ok) expect(decoded.error, what).toMatch(error);
    }
    expect(decodeKvEventBatch(Buffer.alloc(0)).ok).toBe(false);
  });

  it('marks a bad event of a good batch, keeping its tag when it has one', () => {
    const decoded = decodeKvEventMessage(
      vllmMessage([
        ['BlockStored', 'not-a-list', null, [], 16],
        ['BlockStored', [1], null, [1, -2], 2],
        ['BlockStored', [1], null, [1, 2 ** 32], 2],
        ['BlockRemoved', [1.5]],
        ['Frobnicated', [1]],
        [42],
        'a string',
        ['AllBlocksCleared'],
      ]),
    );
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.batch.events).toEqual([
      { ok: false, tag: 'BlockStored', error: 'BlockStored: block_hashes must be an array' },
      {
        ok: false,
        tag: 'BlockStored',
        error: 'BlockStored: token_ids[1] must be an integer from 0 to 4294967295',
      },
      {
        ok: false,
        tag: 'BlockStored',
        error: 'BlockStored: token_ids[1] must be an integer from 0 to 4294967295',
      },
      { ok: false, tag: 'BlockRemoved', error: 'BlockRemoved: block_hashes[0] must be an integer or bytes' },
      { ok: false, tag: 'Frobnicated', error: 'unknown event tag "Frobnicated"' },
      { ok: false, tag: undefined, error: 'an event must start with its tag' },
      { ok: false, tag: undefined, error: 'an event must be an array or a map' },
      { ok: true, event: { type: 'AllBlocksCleared' } },
    ]);
  });
});
