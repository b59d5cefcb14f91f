/* eslint-disable @typescript-eslint/no-non-null-assertion -- fixtures index arrays whose length the test fixes */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PrefixIndex } from '../../../scheduler/core/index.ts';

const blocks = (...values: number[]): Float64Array => Float64Array.from(values);

function matchOf(index: PrefixIndex, hashes: Float64Array, ids: number[]): number[] {
  const out = new Int32Array(ids.length);
  index.match(hashes, ids, out);
  return [...out];
}

describe('PrefixIndex', () => {
  it('matches the leading run of blocks each endpoint holds', () => {
    const index = new PrefixIndex();
    index.setCapacity(0, 100);
    index.setCapacity(1, 100);
    index.setCapacity(2, 100);
    index.insert(0, blocks(1, 2, 3, 4));
    index.insert(1, blocks(1, 2));
    index.insert(2, blocks(2, 3, 4)); // no block 1: nothing matches from the start
    expect(matchOf(index, blocks(1, 2, 3, 4, 5), [0, 1, 2])).toEqual([4, 2, 0]);
    expect(matchOf(index, blocks(9, 2), [0, 1, 2])).toEqual([0, 0, 0]);
  });

  it('stops at the first missing block even when later blocks are present', () => {
    const index = new PrefixIndex();
    index.setCapacity(0, 100);
    index.insert(0, blocks(1, 2, 3));
    index.remove(0, blocks(1, 2, 3), 1, 2);
    expect(matchOf(index, blocks(1, 2, 3), [0])).toEqual([1]);
  });

  it('evicts tails before roots, least recently used prompts first', () => {
    const index = new PrefixIndex();
    index.setCapacity(0, 4);
    index.insert(0, blocks(1, 2, 3));
    index.insert(0, blocks(10, 11));
    // Capacity 4 over 5 blocks: the oldest prompt loses its last block, its root stays.
    expect(index.size(0)).toBe(4);
    expect(matchOf(index, blocks(1, 2, 3), [0])).toEqual([2]);
    expect(matchOf(index, blocks(10, 11), [0])).toEqual([2]);
  });

  it('counts the distinct prefixes each endpoint holds by their first blocks', () => {
    const index = new PrefixIndex();
    index.setCapacity(0, 6);
    index.setCapacity(1, 6);
    index.insert(0, blocks(1, 2, 3));
    index.insert(0, blocks(1, 2, 4)); // same prefix, another question
    index.hold(0, blocks(7, 8));
    index.insert(1, blocks(2, 3)); // block 2 begins a prompt here only
    expect([index.prefixes(0), index.prefixes(1)]).toEqual([2, 1]);
    // Evicting a tail keeps the prefix; evicting its first block drops it.
    index.insert(0, blocks(9));
    expect(index.size(0)).toBe(6);
    expect(index.prefixes(0)).toBe(3);
    index.remove(0, blocks(1, 2, 3), 0, 1);
    expect(index.prefixes(0)).toBe(2);
    index.release(0, blocks(7, 8));
    index.setCapacity(0, 1);
    expect(index.prefixes(0)).toBe(1);
    index.clear(0);
    expect([index.prefixes(0), index.prefixes(1)]).toEqual([0, 1]);
  });

  it('shrinking the capacity evicts at once; clear forgets an endpoint', () => {
    const index = new PrefixIndex();
    index.setCapacity(0, 10);
    index.setCapacity(1, 10);
    index.insert(0, blocks(1, 2, 3, 4, 5));
    index.insert(1, blocks(1, 2));
    index.setCapacity(0, 2);
    expect(index.size(0)).toBe(2);
    expect(matchOf(index, blocks(1, 2, 3), [0, 1])).toEqual([2, 2]);
    index.clear(1);
    expect(matchOf(index, blocks(1, 2, 3), [0, 1])).toEqual([2, 0]);
  });

  it('never holds more than the capacity, and the global map matches the per-endpoint LRUs', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            id: fc.integer({ min: 0, max: 3 }),
            prompt: fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 12 }),
            remove: fc.boolean(),
          }),
          { maxLength: 60 },
        ),
        fc.integer({ min: 1, max: 10 }),
        (ops, capacity) => {
          const index = new PrefixIndex();
          for (let id = 0; id < 4; id++) index.setCapacity(id, capacity);
          const model = new Map<number, number[]>([
            [0, []],
            [1, []],
            [2, []],
            [3, []],
          ]);
          for (const op of ops) {
            const hashes = Float64Array.from(op.prompt);
            if (op.remove) index.remove(op.id, hashes, 0);
            else index.insert(op.id, hashes);
            for (let id = 0; id < 4; id++) expect(index.size(id)).toBeLessThanOrEqual(capacity);
            // Reference: a plain list LRU with the same touch order.
            const lru = model.get(op.id)!;
            if (op.remove)
              for (const h of op.prompt) {
                const at = lru.indexOf(h);
                if (at >= 0) lru.splice(at, 1);
              }
            else
              for (const h of [...op.prompt].reverse()) {
                if (lru.includes(h)) lru.splice(lru.indexOf(h), 1);
                lru.push(h);
                if (lru.length > capacity) lru.shift();
              }
          }
          for (let id = 0; id < 4; id++) {
            const held = model.get(id)!;
            expect(index.size(id)).toBe(held.length);
            for (const h of held) expect(matchOf(index, blocks(h), [id])).toEqual([1]);
          }
        },
      ),
    );
  });

  it('keeps held blocks past eviction and makes them the most recently used on release', () => {
    const index = new PrefixIndex();
    index.setCapacity(0, 4);
    index.hold(0, blocks(1, 2, 3));
    index.insert(0, blocks(10, 11, 12));
    // Only unheld blocks are evicted: the tail of the newer prompt goes, the held one stays whole.
    expect(index.size(0)).toBe(4);
    expect(matchOf(index, blocks(1, 2, 3), [0])).toEqual([3]);
    expect(matchOf(index, blocks(10, 11, 12), [0])).toEqual([1]);
    index.hold(0, blocks(1, 2));
    index.release(0, blocks(1, 2, 3));
    index.insert(0, blocks(20));
    // Block 3 went back to the LRU order after block 10: block 10 is evicted; 1 and 2 are still held.
    expect(matchOf(index, blocks(10), [0])).toEqual([0]);
    expect(matchOf(index, blocks(1, 2, 3), [0])).toEqual([3]);
    index.release(0, blocks(1, 2));
    index.insert(0, blocks(30, 31, 32));
    expect(index.size(0)).toBe(4);
    expect(matchOf(index, blocks(1, 2, 3), [0])).toEqual([1]);
  });

  it('holds never lose a block, and once every hold is released the capacity holds again', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            id: fc.integer({ min: 0, max: 2 }),
            prompt: fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 8 }),
            kind: fc.constantFrom('insert', 'hold', 'release', 'remove'),
          }),
          { maxLength: 60 },
        ),
        fc.integer({ min: 1, max: 8 }),
        (ops, capacity) => {
          const index = new PrefixIndex();
          for (let id = 0; id < 3; id++) index.setCapacity(id, capacity);
          const holds: { id: number; hashes: Float64Array }[] = [];
          for (const op of ops) {
            const hashes = Float64Array.from(op.prompt);
            if (op.kind === 'insert') index.insert(op.id, hashes);
            else if (op.kind === 'hold') {
              index.hold(op.id, hashes);
              holds.push({ id: op.id, hashes });
            } else if (op.kind === 'release') {
              const at = holds.findIndex((h) => h.id === op.id);
              if (at >= 0) index.release(op.id, holds.splice(at, 1)[0]!.hashes);
            } else if (holds.every((h) => h.id !== op.id)) index.remove(op.id, hashes, 0);
            for (const held of holds) {
              expect(matchOf(index, held.hashes, [held.id])).toEqual([held.hashes.length]);
            }
          }
          for (const held of holds.splice(0)) index.release(held.id, held.hashes);
          for (let id = 0; id < 3; id++) expect(index.size(id)).toBeLessThanOrEqual(capacity);
        },
      ),
    );
  });
});
