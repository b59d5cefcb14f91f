// The KV-event feed's map from block hashes to numbers against a plain Map of the same 64-bit values: any
// sequence of sets, deletes and clears, over hashes that collide in either half, leaves the same contents.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BlockHashMap } from '../../../../scheduler/datalayer/kv-events/block-hash-map.ts';
import type { EngineBlockHash } from '../../../../scheduler/datalayer/kv-events/codec.ts';

/** The reference key: the hash's 64 bits, or the byte string. */
const bitsOf = (hash: EngineBlockHash): bigint | string =>
  typeof hash === 'string' ? hash : BigInt.asUintN(64, BigInt(hash));

// Few distinct halves, so that many hashes share a high or a low half and probe runs get long.
const half = fc.constantFrom(0, 1, 2, 7, 0x1234_5678, 0x8000_0000, 0xfffe_ffff, 0xffff_ffff);
const hash: fc.Arbitrary<EngineBlockHash> = fc.oneof(
  fc.tuple(half, half).map(([high, low]) => (BigInt(high) << 32n) | BigInt(low)),
  fc.tuple(half, half).map(([high, low]) => BigInt.asIntN(64, (BigInt(high) << 32n) | BigInt(low))),
  fc.integer({ min: 0, max: 20 }),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, -1, -(2 ** 40)),
  fc.constantFrom('0xab', '0xabcd'),
);
// Mostly sets and deletes, so that the map holds dozens of entries between the rare clears.
const operation = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      op: fc.constant('set' as const),
      hash,
      value: fc.integer({ min: 0, max: 2 ** 53 - 1 }),
    }),
  },
  { weight: 8, arbitrary: fc.record({ op: fc.constant('delete' as const), hash }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const) }) },
);

describe('BlockHashMap', () => {
  it('holds what a Map of the same 64-bit values holds, through sets, deletes and clears', () => {
    fc.assert(
      fc.property(fc.array(operation, { minLength: 20, maxLength: 400 }), (operations) => {
        const map = new BlockHashMap();
        const reference = new Map<bigint | string, number>();
        for (const step of operations) {
          if (step.op === 'set') {
            map.set(step.hash, step.value);
            reference.set(bitsOf(step.hash), step.value);
          } else if (step.op === 'delete') {
            expect(map.delete(step.hash)).toBe(reference.get(bitsOf(step.hash)));
            reference.delete(bitsOf(step.hash));
          } else {
            map.clear();
            reference.clear();
          }
          expect(map.size).toBe(reference.size);
        }
        for (const step of operations) {
          if (step.op === 'clear') continue;
          expect(map.get(step.hash)).toBe(reference.get(bitsOf(step.hash)));
          expect(map.has(step.hash)).toBe(reference.has(bitsOf(step.hash)));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps every entry through growth and removal of thousands of random 64-bit hashes', () => {
    const map = new BlockHashMap();
    const hashes = Array.from({ length: 5000 }, (_, i) =>
      BigInt.asUintN(64, BigInt(i) * 0x9e37_79b9_7f4a_7c15n),
    );
    hashes.forEach((h, i) => {
      map.set(h, i);
    });
    expect(map.size).toBe(5000);
    for (let i = 0; i < 5000; i += 2) expect(map.delete(hashes[i] as bigint)).toBe(i);
    expect(map.size).toBe(2500);
    hashes.forEach((h, i) => {
      expect(map.get(h)).toBe(i % 2 === 0 ? undefined : i);
    });
    map.clear();
    expect(map.size).toBe(0);
    expect(map.get(hashes[1] as bigint)).toBeUndefined();
    map.set(hashes[1] as bigint, 1);
    expect(map.get(hashes[1] as bigint)).toBe(1);
  });

  it('counts an int64 and the uint64 of the same bits as one hash, and a number as its bigint', () => {
    const map = new BlockHashMap();
    map.set(-1n, 1);
    expect(map.get(2n ** 64n - 1n)).toBe(1);
    expect(map.get(-1)).toBe(1);
    map.set(2 ** 40, 2);
    expect(map.get(2n ** 40n)).toBe(2);
    expect(map.size).toBe(2);
  });
});
