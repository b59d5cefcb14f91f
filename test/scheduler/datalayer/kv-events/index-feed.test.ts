/* eslint-disable @typescript-eslint/no-non-null-assertion -- fixtures index arrays whose length the test fixes */
// The feed from decoded KV-event batches to a real scheduler's precise index: keys recomputed from token ids
// (chained through the engine-hash → key map), removals mapped back, and every way the index could end up
// believing in blocks it can no longer know about (gaps, restarts, unreadable events, endpoints leaving)
// clearing that endpoint.
import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { createScheduler, kvBlockHashes, policyPresets } from '../../../../scheduler/core/index.ts';
import type { KvCacheEvent } from '../../../../scheduler/core/index.ts';
import {
  encodeKvEventMessage,
  type BlockRemovedEvent,
  type BlockStoredEvent,
  type EngineBlockHash,
  type EngineKvEvent,
} from '../../../../scheduler/datalayer/kv-events/codec.ts';
import {
  KvEventFeed,
  type KvEventOutcome,
  type KvResetReason,
} from '../../../../scheduler/datalayer/kv-events/index-feed.ts';
import { endpoint, fakeDeps, request, tokens } from '../../core/helpers.ts';

const BLOCK = 16;
const TOPIC = 'kv@10.0.0.1:8000@qwen';
const eps = [endpoint(0), endpoint(1)];
const A = eps[1]!.key;

/** The engine's own hashes: anything opaque, here 64-bit values unrelated to the router's keys. */
const engineHash = (i: number): EngineBlockHash => 0xfeed_0000_0000_0000n + BigInt(i);

function stored(
  from: number,
  count: number,
  prompt: Uint32Array,
  parent: EngineBlockHash | null = from === 0 ? null : engineHash(from - 1),
): BlockStoredEvent {
  return {
    type: 'BlockStored',
    blockHashes: Array.from({ length: count }, (_, i) => engineHash(from + i)),
    parentBlockHash: parent,
    tokenIds: [...prompt.subarray(from * BLOCK, (from + count) * BLOCK)],
    blockSize: BLOCK,
    loraId: null,
    medium: 'GPU',
    loraName: null,
  };
}

const removed = (from: number, count: number): BlockRemovedEvent => ({
  type: 'BlockRemoved',
  blockHashes: Array.from({ length: count }, (_, i) => engineHash(from + i)),
  medium: 'GPU',
});

function setup() {
  const scheduler = createScheduler(policyPresets['llm-d-precise'], fakeDeps());
  const applied: [string, readonly KvCacheEvent[]][] = [];
  const outcomes: KvEventOutcome[] = [];
  const resets: KvResetReason[] = [];
  const feed = new KvEventFeed(
    {
      applyKvEvents(key, events) {
        applied.push([key, events]);
        scheduler.applyKvEvents(key, events);
      },
    },
    { blockSize: BLOCK, hashSeed: 0 },
    { event: (o) => outcomes.push(o), reset: (r) => resets.push(r) },
  );
  let sequence = 0n;
  const send = (events: EngineKvEvent[], at: bigint = sequence): void => {
    sequence = at + 1n;
    feed.message(A, encodeKvEventMessage(TOPIC, at, events));
  };
  /** Leading prompt blocks the precise index places on endpoint A (prefix weight 3 of llm-d-precise). */
  const matchedFraction = (prompt: Uint32Array): number => {
    const result = scheduler.pick(request({ promptTokens: prompt }), eps);
    if (result.kind !== 'picked') throw new Error('expected a pick');
    return (result.scores.get(A)! - result.scores.get(eps[0]!.key)!) / 3;
  };
  const indexed = (): number => scheduler.accounting().find((a) => a.key === A)?.indexedBlocks ?? 0;
  return { feed, send, matchedFraction, indexed, applied, outcomes, resets };
}

describe('KV-event index feed', () => {
  const prompt = tokens(20 * BLOCK, 5);

  it('indexes stored blocks under the keys a prompt hashes to, chaining parents through the engine hashes', () => {
    const { feed, send, matchedFraction, indexed } = setup();
    // The first 8 blocks, then 12 more in a second event whose parent is the 8th block's engine hash.
    send([stored(0, 8, prompt)]);
    expect(matchedFraction(prompt)).toBeCloseTo(8 / 20);
    send([stored(8, 12, prompt)]);
    expect(matchedFraction(prompt)).toBe(1);
    expect(indexed()).toBe(20);
    const keys = kvBlockHashes(prompt, BLOCK);
    expect(feed.keyOf(A, engineHash(19))).toBe(keys[19]);
    // Another prompt sharing the first 5 blocks matches those 5.
    const other = Uint32Array.from([...prompt.subarray(0, 5 * BLOCK), ...tokens(15 * BLOCK, 90_000)]);
    expect(matchedFraction(other)).toBeCloseTo(5 / 20);
  });

  it('maps BlockRemoved back to keys, and AllBlocksCleared empties the endpoint', () => {
    const { feed, send, matchedFraction, indexed } = setup();
    send([stored(0, 20, prompt)]);
    send([removed(10, 10)]);
    expect(matchedFraction(prompt)).toBeCloseTo(10 / 20);
    expect(feed.engineBlocks(A)).toBe(10);
    // Removing what is not there (or removing twice) changes nothing.
    send([removed(10, 10), { type: 'BlockRemoved', blockHashes: [123], medium: null }]);
    expect(indexed()).toBe(10);
    send([{ type: 'AllBlocksCleared' }]);
    expect(indexed()).toBe(0);
    expect(feed.engineBlocks(A)).toBe(0);
  });

  it('leaves out blocks whose parent it never saw (and their descendants) rather than guess their keys', () => {
    const { send, matchedFraction, indexed, outcomes } = setup();
    // Blocks 5.. arrive without blocks 0..4 ever having been reported (the router joined late).
    send([stored(5, 5, prompt), stored(10, 10, prompt)]);
    expect(outcomes).toEqual(['unknown-parent', 'unknown-parent']);
    expect(indexed()).toBe(0);
    // Once the chain's start is stored again, its descendants key fine.
    send([stored(0, 5, prompt), stored(5, 15, prompt)]);
    expect(matchedFraction(prompt)).toBe(1);
  });

  it('clears the endpoint on a sequence gap before applying the batch', () => {
    const { send, matchedFraction, resets, applied } = setup();
    send([stored(0, 20, prompt)], 0n);
    const unrelated = { ...stored(0, 2, tokens(2 * BLOCK, 77_000), null), blockHashes: ['0x01', '0x02'] };
    send([unrelated], 5n); // 1..4 were lost
    expect(resets).toEqual(['gap']);
    expect(matchedFraction(prompt)).toBe(0); // the lost messages may have evicted any of it
    expect(applied.at(-1)?.[1].map((e) => e.type)).toEqual(['cleared', 'stored']);
    send([stored(0, 20, prompt)], 6n);
    expect(matchedFraction(prompt)).toBe(1);
  });

  it('clears the endpoint when the sequence goes backwards (the publisher restarted)', () => {
    const { send, matchedFraction, resets } = setup();
    send([stored(0, 20, prompt)], 41n);
    send([stored(0, 2, tokens(2 * BLOCK, 1), null)], 0n);
    expect(resets).toEqual(['restart']);
    expect(matchedFraction(prompt)).toBe(0);
  });

  it('tracks sequences per topic', () => {
    const { feed, matchedFraction, resets } = setup();
    feed.message(A, encodeKvEventMessage('kv@10.0.0.1:8000@qwen', 3n, [stored(0, 10, prompt)]));
    feed.message(A, encodeKvEventMessage('kv@10.0.0.1:8000@other', 9n, []));
    feed.message(A, encodeKvEventMessage('kv@10.0.0.1:8000@qwen', 4n, [stored(10, 10, prompt)]));
    expect(resets).toEqual([]);
    expect(matchedFraction(prompt)).toBe(1);
  });

  it('clears the endpoint after an unreadable message or removal, but only skips an unreadable store', () => {
    const { feed, send, matchedFraction, resets, outcomes } = setup();
    send([stored(0, 20, prompt)]);
    feed.message(A, [Buffer.from(TOPIC), Buffer.alloc(8), Buffer.from([0xc1])]);
    expect(resets).toEqual(['malformed']);
    expect(matchedFraction(prompt)).toBe(0);

    send([stored(0, 20, prompt)], 0n);
    const frames = encodeKvEventMessage(TOPIC, 1n, []);
    // A BlockStored with a bad field: skipped, nothing else lost.
    feed.message(A, [frames[0], frames[1], badBatch([['BlockStored', 'x', null, [], 16]])]);
    expect(matchedFraction(prompt)).toBe(1);
    expect(outcomes.at(-1)).toBe('malformed');
    // A BlockRemoved with a bad field: a removal may be lost, so the endpoint is cleared.
    const next = encodeKvEventMessage(TOPIC, 2n, []);
    feed.message(A, [next[0], next[1], badBatch([['BlockRemoved', [1.5]]])]);
    expect(resets).toEqual(['malformed', 'malformed']);
    expect(matchedFraction(prompt)).toBe(0);
  });

  it('ignores LoRA blocks, blocks off the GPU and blocks of another size', () => {
    const { send, indexed, outcomes } = setup();
    const base = stored(0, 4, prompt);
    send([
      { ...base, loraId: 1, loraName: 'sql' },
      { ...base, medium: 'CPU' },
      { ...base, blockSize: 32, tokenIds: [...prompt.subarray(0, 4 * 32)] },
      { ...base, tokenIds: base.tokenIds.slice(1) },
      { ...removed(0, 4), medium: 'CPU' },
    ]);
    expect(outcomes).toEqual(['ignored', 'ignored', 'block-size-mismatch', 'block-size-mismatch', 'ignored']);
    expect(indexed()).toBe(0);
  });

  it('forgets an endpoint that left the pool: its entries go, and its next message starts a fresh sequence', () => {
    const { feed, send, matchedFraction, resets } = setup();
    send([stored(0, 20, prompt)], 10n);
    feed.forget(A);
    expect(resets).toEqual(['endpoint-removed']);
    expect(matchedFraction(prompt)).toBe(0);
    expect(feed.engineBlocks(A)).toBe(0);
    send([stored(0, 20, prompt)], 0n);
    expect(resets).toEqual(['endpoint-removed']);
    expect(matchedFraction(prompt)).toBe(1);
  });

  it('keeps a key while another engine block still maps to it', () => {
    const { send, indexed } = setup();
    const twin = stored(0, 1, prompt);
    send([twin, { ...twin, blockHashes: ['0xabcdef'] }]);
    expect(indexed()).toBe(1);
    send([removed(0, 1)]);
    expect(indexed()).toBe(1);
    send([{ type: 'BlockRemoved', blockHashes: ['0xabcdef'], medium: null }]);
    expect(indexed()).toBe(0);
  });
});

/** A batch payload holding raw (possibly invalid) events. */
const badBatch = (events: unknown[]): Uint8Array => encode([0, events]);
