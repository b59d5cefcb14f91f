// An open-addressing hash table from 53-bit block hashes (stored as doubles) to block numbers. The block pool
// does millions of lookups per simulated minute; a Map keyed by non-small-integer numbers is several times
// slower because every key is a heap number.

const EMPTY = -1;

export class BlockHashTable {
  private readonly keys: Float64Array;
  private readonly values: Int32Array;
  private readonly mask: number;
  private count = 0;

  /** Room for at least `maxEntries` entries at a load factor of at most one half. */
  constructor(maxEntries: number) {
    let size = 16;
    while (size < maxEntries * 2) size *= 2;
    this.keys = new Float64Array(size);
    this.values = new Int32Array(size).fill(EMPTY);
    this.mask = size - 1;
  }

  get size(): number {
    return this.count;
  }

  private home(hash: number): number {
    return (Math.imul(hash >>> 0, 0x9e3779b1) >>> 0) & this.mask;
  }

  get(hash: number): number {
    const { keys, values, mask } = this;
    for (let i = this.home(hash); ; i = (i + 1) & mask) {
      const value = values[i] as number;
      if (value === EMPTY) return EMPTY;
      if (keys[i] === hash) return value;
    }
  }

  has(hash: number): boolean {
    return this.get(hash) !== EMPTY;
  }

  /** Inserts or replaces. */
  set(hash: number, value: number): void {
    const { keys, values, mask } = this;
    for (let i = this.home(hash); ; i = (i + 1) & mask) {
      if (values[i] === EMPTY) {
        if (this.count * 2 >= values.length) throw new Error('block hash table is full');
        keys[i] = hash;
        values[i] = value;
        this.count++;
        return;
      }
      if (keys[i] === hash) {
        values[i] = value;
        return;
      }
    }
  }

  /** Removes the entry; backward-shift deletion keeps probe chains intact without tombstones. */
  delete(hash: number): boolean {
    const { keys, values, mask } = this;
    let hole = this.home(hash);
    for (; ; hole = (hole + 1) & mask) {
      if (values[hole] === EMPTY) return false;
      if (keys[hole] === hash) break;
    }
    for (let next = (hole + 1) & mask; values[next] !== EMPTY; next = (next + 1) & mask) {
      const home = this.home(keys[next] as number);
      // Move `next` into the hole unless its home lies cyclically in (hole, next].
      const inRange = hole <= next ? home > hole && home <= next : home > hole || home <= next;
      if (!inRange) {
        keys[hole] = keys[next] as number;
        values[hole] = values[next] as number;
        hole = next;
      }
    }
    values[hole] = EMPTY;
    this.count--;
    return true;
  }
}
