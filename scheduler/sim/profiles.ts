// Engine profiles: the capacity limits and step-time coefficients of one vLLM replica of a model on a GPU
// type. Every number names where it comes from (docs/simulator.md explains the derivations in full).
//
// Step time of one engine iteration (vLLM V1 continuous batching, chunked prefill always on):
//   t = stepBaseMs                                   weights read + launch/scheduler overhead, paid every step
//     + matmulMsPerToken         · batched tokens    linear layers of every token in the batch: prefill chunk
//                                                    tokens and each decoding sequence's one token alike
//     + prefillAttentionMsPerTokenContext · Σ(new tokens × context they attend to)   quadratic attention
//     + decodeMsPerSeq           · decode sequences  per-sequence sampling and bookkeeping
//     + kvReadMsPerToken         · KV tokens read    memory-bound attention reads of cached KV: every decoding
//                                                    sequence reads its own context (paged attention), except a
//                                                    prefix that cascade attention reads once (engine.ts)

export interface StepTiming {
  readonly stepBaseMs: number;
  readonly matmulMsPerToken: number;
  readonly prefillAttentionMsPerTokenContext: number;
  readonly decodeMsPerSeq: number;
  readonly kvReadMsPerToken: number;
}

/** What decides whether vLLM uses cascade attention for a step (vllm/v1/attention/backends/utils.py). */
export interface AttentionSpec {
  /** vLLM's attention backend: only FlashAttention implements cascade attention. */
  readonly backend: 'flash-attn' | 'flashinfer';
  /** Query and KV heads per GPU (after tensor parallelism) and the GPU's streaming multiprocessors. */
  readonly queryHeadsPerGpu: number;
  readonly kvHeadsPerGpu: number;
  readonly multiprocessors: number;
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
  readonly attention: AttentionSpec;
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
  attention: { backend: 'flash-attn', queryHeadsPerGpu: 32, kvHeadsPerGpu: 4, multiprocessors: 132 },
  timing: {
    stepBaseMs: 9,
    matmulMsPerToken: 0.0555,
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
    attention:
      'vLLM selects FlashAttention (FA3) on Hopper by default; Qwen3-32B has 64 query and 8 KV heads (model config), 32 and 4 per GPU at TP2; an H100 SXM has 132 SMs',
    matmulMsPerToken:
      'T(8192-token chunk) = 0.514 s on Qwen3-32B/H100/TP2, the 15,928 tok/s that llm-d’s calibration recipe measures (the sticky blog’s fit, 0.40 s, is faster; perf.md §1.1c, §4.3) after the base and attention terms: (514 − 9 − 50) / 8192; a decode token runs the same linear layers (2 × 32e9 FLOPs per token), so it is charged the same',
    prefillAttentionMsPerTokenContext:
      'attention FLOPs ≈ 4·64 layers·8192·ctx per token vs 2·32e9 for the matmuls, i.e. ≈ 3.3e-5 of the per-token cost per context token; same order as Preble’s fitted 7.44e-7 ms for Llama-3-70B TP2 (perf.md §4.3)',
    decodeMsPerSeq:
      'per-request overhead; BLIS β6 ≈ 4 µs plus sampling and scheduler work per sequence (perf.md §4.3)',
    kvReadMsPerToken:
      'Qwen3-32B KV = 2·64·8·128·2 B = 256 KiB per token, 128 KiB per GPU at TP2, read at ≈ 2.9 TB/s effective (87% of the 3.35 TB/s peak); paged attention reads each sequence’s blocks, so a step with 40 sequences of 7,700 tokens reads 308k tokens: 14 ms (perf.md §4.2, §4.3)',
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
  attention: { backend: 'flash-attn', queryHeadsPerGpu: 14, kvHeadsPerGpu: 2, multiprocessors: 58 },
  timing: {
    stepBaseMs: 4.9,
    matmulMsPerToken: 0.05,
    prefillAttentionMsPerTokenContext: 2e-6,
    decodeMsPerSeq: 0.005,
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
    attention:
      'vLLM selects FlashAttention on Ada (sm89); Qwen2.5-0.5B has 14 query and 2 KV heads (model config); an L4 has 58 SMs',
    matmulMsPerToken:
      '≈ 20k tok/s, the low end of the FLOPs estimate for 0.5B on an L4 (perf.md §4.3, no published figure); TTFT for a 256-token prompt ≈ 5 + 13 ≈ 18 ms of compute, 27 ms measured including the API server',
    prefillAttentionMsPerTokenContext:
      'same FLOPs ratio argument as the H100 profile, scaled to 24 layers·896 hidden',
    decodeMsPerSeq:
      'ITL p50 7.1 ms at concurrency 32 vs 5.1 ms at 1 (L4 anchor, perf.md §4.3), after the matmul and KV-read terms of the 32 decode tokens',
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

/** The work of one engine step, as the step-time formula counts it. */
export interface StepWork {
  /** Prompt tokens computed in the step (chunks of prefilling sequences). */
  readonly prefillTokens: number;
  /** Σ over prefill chunks of chunk tokens × the context they attend to. */
  readonly prefillTokenContext: number;
  /** Sequences computing one decode token. */
  readonly decodeSeqs: number;
  /** KV tokens the decoding sequences' attention reads. */
  readonly kvReadTokens: number;
}

/** Duration of one engine step in milliseconds. */
export function stepTimeMs(timing: StepTiming, work: StepWork): number {
  return (
    timing.stepBaseMs +
    timing.matmulMsPerToken * (work.prefillTokens + work.decodeSeqs) +
    timing.prefillAttentionMsPerTokenContext * work.prefillTokenContext +
    timing.decodeMsPerSeq * work.decodeSeqs +
    timing.kvReadMsPerToken * work.kvReadTokens
  );
}

/**
 * vLLM's `use_cascade_attention` heuristic (vllm/v1/attention/backends/utils.py) for a common prefix that
 * already passed the length (≥ 256 tokens) and request-count (≥ 8) checks: when every query is a decode token
 * and the model groups several query heads per KV head, normal attention uses FlashDecoding, and cascade
 * attention is used only where its rough CTA model says it is faster.
 */
export function cascadeBeatsFlashDecoding(
  attention: AttentionSpec,
  requests: number,
  commonPrefixTokens: number,
  allDecode: boolean,
): boolean {
  const queriesPerKv = Math.floor(attention.queryHeadsPerGpu / attention.kvHeadsPerGpu);
  if (!(queriesPerKv > 1 && allDecode)) return true;
  const tile = 128;
  const prefixTiles = Math.ceil(commonPrefixTokens / tile);
  const cascadeCtas = attention.queryHeadsPerGpu * Math.ceil(requests / tile);
  const cascadeTime = Math.ceil(cascadeCtas / attention.multiprocessors) * prefixTiles;
  const flashDecodingCtas = requests * attention.kvHeadsPerGpu * Math.ceil(queriesPerKv / tile) * prefixTiles;
  const flashDecodingTime = Math.ceil(flashDecodingCtas / attention.multiprocessors);
  return cascadeTime < flashDecodingTime;
}
