// Hash-chained block identities over token ids, as vLLM computes them: a block's hash covers its parent's hash
// and its own tokens, so equal hashes imply equal prefixes. Only full blocks get a hash. The 53-bit values fit
// a JavaScript number exactly, which keeps Map lookups cheap and collisions negligible at simulator scale.

import { fmix32 } from '../core/prefix-hash.ts';

const HIGH_BITS = 2 ** 21;

/** Hashes of every full block of `tokens`, each chained to the previous one (the first to `seed`). */
export function blockHashes(tokens: ArrayLike<number>, blockSize: number, seed = 0): Float64Array {
  const fullBlocks = Math.floor(tokens.length / blockSize);
  const hashes = new Float64Array(fullBlocks);
  let parentLow = fmix32(seed ^ 0x9e3779b9);
  let parentHigh = fmix32(seed + 0x7f4a7c15);
  for (let block = 0; block < fullBlocks; block++) {
    let low = parentLow;
    let high = parentHigh;
    const start = block * blockSize;
    for (let i = start; i < start + blockSize; i++) {
      const token = tokens[i] as number;
      low = Math.imul(low ^ token, 0x01000193) >>> 0;
      high = Math.imul(high + token, 0x5bd1e995) ^ (high >>> 15);
    }
    parentLow = fmix32(low);
    parentHigh = fmix32(high ^ parentLow);
    hashes[block] = (parentHigh % HIGH_BITS) * 2 ** 32 + parentLow;
  }
  return hashes;
}
