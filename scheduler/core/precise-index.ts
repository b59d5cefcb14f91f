// Precise prefix index: which blocks each endpoint's KV cache holds, as its KV-cache events report them
// (BlockStored adds, BlockRemoved drops, AllBlocksCleared empties). Unlike the approximate index it learns
// nothing from routing decisions, so it is as fresh as the event stream and never holds an evicted block.
import type { KvCacheEvent } from './types.ts';

export class PreciseIndex {
  readonly #blocks: Set<number>[] = [];

  #of(id: number): Set<number> {
    let set = this.#blocks[id];
    if (set === undefined) {
      set = new Set();
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
      if (set !== undefined) while (run < hashes.length && set.has(hashes[run] ?? -1)) run++;
      out[i] = run;
    }
  }
}
