// Turning prompt tokens into what the engine needs: length and chained block hashes at its block size.

import { blockHashes } from './hashing.ts';
import type { EnginePrompt } from './engine.ts';

export function enginePrompt(
  tokens: Uint32Array,
  blockSize: number,
  options: { readonly keepTokens?: boolean } = {},
): EnginePrompt {
  const prompt = { length: tokens.length, blockHashes: blockHashes(tokens, blockSize) };
  return options.keepTokens === true ? { ...prompt, tokens } : prompt;
}
