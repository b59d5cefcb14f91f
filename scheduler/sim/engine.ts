// The engine model of one vLLM V1 replica, shared by the virtual-time runner and the real-time HTTP server.
// It is a pure state machine driven by its caller's clock: `startStep` plans one iteration (which sequences run
// and how many tokens each computes) and returns its duration; `finishStep` applies it when that time has
// passed. Scheduling follows vLLM V1: running sequences first (a decode token each, or their next prefill
// chunk), then waiting ones in FCFS order while the token budget, max-num-seqs and free KV blocks allow; when a
// running sequence needs a block and none is free, the latest-admitted running sequence is preempted and
// recomputed later (RECOMPUTE preemption). Prompt blocks are cached by chained hash; generated tokens are not.
// A step's KV-read term charges every decoding sequence its own context (paged attention), unless vLLM's
// cascade-attention conditions hold, in which case the prefix common to every running request is read once.
// The gauges a scrape reads are published at the end of each step, as vLLM's engine core records its stats.

import { BlockPool } from './block-pool.ts';
import { cascadeBeatsFlashDecoding, stepTimeMs, type EngineProfile } from './profiles.ts';

/** vLLM's thresholds for cascade attention (vllm/v1/attention/backends/utils.py: use_cascade_attention). */
export const CASCADE_MIN_PREFIX_TOKENS = 256;
export const CASCADE_MIN_REQUESTS = 8;

/** The load gauges as the engine last published them (vllm:num_requests_*, vllm:kv_cache_usage_perc). */
export interface EngineGauges {
  readonly runningRequests: number;
  readonly waitingRequests: number;
  readonly kvCacheUsage: number;
}

export interface EnginePrompt {
  readonly length: number;
  /** Chained hashes of the prompt's full blocks (see blockHashes), at the engine's block size. */
  readonly blockHashes: Float64Array;
  /** The prompt's token ids, when the caller keeps them (the KV-event publisher reports them). */
  readonly tokens?: ArrayLike<number>;
}

export interface EngineRequest {
  readonly id: string;
  readonly prompt: EnginePrompt;
  /** Exact number of tokens to generate (the simulator ignores EOS). */
  readonly outputTokens: number;
}

export type SequenceStatus = 'waiting' | 'running' | 'finished' | 'aborted';

/** Read-only view of a sequence, handed to callers in step outcomes. */
export interface SequenceView {
  readonly id: string;
  readonly promptTokens: number;
  readonly outputTokens: number;
  readonly generatedTokens: number;
  /** Prompt tokens found in the prefix cache at first admission (block-quantised); -1 before admission. */
  readonly cachedTokens: number;
  readonly status: SequenceStatus;
  readonly arrivalMs: number;
  readonly firstScheduledMs: number;
  readonly firstTokenMs: number;
  readonly finishedMs: number;
  readonly preemptions: number;
}

interface Sequence extends SequenceView {
  readonly prompt: EnginePrompt;
  generatedTokens: number;
  cachedTokens: number;
  status: SequenceStatus;
  firstScheduledMs: number;
  firstTokenMs: number;
  finishedMs: number;
  preemptions: number;
  /** Tokens whose KV is in `blocks`. */
  computedTokens: number;
  /** Prompt blocks already registered in the prefix cache. */
  registeredBlocks: number;
  /** Admission cannot succeed before the pool's releasedTotal reaches this (see admit). */
  admitAfterReleased: number;
  blocks: number[];
}

export interface StepOutcome {
  readonly startMs: number;
  readonly endMs: number;
  /** Sequences that produced a token in this step, in scheduling order. */
  readonly produced: readonly SequenceView[];
  /** Subset of `produced` that reached their output length and left the engine. */
  readonly finished: readonly SequenceView[];
  readonly prefillTokens: number;
  readonly decodeSeqs: number;
  /** KV tokens the step's decode attention read. */
  readonly kvReadTokens: number;
  /** Common-prefix tokens read once by cascade attention; 0 when the step used plain paged attention. */
  readonly cascadePrefixTokens: number;
}

export interface EngineCounters {
  promptTokens: number;
  generationTokens: number;
  prefixCacheQueries: number;
  prefixCacheHits: number;
  finishedRequests: number;
  abortedRequests: number;
  preemptions: number;
  steps: number;
  /** Steps that used cascade attention. */
  cascadeSteps: number;
}

export interface EngineOptions {
  /** Multiplies every step's duration (fault injection: a slow replica). */
  readonly slowdown?: number;
}

interface PlannedWork {
  readonly sequence: Sequence;
  readonly tokens: number;
}

export class EngineRequestError extends Error {}

export class Engine {
  readonly profile: EngineProfile;
  readonly pool: BlockPool;
  slowdown: number;
  readonly counters: EngineCounters = {
    promptTokens: 0,
    generationTokens: 0,
    prefixCacheQueries: 0,
    prefixCacheHits: 0,
    finishedRequests: 0,
    abortedRequests: 0,
    preemptions: 0,
    steps: 0,
    cascadeSteps: 0,
  };
  /** What a metrics scrape reads: the state at the end of the last step. */
  gauges: EngineGauges = { runningRequests: 0, waitingRequests: 0, kvCacheUsage: 0 };
  /** Requests added while a step ran: vLLM's engine core only sees them at the next step. */
  private addedDuringStep = 0;
  private waiting: Sequence[] = [];
  private running: Sequence[] = [];
  private readonly byId = new Map<string, Sequence>();
  private plan: PlannedWork[] | undefined;
  private planStartMs = 0;
  private planEndMs = 0;
  private planPrefillTokens = 0;
  private planDecodeSeqs = 0;
  private planKvReadTokens = 0;
  private planCascadePrefix = 0;

  constructor(profile: EngineProfile, options: EngineOptions = {}) {
    this.profile = profile;
    this.pool = new BlockPool(profile.numGpuBlocks);
    this.slowdown = options.slowdown ?? 1;
  }

  get runningCount(): number {
    return this.running.length;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** vllm:kv_cache_usage_perc: fraction of blocks referenced by requests. */
  get kvCacheUsage(): number {
    return this.pool.usedBlocks / this.pool.capacity;
  }

  get stepInProgress(): boolean {
    return this.plan !== undefined;
  }

  hasWork(): boolean {
    return this.running.length > 0 || this.waiting.length > 0;
  }

  /** Queues a request; throws EngineRequestError when it can never be served by this engine. */
  add(request: EngineRequest, nowMs: number): SequenceView {
    const { blockSize, maxModelLen, numGpuBlocks } = this.profile;
    const total = request.prompt.length + request.outputTokens;
    if (request.prompt.length < 1) throw new EngineRequestError('the prompt must hold at least one token');
    if (!Number.isInteger(request.outputTokens) || request.outputTokens < 1) {
      throw new EngineRequestError(
        `output length must be a positive integer, got ${String(request.outputTokens)}`,
      );
    }
    if (total > maxModelLen) {
      throw new EngineRequestError(
        `this model's maximum context length is ${String(maxModelLen)} tokens; the request needs ${String(total)} (${String(request.prompt.length)} prompt + ${String(request.outputTokens)} output)`,
      );
    }
    if (Math.ceil(total / blockSize) > numGpuBlocks) {
      throw new EngineRequestError(
        `the request needs more KV blocks than the engine has (${String(numGpuBlocks)})`,
      );
    }
    if (this.byId.has(request.id)) throw new EngineRequestError(`duplicate request id "${request.id}"`);
    const sequence: Sequence = {
      id: request.id,
      prompt: request.prompt,
      promptTokens: request.prompt.length,
      outputTokens: request.outputTokens,
      generatedTokens: 0,
      cachedTokens: -1,
      status: 'waiting',
      arrivalMs: nowMs,
      firstScheduledMs: -1,
      firstTokenMs: -1,
      finishedMs: -1,
      preemptions: 0,
      computedTokens: 0,
      registeredBlocks: 0,
      admitAfterReleased: 0,
      blocks: [],
    };
    this.byId.set(sequence.id, sequence);
    this.waiting.push(sequence);
    if (this.plan !== undefined) this.addedDuringStep++;
    return sequence;
  }

  /** Stops a request (client gone, timeout); its blocks are freed at once. Returns false when unknown. */
  abort(id: string, nowMs: number): boolean {
    const sequence = this.byId.get(id);
    if (sequence === undefined) return false;
    this.byId.delete(id);
    if (sequence.status === 'running') this.running.splice(this.running.indexOf(sequence), 1);
    else if (sequence.status === 'waiting') this.waiting.splice(this.waiting.indexOf(sequence), 1);
    this.freeBlocks(sequence);
    sequence.status = 'aborted';
    sequence.finishedMs = nowMs;
    this.counters.abortedRequests++;
    return true;
  }

  /** Aborts everything (a crash); returns the ids that were in the engine. */
  abortAll(nowMs: number): string[] {
    const ids = [...this.byId.keys()];
    for (const id of ids) this.abort(id, nowMs);
    this.plan = undefined;
    this.publishGauges();
    return ids;
  }

  /** Plans the next step. Returns its duration in ms, or undefined when there is nothing to run. */
  startStep(nowMs: number): number | undefined {
    if (this.plan !== undefined) throw new Error('a step is already in progress');
    const plan: PlannedWork[] = [];
    const { maxNumBatchedTokens, maxNumSeqs } = this.profile;
    let budget = maxNumBatchedTokens;
    let prefillTokens = 0;
    let prefillTokenContext = 0;
    let decodeSeqs = 0;
    let contextTokens = 0;
    let preempted = false;

    for (let index = 0; index < this.running.length && budget > 0; index++) {
      const sequence = this.running[index] as Sequence;
      const remaining = this.tokensToCompute(sequence);
      const tokens = Math.min(remaining, budget);
      if (!this.ensureBlocks(sequence, sequence.computedTokens + tokens, nowMs)) preempted = true;
      if (sequence.status !== 'running') break; // it preempted itself: nothing after it can run either
      plan.push({ sequence, tokens });
      budget -= tokens;
      if (remaining === 1 && sequence.generatedTokens > 0) {
        decodeSeqs++;
        contextTokens += sequence.computedTokens;
      } else {
        prefillTokens += tokens;
        prefillTokenContext += tokens * (sequence.computedTokens + tokens / 2);
      }
    }

    if (!preempted) {
      while (this.waiting.length > 0 && budget > 0 && this.running.length < maxNumSeqs) {
        const sequence = this.waiting[0] as Sequence;
        const tokens = this.admit(sequence, budget, nowMs);
        if (tokens === 0) break;
        this.waiting.shift();
        this.running.push(sequence);
        plan.push({ sequence, tokens });
        budget -= tokens;
        prefillTokens += tokens;
        prefillTokenContext += tokens * (sequence.computedTokens + tokens / 2);
      }
    }

    if (plan.length === 0) return undefined;
    const cascadePrefix = decodeSeqs > 0 ? this.cascadePrefixTokens(plan, decodeSeqs) : 0;
    const kvReadTokens = cascadePrefix > 0 ? contextTokens - (decodeSeqs - 1) * cascadePrefix : contextTokens;
    const duration =
      stepTimeMs(this.profile.timing, { prefillTokens, prefillTokenContext, decodeSeqs, kvReadTokens }) *
      this.slowdown;
    if (cascadePrefix > 0) this.counters.cascadeSteps++;
    this.plan = plan;
    this.addedDuringStep = 0;
    this.planStartMs = nowMs;
    this.planEndMs = nowMs + duration;
    this.planPrefillTokens = prefillTokens;
    this.planDecodeSeqs = decodeSeqs;
    this.planKvReadTokens = kvReadTokens;
    this.planCascadePrefix = cascadePrefix;
    return duration;
  }

  /** Applies the planned step: advances computed tokens, samples tokens, finishes sequences. */
  finishStep(): StepOutcome {
    const plan = this.plan;
    if (plan === undefined) throw new Error('no step in progress');
    this.plan = undefined;
    const endMs = this.planEndMs;
    const produced: SequenceView[] = [];
    const finished: SequenceView[] = [];
    const blockSize = this.profile.blockSize;
    for (const { sequence, tokens } of plan) {
      if (sequence.status !== 'running') continue; // aborted or preempted while the step ran
      sequence.computedTokens += tokens;
      const fullPromptBlocks = Math.min(
        Math.floor(sequence.computedTokens / blockSize),
        sequence.prompt.blockHashes.length,
      );
      while (sequence.registeredBlocks < fullPromptBlocks) {
        const block = sequence.registeredBlocks;
        this.pool.register(
          sequence.blocks[block] as number,
          sequence.prompt.blockHashes[block] as number,
          sequence.prompt,
          block,
        );
        sequence.registeredBlocks++;
      }
      if (sequence.computedTokens < sequence.promptTokens + sequence.generatedTokens) continue;
      sequence.generatedTokens++;
      this.counters.generationTokens++;
      if (sequence.firstTokenMs < 0) sequence.firstTokenMs = endMs;
      produced.push(sequence);
      if (sequence.generatedTokens >= sequence.outputTokens) {
        sequence.status = 'finished';
        sequence.finishedMs = endMs;
        this.running.splice(this.running.indexOf(sequence), 1);
        this.byId.delete(sequence.id);
        this.freeBlocks(sequence);
        this.counters.finishedRequests++;
        finished.push(sequence);
      }
    }
    this.counters.steps++;
    this.publishGauges();
    return {
      startMs: this.planStartMs,
      endMs,
      produced,
      finished,
      prefillTokens: this.planPrefillTokens,
      decodeSeqs: this.planDecodeSeqs,
      kvReadTokens: this.planKvReadTokens,
      cascadePrefixTokens: this.planCascadePrefix,
    };
  }

  private publishGauges(): void {
    this.gauges = {
      runningRequests: this.running.length,
      waitingRequests: this.waiting.length - this.addedDuringStep,
      kvCacheUsage: this.kvCacheUsage,
    };
  }

  /**
   * The prefix cascade attention reads once in this step, or 0 when vLLM would use paged attention. vLLM's
   * conditions: the FlashAttention backend; a prefix of blocks referenced by every running request
   * (KVCacheManager.get_num_common_prefix_blocks: ref_cnt equal to the number of running requests), capped
   * by the fewest tokens any scheduled request has computed and cut to whole blocks
   * (GPUModelRunner._compute_cascade_attn_prefix_len), at least 256 tokens; at least 8 scheduled requests; and
   * the heuristic against FlashDecoding (cascadeBeatsFlashDecoding).
   */
  private cascadePrefixTokens(plan: readonly PlannedWork[], decodeSeqs: number): number {
    const { attention, blockSize } = this.profile;
    if (attention.backend !== 'flash-attn' || plan.length < CASCADE_MIN_REQUESTS) return 0;
    const first = this.running[0];
    if (first === undefined) return 0;
    const runningCount = this.running.length;
    let commonBlocks = 0;
    while (
      commonBlocks < first.blocks.length &&
      this.pool.references(first.blocks[commonBlocks] as number) === runningCount
    ) {
      commonBlocks++;
    }
    if (commonBlocks * blockSize < CASCADE_MIN_PREFIX_TOKENS) return 0;
    let computed = Number.POSITIVE_INFINITY;
    for (const { sequence } of plan) computed = Math.min(computed, sequence.computedTokens);
    const prefix = Math.floor(Math.min(commonBlocks * blockSize, computed) / blockSize) * blockSize;
    if (prefix < CASCADE_MIN_PREFIX_TOKENS) return 0;
    const allDecode = decodeSeqs === plan.length;
    return cascadeBeatsFlashDecoding(attention, plan.length, prefix, allDecode) ? prefix : 0;
  }

  /** Tokens the sequence must compute before it can sample its next token. */
  private tokensToCompute(sequence: Sequence): number {
    return sequence.promptTokens + sequence.generatedTokens - sequence.computedTokens;
  }

  /** Tries to admit a waiting sequence with at most `budget` new tokens; returns the tokens planned or 0. */
  private admit(sequence: Sequence, budget: number, nowMs: number): number {
    const { blockSize } = this.profile;
    const pool = this.pool;
    // A failed admission is retried only once enough blocks have been released since: with fewer, the free
    // count cannot have grown enough. (Blocks another request registered meanwhile could raise the hit and
    // lower the need a little; such a request then waits for the next releases.)
    if (pool.releasedTotal < sequence.admitAfterReleased) return 0;
    const known = sequence.promptTokens + sequence.generatedTokens;
    const hashes = sequence.prompt.blockHashes;
    // vLLM always recomputes at least the last token, so a hit covers at most known − 1 tokens.
    const hitBlocks = pool.matchPrefix(hashes, Math.floor((known - 1) / blockSize));
    const computed = hitBlocks * blockSize;
    const tokens = Math.min(known - computed, budget);
    const needed = Math.ceil((computed + tokens) / blockSize) - hitBlocks;
    const available = pool.freeBlocks - pool.countUnreferenced(hashes, hitBlocks);
    if (needed > available) {
      sequence.admitAfterReleased = pool.releasedTotal + (needed - available);
      return 0;
    }
    const blocks: number[] = [];
    pool.acquireCached(hashes, hitBlocks, blocks);
    if (!pool.allocate(needed, blocks)) throw new Error('block accounting is inconsistent');
    sequence.blocks = blocks;
    sequence.computedTokens = computed;
    sequence.registeredBlocks = hitBlocks;
    sequence.status = 'running';
    if (sequence.cachedTokens < 0) {
      sequence.cachedTokens = computed;
      sequence.firstScheduledMs = nowMs;
      this.counters.promptTokens += sequence.promptTokens;
      this.counters.prefixCacheQueries += sequence.promptTokens;
      this.counters.prefixCacheHits += computed;
    }
    return tokens;
  }

  /**
   * Makes the sequence hold enough blocks for `tokens` tokens, preempting the latest-admitted running
   * sequences while none are free. Returns false when it had to preempt (possibly the sequence itself).
   */
  private ensureBlocks(sequence: Sequence, tokens: number, nowMs: number): boolean {
    const needed = Math.ceil(tokens / this.profile.blockSize) - sequence.blocks.length;
    if (needed <= 0) return true;
    let preemptedAny = false;
    while (!this.pool.allocate(needed, sequence.blocks)) {
      const victim = this.running.pop();
      if (victim === undefined) return false;
      this.preempt(victim, nowMs);
      preemptedAny = true;
      if (victim === sequence) return false;
    }
    return !preemptedAny;
  }

  private preempt(sequence: Sequence, _nowMs: number): void {
    this.freeBlocks(sequence);
    sequence.computedTokens = 0;
    sequence.registeredBlocks = 0;
    sequence.admitAfterReleased = 0;
    sequence.status = 'waiting';
    sequence.preemptions++;
    this.counters.preemptions++;
    this.waiting.unshift(sequence);
  }

  private freeBlocks(sequence: Sequence): void {
    if (sequence.blocks.length > 0) this.pool.release(sequence.blocks);
    sequence.blocks = [];
  }
}
