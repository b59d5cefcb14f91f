// Hash-chained block identities over token ids, as vLLM computes them. The function lives in the router's core
// (kvBlockHashes) because the precise prefix index keys KV-cache events by the same hashes, as llm-d's EPP and
// llm-d-inference-sim share one token processor.

export { kvBlockHashes as blockHashes } from '../core/prefix-hash.ts';
