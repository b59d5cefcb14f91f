// A vLLM V1-style KV block pool: fixed-size blocks, reference counts, a hash → block map of full blocks that
// hold cached prefixes, and a free queue ordered for eviction. Unreferenced blocks keep their hash until an
// allocation pops them from the front of the free queue (lazy eviction), so a later request can still hit them.
// Callers free a request's blocks tail-first, which makes eviction leaf-first LRU as in vLLM.

import { BlockHashTable } from './hash-table.ts';

const NONE = -1;

/** Where a registered block comes from: a prompt's block hashes and, when known, its token ids. */
export interface BlockOrigin {
  readonly blockHashes: ArrayLike<number>;
  readonly tokens?: ArrayLike<number>;
}

/** What the pool reports as blocks enter and leave the prefix cache (vLLM's BlockStored / BlockRemoved). */
export interface BlockCacheListener {
  /** `origin` and `index`: the prompt the block belongs to and its position there, when the caller said. */
  stored(hash: number, origin?: BlockOrigin, index?: number): void;
  removed(hash: number): void;
}

export class BlockPool {
  /** Told about every hash that becomes reusable and every hash evicted (the KV-event stream). */
  listener: BlockCacheListener | undefined;
  readonly capacity: number;
  private readonly refCount: Int32Array;
  private readonly blockHash: Float64Array;
  private readonly hasHash: Uint8Array;
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private readonly inFreeQueue: Uint8Array;
  private head = NONE;
  private tail = NONE;
  private freeCount = 0;
  private released = 0;
  private readonly cached: BlockHashTable;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity <= 0) {
      throw new RangeError(`block pool capacity must be a positive integer, got ${String(capacity)}`);
    }
    this.capacity = capacity;
    this.refCount = new Int32Array(capacity);
    this.blockHash = new Float64Array(capacity);
    this.hasHash = new Uint8Array(capacity);
    this.prev = new Int32Array(capacity).fill(NONE);
    this.next = new Int32Array(capacity).fill(NONE);
    this.inFreeQueue = new Uint8Array(capacity);
    this.cached = new BlockHashTable(capacity);
    for (let block = 0; block < capacity; block++) this.pushBack(block);
  }

  /** Blocks not referenced by any request (cached or empty): what vLLM counts as free. */
  get freeBlocks(): number {
    return this.freeCount;
  }

  get usedBlocks(): number {
    return this.capacity - this.freeCount;
  }

  /** Blocks that have become unreferenced since the pool was made (monotonic). */
  get releasedTotal(): number {
    return this.released;
  }

  /** Number of full blocks currently holding a cached hash (referenced or not). */
  get cachedBlocks(): number {
    return this.cached.size;
  }

  /** Requests holding `block` (vLLM's ref_cnt). */
  references(block: number): number {
    return this.refCount[block] ?? 0;
  }

  /** Length of the longest run of leading hashes present in the cache, capped at `maxBlocks`. */
  matchPrefix(hashes: ArrayLike<number>, maxBlocks: number = hashes.length): number {
    const limit = Math.min(maxBlocks, hashes.length);
    let matched = 0;
    while (matched < limit && this.cached.has(hashes[matched] as number)) matched++;
    return matched;
  }

  /** How many of the cached blocks for the first `count` hashes are unreferenced (sitting in the free queue). */
  countUnreferenced(hashes: ArrayLike<number>, count: number): number {
    let unreferenced = 0;
    for (let i = 0; i < count; i++) {
      const block = this.cached.get(hashes[i] as number);
      if (block >= 0 && this.refCount[block] === 0) unreferenced++;
    }
    return unreferenced;
  }

  /** Takes a reference on the cached blocks for the first `count` hashes (which must all be cached). */
  acquireCached(hashes: ArrayLike<number>, count: number, into: number[]): void {
    for (let i = 0; i < count; i++) {
      const block = this.cached.get(hashes[i] as number);
      if (block < 0) throw new Error(`block hash at index ${String(i)} is not cached`);
      if (this.refCount[block] === 0) this.unlink(block);
      this.refCount[block] = (this.refCount[block] as number) + 1;
      into.push(block);
    }
  }

  /**
   * Allocates `count` empty blocks from the front of the free queue, evicting their cached hashes.
   * Returns false and allocates nothing when fewer than `count` blocks are free.
   */
  allocate(count: number, into: number[]): boolean {
    if (count > this.freeCount) return false;
    for (let i = 0; i < count; i++) {
      const block = this.head;
      this.unlink(block);
      if (this.hasHash[block] === 1) {
        const hash = this.blockHash[block] as number;
        if (this.cached.get(hash) === block) {
          this.cached.delete(hash);
          this.listener?.removed(hash);
        }
        this.hasHash[block] = 0;
      }
      this.refCount[block] = 1;
      into.push(block);
    }
    return true;
  }

  /**
   * Records that `block` now holds the full block identified by `hash`, making it reusable by prefix.
   * `origin` and `index` (block `index` of that prompt) go to the listener.
   */
  register(block: number, hash: number, origin?: BlockOrigin, index?: number): void {
    if (this.hasHash[block] === 1 || this.cached.has(hash)) return;
    this.blockHash[block] = hash;
    this.hasHash[block] = 1;
    this.cached.set(hash, block);
    this.listener?.stored(hash, origin, index);
  }

  /** Drops one reference on each block, last block first (tail-first eviction order). */
  release(blocks: readonly number[]): void {
    for (let i = blocks.length - 1; i >= 0; i--) {
      const block = blocks[i] as number;
      const count = (this.refCount[block] as number) - 1;
      if (count < 0) throw new Error(`block ${String(block)} released more often than acquired`);
      this.refCount[block] = count;
      if (count === 0) {
        this.pushBack(block);
        this.released++;
      }
    }
  }

  /** Drops every cached hash of unreferenced blocks (vLLM's reset_prefix_cache). */
  clearCache(): void {
    for (let block = 0; block < this.capacity; block++) {
      if (this.hasHash[block] === 1 && this.refCount[block] === 0) {
        this.hasHash[block] = 0;
        this.cached.delete(this.blockHash[block] as number);
        this.listener?.removed(this.blockHash[block] as number);
      }
    }
  }

  private pushBack(block: number): void {
    this.prev[block] = this.tail;
    this.next[block] = NONE;
    if (this.tail === NONE) this.head = block;
    else this.next[this.tail] = block;
    this.tail = block;
    this.inFreeQueue[block] = 1;
    this.freeCount++;
  }

  private unlink(block: number): void {
    if (this.inFreeQueue[block] !== 1) throw new Error(`block ${String(block)} is not in the free queue`);
    const before = this.prev[block] as number;
    const after = this.next[block] as number;
    if (before === NONE) this.head = after;
    else this.next[before] = after;
    if (after === NONE) this.tail = before;
    else this.prev[after] = before;
    this.prev[block] = NONE;
    this.next[block] = NONE;
    this.inFreeQueue[block] = 0;
    this.freeCount--;
  }
}
