// Hash-chained prompt blocks: block i's hash covers its tokens and block i-1's hash, and the chain starts from
// a seed derived from the model name, so equal hashes mean equal prefixes of the same model. Hashes are
// 52-bit integers (two 32-bit lanes) kept as plain numbers: exact as doubles and cheap as Map keys.

const TWO_32 = 4294967296;
const encoder = new TextEncoder();

/** MurmurHash3's 32-bit finalizer: spreads every input bit over the whole word. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function combine(hi: number, lo: number): number {
  return (hi & 0xfffff) * TWO_32 + (lo >>> 0);
}

/** The chain's starting value for a model (and cache salt, when one is used). */
export function prefixHashSeed(model: string): number {
  const bytes = encoder.encode(model);
  let lo = 0x243f6a88;
  let hi = 0x85a308d3;
  for (const byte of bytes) {
    lo = Math.imul(lo ^ byte, 0x01000193);
    hi = Math.imul(hi ^ byte, 0x9e3779b1) ^ (lo >>> 15);
  }
  return combine(fmix32(hi ^ bytes.length), fmix32(lo));
}

/**
 * Hashes of the full `blockSize`-token blocks of `tokens` (a partial last block is not hashed: engines only
 * reuse full blocks), at most `maxBlocks` of them.
 */
export function hashPromptBlocks(
  tokens: Uint32Array,
  seed: number,
  blockSize: number,
  maxBlocks: number,
): Float64Array {
  const count = Math.min(Math.floor(tokens.length / blockSize), maxBlocks);
  const hashes = new Float64Array(count);
  let parent = seed;
  for (let block = 0; block < count; block++) {
    // One murmur3-style lane over the tokens plus a cheap second lane; both folded with the parent hash.
    let lo = (parent >>> 0) ^ 0x9e3779b9;
    let hi = Math.floor(parent / TWO_32) ^ 0x7f4a7c15;
    const end = (block + 1) * blockSize;
    for (let i = block * blockSize; i < end; i++) {
      const token = tokens[i] ?? 0;
      lo = Math.imul(lo ^ token, 0xcc9e2d51);
      lo = (lo << 15) | (lo >>> 17);
      hi = ((hi << 5) - hi + token) | 0;
    }
    parent = combine(fmix32(hi ^ lo ^ block), fmix32(lo ^ blockSize));
    hashes[block] = parent;
  }
  return hashes;
}

// KV-cache block hashes as the engine computes them (the simulator's model of vLLM's block hash): a block's
// hash covers its parent's hash and its own tokens, so equal hashes imply equal prefixes. Only full blocks get
// a hash. The 53-bit values fit a JavaScript number exactly, and each one is the whole chain state: hashing
// more blocks from a block's hash continues the chain (kvBlockHashesFrom), which is how the precise prefix
// index keys the blocks a KV-cache event reports (BlockStored: parent key + token ids) with the very function
// that hashes a request's prompt.

const HIGH_BITS = 2 ** 21;

/** The chain's value before the first block (the "parent" of block 0), from a hash seed. */
export function kvChainStart(seed = 0): number {
  return (fmix32(seed + 0x7f4a7c15) % HIGH_BITS) * TWO_32 + fmix32(seed ^ 0x9e3779b9);
}

/**
 * Hashes of the full blocks of `tokens` (at most `maxBlocks`), the first chained to `parent` (a block hash,
 * or kvChainStart(seed) for the start of a prompt), each next one to the previous. Only Uint32Array: with
 * plain arrays passed here too, the token loop (every token of every prompt of the precise index) ran on
 * generic element access and took 60% of a pick.
 */
export function kvBlockHashesFrom(
  parent: number,
  tokens: Uint32Array,
  blockSize: number,
  maxBlocks = Number.POSITIVE_INFINITY,
): Float64Array {
  const fullBlocks = Math.min(Math.floor(tokens.length / blockSize), maxBlocks);
  const hashes = new Float64Array(fullBlocks);
  let parentLow = parent % TWO_32;
  let parentHigh = Math.floor(parent / TWO_32);
  for (let block = 0; block < fullBlocks; block++) {
    let low = parentLow;
    let high = fmix32(parentHigh ^ 0x5bd1e995);
    const start = block * blockSize;
    for (let i = start; i < start + blockSize; i++) {
      const token = tokens[i] as number;
      low = Math.imul(low ^ token, 0x01000193) >>> 0;
      high = Math.imul(high + token, 0x5bd1e995) ^ (high >>> 15);
    }
    parentLow = fmix32(low);
    parentHigh = fmix32(high ^ parentLow) % HIGH_BITS;
    hashes[block] = parentHigh * TWO_32 + parentLow;
  }
  return hashes;
}

/** Hashes of the full blocks of `tokens` (at most `maxBlocks`), the chain started from `seed`. */
export function kvBlockHashes(
  tokens: Uint32Array,
  blockSize: number,
  seed = 0,
  maxBlocks = Number.POSITIVE_INFINITY,
): Float64Array {
  return kvBlockHashesFrom(kvChainStart(seed), tokens, blockSize, maxBlocks);
}
