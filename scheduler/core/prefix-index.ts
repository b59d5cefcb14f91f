// Approximate prefix index: which endpoint probably holds which prompt blocks in its KV cache.
//
// Every (block hash, endpoint) pair is a node in typed arrays. Nodes of one endpoint form a doubly linked LRU
// list (head = least recently used); nodes whose hashes share their low bits form a singly linked chain from a
// power-of-two bucket table (kept at least twice the node count). Touching a block is O(1) pointer surgery and
// nothing allocates per request. Memory is bounded by the sum of the per-endpoint capacities: 29 bytes of node
// arrays plus at most 8 bytes of buckets per indexed block (plus slack from doubling). Blocks held by requests
// in flight leave their endpoint's LRU list until released, so they may exceed the capacity meanwhile.

const NONE = -1;

export class PrefixIndex {
  #hash = new Float64Array(1024);
  #owner = new Int32Array(1024);
  #prev = new Int32Array(1024);
  #next = new Int32Array(1024);
  #chain = new Int32Array(1024);
  /** Holds of in-flight requests on the node; a held node is outside its endpoint's LRU list. */
  #holds = new Int32Array(1024);
  /** 1 on nodes inserted as the first block of a prompt: each stands for one prefix the endpoint holds. */
  #root = new Uint8Array(1024);
  #free = NONE;
  #used = 0;
  #buckets = new Int32Array(2048).fill(NONE);
  #mask = 2047;
  /** Per endpoint: least recently used node, most recently used node, node count, capacity, root count. */
  readonly #lruHead: number[] = [];
  readonly #lruTail: number[] = [];
  readonly #sizes: number[] = [];
  readonly #capacities: number[] = [];
  readonly #roots: number[] = [];
  #runs = new Int32Array(16);

  /** Registers endpoint `id` (dense small integers) with a capacity in blocks, or changes its capacity. */
  setCapacity(id: number, capacityBlocks: number): void {
    while (this.#capacities.length <= id) {
      this.#lruHead.push(NONE);
      this.#lruTail.push(NONE);
      this.#sizes.push(0);
      this.#capacities.push(0);
      this.#roots.push(0);
    }
    this.#capacities[id] = Math.max(0, Math.floor(capacityBlocks));
    this.#evict(id);
  }

  capacity(id: number): number {
    return this.#capacities[id] ?? 0;
  }

  size(id: number): number {
    return this.#sizes[id] ?? 0;
  }

  /**
   * How many distinct prefixes endpoint `id` holds: its indexed blocks that were the first block of a prompt
   * (prompts that differ from their first block on are different prefixes).
   */
  prefixes(id: number): number {
    return this.#roots[id] ?? 0;
  }

  /**
   * For each candidate endpoint id, how many leading blocks of `hashes` it holds (stopping at the first
   * block it does not hold). Written into `out` (same length as `candidateIds`).
   */
  match(hashes: Float64Array, candidateIds: ArrayLike<number>, out: Int32Array): void {
    const endpoints = this.#capacities.length;
    if (this.#runs.length < endpoints) this.#runs = new Int32Array(endpoints * 2);
    const runs = this.#runs;
    runs.fill(0, 0, endpoints);
    for (let block = 0; block < hashes.length; block++) {
      const hash = hashes[block] ?? 0;
      let node = this.#buckets[(hash >>> 0) & this.#mask] ?? NONE;
      let advanced = false;
      while (node !== NONE) {
        if (this.#hash[node] === hash) {
          const owner = this.#owner[node] ?? 0;
          if (runs[owner] === block) {
            runs[owner] = block + 1;
            advanced = true;
          }
        }
        node = this.#chain[node] ?? NONE;
      }
      if (!advanced) break;
    }
    for (let i = 0; i < candidateIds.length; i++) {
      const id = candidateIds[i] ?? NONE;
      out[i] = id >= 0 && id < endpoints ? (runs[id] ?? 0) : 0;
    }
  }

  /**
   * Records that endpoint `id` now holds the first `count` blocks. Blocks are touched last-to-first so that
   * the first blocks of a prompt are the most recently used: eviction then removes tails before roots, as
   * vLLM's free queue does.
   */
  insert(id: number, hashes: Float64Array, count: number = hashes.length): void {
    if ((this.#capacities[id] ?? 0) === 0) return;
    for (let block = Math.min(count, hashes.length) - 1; block >= 0; block--) {
      const hash = hashes[block] ?? 0;
      const node = this.#find(hash, id);
      if (node === NONE) this.#add(hash, id, block === 0);
      else if (this.#holds[node] === 0) {
        this.#unlinkLru(node, id);
        this.#appendLru(node, id);
      }
    }
    this.#evict(id);
  }

  /**
   * Records the first `count` blocks on endpoint `id` as held by a request in flight there: the engine keeps
   * a running request's blocks, so eviction passes them over until `release`.
   */
  hold(id: number, hashes: Float64Array, count: number = hashes.length): void {
    if ((this.#capacities[id] ?? 0) === 0) return;
    for (let block = Math.min(count, hashes.length) - 1; block >= 0; block--) {
      const hash = hashes[block] ?? 0;
      let node = this.#find(hash, id);
      if (node === NONE) {
        this.#add(hash, id, block === 0);
        node = this.#lruTail[id] ?? NONE;
      }
      if ((this.#holds[node] ?? 0) === 0) this.#unlinkLru(node, id);
      this.#holds[node] = (this.#holds[node] ?? 0) + 1;
    }
    this.#evict(id);
  }

  /** Ends a hold: blocks no request holds any more become the endpoint's most recently used. */
  release(id: number, hashes: Float64Array, count: number = hashes.length): void {
    if (id >= this.#capacities.length) return;
    for (let block = Math.min(count, hashes.length) - 1; block >= 0; block--) {
      const node = this.#find(hashes[block] ?? 0, id);
      if (node === NONE || (this.#holds[node] ?? 0) === 0) continue;
      this.#holds[node] = (this.#holds[node] ?? 1) - 1;
      if (this.#holds[node] === 0) this.#appendLru(node, id);
    }
    this.#evict(id);
  }

  /** Forgets blocks [from, to) of `hashes` for endpoint `id`. */
  remove(id: number, hashes: Float64Array, from: number, to: number = hashes.length): void {
    if (id >= this.#capacities.length) return;
    for (let block = Math.max(0, from); block < Math.min(to, hashes.length); block++) {
      const node = this.#find(hashes[block] ?? 0, id);
      if (node !== NONE) this.#delete(node, id);
    }
  }

  /** Forgets everything attributed to endpoint `id` (it left the pool). */
  clear(id: number): void {
    for (let node = 0; node < this.#used; node++) if (this.#owner[node] === id) this.#delete(node, id);
  }

  #find(hash: number, id: number): number {
    let node = this.#buckets[(hash >>> 0) & this.#mask] ?? NONE;
    while (node !== NONE) {
      if (this.#hash[node] === hash && this.#owner[node] === id) return node;
      node = this.#chain[node] ?? NONE;
    }
    return NONE;
  }

  #add(hash: number, id: number, root: boolean): void {
    const node = this.#allocate();
    this.#hash[node] = hash;
    this.#owner[node] = id;
    this.#root[node] = root ? 1 : 0;
    if (root) this.#roots[id] = (this.#roots[id] ?? 0) + 1;
    const bucket = (hash >>> 0) & this.#mask;
    this.#chain[node] = this.#buckets[bucket] ?? NONE;
    this.#buckets[bucket] = node;
    this.#appendLru(node, id);
    this.#sizes[id] = (this.#sizes[id] ?? 0) + 1;
  }

  #delete(node: number, id: number): void {
    if (this.#holds[node] === 0) this.#unlinkLru(node, id);
    this.#holds[node] = 0;
    this.#sizes[id] = (this.#sizes[id] ?? 1) - 1;
    if (this.#root[node] === 1) {
      this.#root[node] = 0;
      this.#roots[id] = (this.#roots[id] ?? 1) - 1;
    }
    const hash = this.#hash[node] ?? 0;
    const bucket = (hash >>> 0) & this.#mask;
    const head = this.#buckets[bucket] ?? NONE;
    const after = this.#chain[node] ?? NONE;
    if (head === node) {
      this.#buckets[bucket] = after;
    } else {
      let at = head;
      while (at !== NONE && this.#chain[at] !== node) at = this.#chain[at] ?? NONE;
      if (at !== NONE) this.#chain[at] = after;
    }
    this.#owner[node] = NONE;
    this.#chain[node] = this.#free;
    this.#free = node;
  }

  #evict(id: number): void {
    const capacity = this.#capacities[id] ?? 0;
    while ((this.#sizes[id] ?? 0) > capacity && (this.#lruHead[id] ?? NONE) !== NONE) {
      this.#delete(this.#lruHead[id] ?? NONE, id);
    }
  }

  #appendLru(node: number, id: number): void {
    const tail = this.#lruTail[id] ?? NONE;
    this.#prev[node] = tail;
    this.#next[node] = NONE;
    if (tail === NONE) this.#lruHead[id] = node;
    else this.#next[tail] = node;
    this.#lruTail[id] = node;
  }

  #unlinkLru(node: number, id: number): void {
    const prev = this.#prev[node] ?? NONE;
    const next = this.#next[node] ?? NONE;
    if (prev === NONE) this.#lruHead[id] = next;
    else this.#next[prev] = next;
    if (next === NONE) this.#lruTail[id] = prev;
    else this.#prev[next] = prev;
  }

  #allocate(): number {
    if (this.#free !== NONE) {
      const node = this.#free;
      this.#free = this.#chain[node] ?? NONE;
      return node;
    }
    if (this.#used === this.#hash.length) this.#grow();
    if (this.#used * 2 >= this.#buckets.length) this.#rehash(this.#buckets.length * 2);
    return this.#used++;
  }

  #rehash(size: number): void {
    this.#buckets = new Int32Array(size).fill(NONE);
    this.#mask = size - 1;
    for (let node = 0; node < this.#used; node++) {
      if (this.#owner[node] === NONE) continue;
      const bucket = ((this.#hash[node] ?? 0) >>> 0) & this.#mask;
      this.#chain[node] = this.#buckets[bucket] ?? NONE;
      this.#buckets[bucket] = node;
    }
  }

  #grow(): void {
    const size = this.#hash.length * 2;
    const grow = <T extends Float64Array | Int32Array | Uint8Array>(from: T, to: T): T => {
      to.set(from);
      return to;
    };
    this.#hash = grow(this.#hash, new Float64Array(size));
    this.#owner = grow(this.#owner, new Int32Array(size));
    this.#prev = grow(this.#prev, new Int32Array(size));
    this.#next = grow(this.#next, new Int32Array(size));
    this.#chain = grow(this.#chain, new Int32Array(size));
    this.#holds = grow(this.#holds, new Int32Array(size));
    this.#root = grow(this.#root, new Uint8Array(size));
  }
}
