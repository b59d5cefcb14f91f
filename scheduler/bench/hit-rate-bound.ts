// The prefix-hit bound a router could reach: one LRU block cache with the whole cluster's KV capacity, fed the
// same prompts in arrival order, with the engine's block size and hit rule (the last token is always
// recomputed). Token-weighted over the measured requests.

import { BlockPool } from '../sim/block-pool.ts';
import type { EnginePrompt } from '../sim/engine.ts';

export function hitRateBound(
  prompts: readonly EnginePrompt[],
  measuredFrom: number,
  capacityBlocks: number,
  blockSize: number,
): number {
  const pool = new BlockPool(capacityBlocks);
  let promptTokens = 0;
  let hitTokens = 0;
  const blocks: number[] = [];
  prompts.forEach((prompt, index) => {
    const hashes = prompt.blockHashes;
    const hit = pool.matchPrefix(hashes, Math.floor((prompt.length - 1) / blockSize));
    if (index >= measuredFrom) {
      promptTokens += prompt.length;
      hitTokens += hit * blockSize;
    }
    blocks.length = 0;
    pool.acquireCached(hashes, hit, blocks);
    const fresh = Math.min(hashes.length - hit, pool.freeBlocks);
    pool.allocate(fresh, blocks);
    for (let i = hit; i < hit + fresh; i++) pool.register(blocks[i] as number, hashes[i] as number);
    pool.release(blocks);
  });
  return promptTokens > 0 ? hitTokens / promptTokens : 0;
}
