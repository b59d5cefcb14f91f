import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BlockPool } from '../../../scheduler/sim/block-pool.ts';
import { BlockHashTable } from '../../../scheduler/sim/hash-table.ts';
import { blockHashes } from '../../../scheduler/sim/hashing.ts';

const tokens = (length: number, salt: number) =>
  Uint32Array.from(
    { length },
    (_, i) => (Math.imul(i + 1, 2654435761) ^ Math.imul(salt + 1, 0x9e3779b1)) >>> 0,
  );

/** Caches a prompt the way a finished request leaves it: blocks registered, then released. */
function cachePrompt(pool: BlockPool, hashes: Float64Array): void {
  const blocks: number[] = [];
  const hit = pool.matchPrefix(hashes);
  pool.acquireCached(hashes, hit, blocks);
  if (!pool.allocate(hashes.length - hit, blocks)) throw new Error('pool full');
  hashes.forEach((hash, i) => pool.register(blocks[i] as number, hash));
  pool.release(blocks);
}

describe('block hashes', () => {
  it('chain: equal prefixes give equal leading hashes, a change alters every later hash', () => {
    const a = tokens(64, 1);
    const b = a.slice();
    b[20] = (b[20] as number) + 1;
    const ha = blockHashes(a, 16);
    const hb = blockHashes(b, 16);
    expect(ha).toHaveLength(4);
    expect(hb[0]).toBe(ha[0]);
    for (let i = 1; i < 4; i++) expect(hb[i]).not.toBe(ha[i]);
  });

  it('hashes only full blocks and stays within the exact integer range of doubles', () => {
    const hashes = blockHashes(tokens(47, 3), 16);
    expect(hashes).toHaveLength(2);
    for (const hash of hashes) expect(Number.isSafeInteger(hash)).toBe(true);
  });
});

describe('BlockPool', () => {
  it('reuses a cached prefix and counts only free blocks as available', () => {
    const pool = new BlockPool(100);
    const system = tokens(160, 7);
    const first = blockHashes(Uint32Array.from([...system, ...tokens(32, 8)]), 16);
    const second = blockHashes(Uint32Array.from([...system, ...tokens(32, 9)]), 16);
    cachePrompt(pool, first);
    expect(pool.freeBlocks).toBe(100);
    expect(pool.cachedBlocks).toBe(12);
    expect(pool.matchPrefix(second)).toBe(10);
    const held: number[] = [];
    pool.acquireCached(second, 10, held);
    expect(pool.freeBlocks).toBe(90);
    expect(pool.countUnreferenced(first, 12)).toBe(2);
    pool.release(held);
    expect(pool.freeBlocks).toBe(100);
  });

  it('evicts least recently used blocks first, and the tail of a prompt before its head', () => {
    const pool = new BlockPool(6);
    const a = blockHashes(tokens(48, 1), 16);
    const b = blockHashes(tokens(48, 2), 16);
    cachePrompt(pool, a);
    cachePrompt(pool, b);
    // Touch a again: now b is the least recently used prompt.
    cachePrompt(pool, a);
    const taken: number[] = [];
    expect(pool.allocate(2, taken)).toBe(true);
    expect(pool.matchPrefix(a)).toBe(3);
    // b's tail (blocks 1, 2) went first, its head survives.
    expect(pool.matchPrefix(b)).toBe(1);
  });

  it('refuses allocations beyond capacity without allocating anything', () => {
    const pool = new BlockPool(4);
    const taken: number[] = [];
    expect(pool.allocate(3, taken)).toBe(true);
    expect(pool.allocate(2, taken)).toBe(false);
    expect(taken).toHaveLength(3);
    expect(pool.freeBlocks).toBe(1);
    expect(() => {
      pool.release([...taken, ...taken]);
    }).toThrow(/released more often/);
  });

  it('never serves a referenced block to another allocation (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 5 })), { maxLength: 60 }),
        (ops) => {
          const pool = new BlockPool(16);
          const held: number[][] = [];
          for (const [count, prompt] of ops) {
            const hashes = blockHashes(tokens(count * 16, prompt), 16);
            const blocks: number[] = [];
            const hit = pool.matchPrefix(hashes);
            pool.acquireCached(hashes, hit, blocks);
            if (!pool.allocate(hashes.length - hit, blocks)) {
              pool.release(blocks);
              const oldest = held.shift();
              if (oldest !== undefined) pool.release(oldest);
              continue;
            }
            hashes.forEach((hash, i) => pool.register(blocks[i] as number, hash));
            held.push(blocks);
            const exclusive = held.flat().filter((b, i, all) => all.indexOf(b) !== i);
            // Shared blocks are only those reached through the same cached hash, never fresh allocations.
            for (const block of exclusive)
              expect(held.filter((h) => h.includes(block)).length).toBeGreaterThan(1);
            expect(pool.usedBlocks).toBe(new Set(held.flat()).size);
          }
        },
      ),
    );
  });
});

describe('BlockHashTable', () => {
  it('behaves like a Map under random inserts and deletes (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 40 })), { maxLength: 300 }),
        (ops) => {
          const table = new BlockHashTable(64);
          const reference = new Map<number, number>();
          ops.forEach(([insert, key], step) => {
            // Keys above 2^32 with colliding low bits exercise probing.
            const hash = (key % 5) * 2 ** 40 + (key >> 2) * 4096;
            if (insert) {
              table.set(hash, step);
              reference.set(hash, step);
            } else {
              expect(table.delete(hash)).toBe(reference.delete(hash));
            }
            expect(table.size).toBe(reference.size);
          });
          for (const [hash, value] of reference) expect(table.get(hash)).toBe(value);
        },
      ),
    );
  });
});
