// Precise prefix index: which blocks each endpoint's KV cache holds, as its KV-cache events report them
// (BlockStored adds, BlockRemoved drops, AllBlocksCleared empties). Unlike the approximate index it learns
// nothing from routing decisions, so it is as fresh as the event stream and never holds an evicted block.
// Each endpoint's blocks are an open-addressing hash set over a Float64Array: a Set of 53-bit numbers boxes
// every key as a heap number, and a pick looks up hundreds of blocks (an 8k-token prompt is 512 blocks of 16).
import type { KvCacheEvent } from './types.ts';

/** A growable set of 53-bit block keys: linear probing, backward-shift deletion (no tombstones). */
class BlockKeySet {
  #keys = new Float64Array(16);
  #used = new Uint8Array(16);
  #mask = 15;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  #home(key: number): number {
    return (Math.imul(key >>> 0, 0x9e3779b1) >>> 0) & this.#mask;
  }

  /** The slot holding `key`, or -1. */
  #find(key: number): number {
    const keys = this.#keys;
    const used = this.#used;
    const mask = this.#mask;
    for (let i = this.#home(key); used[i] === 1; i = (i + 1) & mask) if (keys[i] === key) return i;
    return -1;
  }

  has(key: number): boolean {
    return this.#find(key) >= 0;
  }

  add(key: number): void {
    if ((this.#size + 1) * 2 > this.#keys.length) this.#resize(this.#keys.length * 2);
    const keys = this.#keys;
    const used = this.#used;
    const mask = this.#mask;
    let i = this.#home(key);
    for (; used[i] === 1; i = (i + 1) & mask) if (keys[i] === key) return;
    keys[i] = key;
    used[i] = 1;
    this.#size++;
  }

  delete(key: number): void {
    let i = this.#find(key);
    if (i < 0) return;
    const keys = this.#keys;
    const used = this.#used;
    const mask = this.#mask;
    used[i] = 0;
    this.#size--;
    // Move later entries of the probe run back into the hole unless their home lies between hole and them.
    for (let j = (i + 1) & mask; used[j] === 1; j = (j + 1) & mask) {
      const home = this.#home(keys[j] as number);
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (stays) continue;
      keys[i] = keys[j] as number;
      used[i] = 1;
      used[j] = 0;
      i = j;
    }
  }

  clear(): void {
    if (this.#keys.length > 1024) {
      this.#keys = new Float64Array(16);
      this.#used = new Uint8Array(16);
      this.#mask = 15;
    } else this.#used.fill(0);
    this.#size = 0;
  }

  #resize(capacity: number): void {
    const keys = this.#keys;
    const used = this.#used;
    this.#keys = new Float64Array(capacity);
    this.#used = new Uint8Array(capacity);
    this.#mask = capacity - 1;
    this.#size = 0;
    for (let i = 0; i < keys.length; i++) if (used[i] === 1) this.add(keys[i] as number);
  }
}

export class PreciseIndex {
  readonly #blocks: BlockKeySet[] = [];

  #of(id: number): BlockKeySet {
    let set = this.#blocks[id];
    if (set === undefined) {
      set = new BlockKeySet();
      this.#blocks[id] = set;
    }
    return set;
  }

  apply(id: number, event: KvCacheEvent): void {
    const set = this.#of(id);
    if (event.type === 'cleared') set.clear();
    else if (event.type === 'stored') for (const hash of event.blockHashes) set.add(hash);
    else for (const hash of event.blockHashes) set.delete(hash);
  }

  /** Forgets an endpoint (it left the pool, or its event stream restarted). */
  clear(id: number): void {
    this.#blocks[id]?.clear();
  }

  size(id: number): number {
    return this.#blocks[id]?.size ?? 0;
  }

  /** For each candidate id, how many leading `hashes` its cache holds (stopping at the first it lacks). */
  match(hashes: Float64Array, candidateIds: ArrayLike<number>, out: Int32Array): void {
    for (let i = 0; i < candidateIds.length; i++) {
      const set = this.#blocks[candidateIds[i] ?? -1];
      let run = 0;
      if (set !== undefined) while (run < hashes.length && set.has(hashes[run] as number)) run++;
      out[i] = run;
    }
  }
}
