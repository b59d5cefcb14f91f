// Engine profiles: the capacity limits and step-time coefficients of one vLLM replica of a model on a GPU
// type. Every number names where it comes from (docs/simulator.md explains the derivations in full).
//
// Step time of one engine iteration (vLLM V1 continuous batching, chunked prefill always on):
//   t = stepBaseMs                                   weights read + launch/scheduler overhead, paid every step
//     + prefillMsPerToken        · prefill tokens    compute-bound matmuls of the new prompt tokens
//     + prefillAttentionMsPerTokenContext · Σ(new tokens × context they attend to)   quadratic attention
//     + decodeMsPerSeq           · decode sequences  per-sequence sampling and bookkeeping
//     + kvReadMsPerToken         · Σ context tokens  memory-bound attention reads of cached KV by all seqs,
//                                                    at most the resident KV (shared blocks count once)

export interface StepTiming {
  readonly stepBaseMs: number;
  readonly prefillMsPerToken: number;
  readonly prefillAttentionMsPerTokenContext: number;
  readonly decodeMsPerSeq: number;
  readonly kvReadMsPerToken: number;
}

export interface EngineProfile {
  readonly name: string;
  readonly model: string;
  readonly hardware: string;
  /** Tokens per KV block (vLLM on CUDA: 16). */
  readonly blockSize: number;
  /** vllm:cache_config_info{num_gpu_blocks}. */
  readonly numGpuBlocks: number;
  /** --max-num-batched-tokens: token budget of one step. */
  readonly maxNumBatchedTokens: number;
  /** --max-num-seqs: most sequences running at once. */
  readonly maxNumSeqs: number;
  /** --max-model-len. */
  readonly maxModelLen: number;
  readonly timing: StepTiming;
  /** Source of each parameter, by parameter name. */
  readonly sources: Readonly<Record<string, string>>;
}

const QWEN3_32B_H100_TP2: EngineProfile = {
  name: 'qwen3-32b-h100-tp2',
  model: 'Qwen/Qwen3-32B',
  hardware: '2 × NVIDIA H100 80GB, tensor parallel 2',
  blockSize: 16,
  numGpuBlocks: 19_208,
  maxNumBatchedTokens: 8192,
  maxNumSeqs: 1024,
  maxModelLen: 131_072,
  timing: {
    stepBaseMs: 9,
    prefillMsPerToken: 0.0415,
    prefillAttentionMsPerTokenContext: 1.5e-6,
    decodeMsPerSeq: 0.02,
    kvReadMsPerToken: 4.5e-5,
  },
  sources: {
    blockSize: 'vLLM V1 default block size on CUDA (perf.md §4.1)',
    numGpuBlocks: '307,328 KV tokens per TP2 instance ÷ 16 (llm-d 73-capacity report, perf.md §1.1a, §4.2)',
    maxNumBatchedTokens:
      'vLLM API-server default for ≥70 GiB GPUs; also the sticky-until-saturated setup (perf.md §4.1, §1.1c)',
    maxNumSeqs: 'vLLM API-server default for ≥70 GiB GPUs (perf.md §4.1)',
    stepBaseMs:
      'ITL ≈ 11 ms at 3 QPS with a few short-context decodes (73-capacity report, perf.md §4.3); ≈ 32 GB of weights per GPU at 3.35 TB/s',
    prefillMsPerToken:
      'T(8192-token chunk) = 0.40 s on Qwen3-32B/H100/TP2 (sticky blog, perf.md §1.1c, §4.3) after the base and attention terms: (400 − 9 − 50) / 8192',
    prefillAttentionMsPerTokenContext:
      'attention FLOPs ≈ 4·64 layers·8192·ctx per token vs 2·32e9 for the matmuls, i.e. ≈ 3.3e-5 of the per-token cost per context token; same order as Preble’s fitted 7.44e-7 ms for Llama-3-70B TP2 (perf.md §4.3)',
    decodeMsPerSeq:
      'per-request overhead; BLIS β6 ≈ 4 µs plus sampling and scheduler work per sequence (perf.md §4.3)',
    kvReadMsPerToken:
      'Qwen3-32B KV = 2·64·8·128·2 B = 256 KiB per token, 128 KiB per GPU at TP2, read at ≈ 2.9 TB/s effective; gives 21–25 ms steps with a full cache, matching ITL 21–29 ms at 20–60 QPS (perf.md §4.3)',
    maxModelLen: 'Qwen3-32B with YaRN context (model card)',
  },
};

const QWEN25_05B_L4: EngineProfile = {
  name: 'qwen2.5-0.5b-l4',
  model: 'Qwen/Qwen2.5-0.5B-Instruct',
  hardware: '1 × NVIDIA L4 24GB',
  blockSize: 16,
  numGpuBlocks: 40_000,
  maxNumBatchedTokens: 2048,
  maxNumSeqs: 256,
  maxModelLen: 32_768,
  timing: {
    stepBaseMs: 4.9,
    prefillMsPerToken: 0.05,
    prefillAttentionMsPerTokenContext: 2e-6,
    decodeMsPerSeq: 0.06,
    kvReadMsPerToken: 4.2e-5,
  },
  sources: {
    blockSize: 'vLLM V1 default block size on CUDA (perf.md §4.1)',
    numGpuBlocks:
      '640,000 tokens: (0.6 × 24 GB − 1 GB weights − ≈ 1.5 GB activations) / 12 KiB per token at gpu-memory-utilization 0.6, the setup of the L4 anchor (perf.md §4.2, §4.3); rounded down',
    maxNumBatchedTokens: 'vLLM API-server default for GPUs below 70 GiB such as the L4 (perf.md §4.1)',
    maxNumSeqs: 'vLLM API-server default for GPUs below 70 GiB such as the L4 (perf.md §4.1)',
    stepBaseMs:
      'ITL p50 5.1 ms at concurrency 1 (third-party L4 anchor, perf.md §4.3); roofline floor ≈ 3.3 ms',
    prefillMsPerToken:
      '≈ 20k tok/s, the low end of the FLOPs estimate for 0.5B on an L4 (perf.md §4.3, no published figure); TTFT for a 256-token prompt ≈ 5 + 13 ≈ 18 ms of compute, 27 ms measured including the API server',
    prefillAttentionMsPerTokenContext:
      'same FLOPs ratio argument as the H100 profile, scaled to 24 layers·896 hidden',
    decodeMsPerSeq:
      'ITL p50 7.1 ms at concurrency 32 vs 5.1 ms at 1 (L4 anchor, perf.md §4.3), after the KV-read term',
    kvReadMsPerToken: '12 KiB per token read at 300 GB/s (perf.md §4.2, §4.3)',
    maxModelLen: 'Qwen2.5-0.5B-Instruct config (32k context)',
  },
};

export const engineProfiles: ReadonlyMap<string, EngineProfile> = new Map(
  [QWEN3_32B_H100_TP2, QWEN25_05B_L4].map((profile) => [profile.name, profile]),
);

export function getEngineProfile(name: string): EngineProfile {
  const profile = engineProfiles.get(name);
  if (profile === undefined) {
    throw new Error(
      `unknown engine profile "${name}"; expected one of: ${[...engineProfiles.keys()].join(', ')}`,
    );
  }
  return profile;
}

/** Duration of one engine step in milliseconds. */
export function stepTimeMs(
  timing: StepTiming,
  prefillTokens: number,
  prefillTokenContext: number,
  decodeSeqs: number,
  contextTokens: number,
): number {
  return (
    timing.stepBaseMs +
    timing.prefillMsPerToken * prefillTokens +
    timing.prefillAttentionMsPerTokenContext * prefillTokenContext +
    timing.decodeMsPerSeq * decodeSeqs +
    timing.kvReadMsPerToken * contextTokens
  );
}
