// A map from block hashes to numbers, for the KV-event feed: an engine's hashes to router keys, and router
// keys to how many engine blocks share them. vLLM publishes block hashes as 64-bit integers, which msgpack
// decodes to bigints: a Map keyed by bigints spent 0.3 ms per 8k-token message (512 stores and 512 removals)
// and rehashed for milliseconds as it grew. Here a 64-bit hash is two uint32 halves in an open-addressing
// table (linear probing, backward-shift deletion, no tombstones); the halves of a bigint come from a
// BigUint64Array cell, which reads it without allocating. A negative hash counts by its two's complement, so
// an int64 and the uint64 of the same bits are one hash. Hashes published as bytes (hex strings after
// decoding) are rare and kept in a plain Map.
import type { EngineBlockHash } from './codec.ts';

const TWO_32 = 2 ** 32;
/** Which uint32 of a 64-bit cell holds the low half: 0 on little-endian machines. */
const LOW_HALF = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 0 : 1;

export class BlockHashMap {
  #high = new Uint32Array(16);
  #low = new Uint32Array(16);
  #values = new Float64Array(16);
  #used = new Uint8Array(16);
  #mask = 15;
  #count = 0;
  readonly #byteHashes = new Map<string, number>();
  // One 64-bit cell viewed as two 32-bit halves.
  readonly #cell = new BigUint64Array(1);
  readonly #halves = new Uint32Array(this.#cell.buffer);
  #splitHigh = 0;
  #splitLow = 0;

  get size(): number {
    return this.#count + this.#byteHashes.size;
  }

  /** Sets #splitHigh / #splitLow to the hash's 64 bits (two's complement for negative values). */
  #split(hash: number | bigint): void {
    if (typeof hash === 'number' && hash >= 0) {
      this.#splitLow = hash % TWO_32;
      this.#splitHigh = Math.floor(hash / TWO_32);
      return;
    }
    this.#cell[0] = typeof hash === 'bigint' ? hash : BigInt(hash);
    this.#splitLow = this.#halves[LOW_HALF] as number;
    this.#splitHigh = this.#halves[1 - LOW_HALF] as number;
  }

  #home(high: number, low: number): number {
    let h = low ^ Math.imul(high, 0x9e3779b1);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    return (h ^ (h >>> 13)) & this.#mask;
  }

  /** The slot of the split hash, or -1. */
  #find(): number {
    const high = this.#splitHigh;
    const low = this.#splitLow;
    const mask = this.#mask;
    for (let i = this.#home(high, low); this.#used[i] === 1; i = (i + 1) & mask) {
      if (this.#low[i] === low && this.#high[i] === high) return i;
    }
    return -1;
  }

  get(hash: EngineBlockHash): number | undefined {
    if (typeof hash === 'string') return this.#byteHashes.get(hash);
    this.#split(hash);
    const slot = this.#find();
    return slot < 0 ? undefined : this.#values[slot];
  }

  has(hash: EngineBlockHash): boolean {
    return this.get(hash) !== undefined;
  }

  set(hash: EngineBlockHash, value: number): void {
    if (typeof hash === 'string') {
      this.#byteHashes.set(hash, value);
      return;
    }
    if ((this.#count + 1) * 2 > this.#used.length) this.#resize(this.#used.length * 2);
    this.#split(hash);
    this.#put(this.#splitHigh, this.#splitLow, value);
  }

  #put(high: number, low: number, value: number): void {
    const mask = this.#mask;
    let i = this.#home(high, low);
    for (; this.#used[i] === 1; i = (i + 1) & mask) {
      if (this.#low[i] === low && this.#high[i] === high) {
        this.#values[i] = value;
        return;
      }
    }
    this.#high[i] = high;
    this.#low[i] = low;
    this.#values[i] = value;
    this.#used[i] = 1;
    this.#count++;
  }

  /** Removes the hash; returns the value it mapped to, if any. */
  delete(hash: EngineBlockHash): number | undefined {
    if (typeof hash === 'string') {
      const value = this.#byteHashes.get(hash);
      this.#byteHashes.delete(hash);
      return value;
    }
    this.#split(hash);
    let hole = this.#find();
    if (hole < 0) return undefined;
    const value = this.#values[hole];
    const mask = this.#mask;
    this.#used[hole] = 0;
    this.#count--;
    // Move later entries of the probe run back into the hole unless their home lies between hole and them.
    for (let j = (hole + 1) & mask; this.#used[j] === 1; j = (j + 1) & mask) {
      const home = this.#home(this.#high[j] as number, this.#low[j] as number);
      const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (stays) continue;
      this.#high[hole] = this.#high[j] as number;
      this.#low[hole] = this.#low[j] as number;
      this.#values[hole] = this.#values[j] as number;
      this.#used[hole] = 1;
      this.#used[j] = 0;
      hole = j;
    }
    return value;
  }

  clear(): void {
    if (this.#used.length > 1024) this.#allocate(16);
    else this.#used.fill(0);
    this.#count = 0;
    this.#byteHashes.clear();
  }

  #allocate(capacity: number): void {
    this.#high = new Uint32Array(capacity);
    this.#low = new Uint32Array(capacity);
    this.#values = new Float64Array(capacity);
    this.#used = new Uint8Array(capacity);
    this.#mask = capacity - 1;
  }

  #resize(capacity: number): void {
    const [high, low, values, used] = [this.#high, this.#low, this.#values, this.#used];
    this.#allocate(capacity);
    this.#count = 0;
    for (let i = 0; i < used.length; i++) {
      if (used[i] === 1) this.#put(high[i] as number, low[i] as number, values[i] as number);
    }
  }
}
