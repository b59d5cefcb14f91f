/* eslint-disable @typescript-eslint/no-non-null-assertion -- fixtures index arrays whose length the test fixes */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { estimatePromptTokens, hashPromptBlocks, prefixHashSeed } from '../../../scheduler/core/index.ts';

describe('estimatePromptTokens', () => {
  it('packs four UTF-8 bytes into one little-endian token', () => {
    expect([...estimatePromptTokens('abcdefgh')]).toEqual([0x64636261, 0x68676665]);
  });

  it('keeps a partial last token', () => {
    expect([...estimatePromptTokens('abcde')]).toEqual([0x64636261, 0x65]);
    expect(estimatePromptTokens('').length).toBe(0);
  });

  it('counts bytes, not characters', () => {
    expect(estimatePromptTokens('é'.repeat(4)).length).toBe(2); // 8 bytes
  });

  it('maps a shared text prefix to a shared token prefix', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 0, maxLength: 200 }), fc.string(), fc.string(), (prefix, a, b) => {
        const padded = prefix.padEnd(Math.ceil(prefix.length / 4) * 4, 'x');
        const ta = estimatePromptTokens(padded + a);
        const tb = estimatePromptTokens(padded + b);
        const n = new TextEncoder().encode(padded).length >>> 2;
        expect(ta.subarray(0, n)).toEqual(tb.subarray(0, n));
      }),
    );
  });
});

describe('hashPromptBlocks', () => {
  const seed = prefixHashSeed('qwen');

  it('hashes only full blocks, bounded by maxBlocks', () => {
    const t = Uint32Array.from({ length: 200 }, (_, i) => i);
    expect(hashPromptBlocks(t, seed, 64, 100).length).toBe(3);
    expect(hashPromptBlocks(t, seed, 64, 2).length).toBe(2);
    expect(hashPromptBlocks(t.subarray(0, 63), seed, 64, 100).length).toBe(0);
  });

  it('chains: a change in block i changes the hashes of i and every later block, not earlier ones', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 1000 }), (at, delta) => {
        const a = Uint32Array.from({ length: 256 }, (_, i) => i * 7);
        const b = a.slice();
        b[at] = (b[at]! + delta) >>> 0;
        const ha = hashPromptBlocks(a, seed, 64, 4);
        const hb = hashPromptBlocks(b, seed, 64, 4);
        const changed = Math.floor(at / 64);
        for (let i = 0; i < 4; i++) {
          if (i < changed) expect(hb[i]).toBe(ha[i]);
          else expect(hb[i]).not.toBe(ha[i]);
        }
      }),
    );
  });

  it('depends on the model through the seed, and is deterministic', () => {
    const t = Uint32Array.from({ length: 128 }, (_, i) => i);
    expect(hashPromptBlocks(t, seed, 64, 8)).toEqual(hashPromptBlocks(t, prefixHashSeed('qwen'), 64, 8));
    expect(hashPromptBlocks(t, seed, 64, 8)[0]).not.toBe(
      hashPromptBlocks(t, prefixHashSeed('llama'), 64, 8)[0],
    );
  });

  it('produces exact integers below 2^52', () => {
    const hashes = hashPromptBlocks(
      Uint32Array.from({ length: 6400 }, (_, i) => i ^ 0xdeadbeef),
      seed,
      64,
      1000,
    );
    for (const h of hashes) {
      expect(Number.isSafeInteger(h)).toBe(true);
      expect(h).toBeLessThan(2 ** 52);
    }
    expect(new Set(hashes).size).toBe(hashes.length);
  });
});
