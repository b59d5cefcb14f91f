import { describe, expect, it } from 'vitest';
import { Engine, EngineRequestError, type StepOutcome } from '../../../scheduler/sim/engine.ts';
import {
  cascadeBeatsFlashDecoding,
  getEngineProfile,
  stepTimeMs,
  type EngineProfile,
  type StepWork,
} from '../../../scheduler/sim/profiles.ts';
import { enginePrompt } from '../../../scheduler/sim/prompt.ts';

const base = getEngineProfile('qwen2.5-0.5b-l4');
const profile = (overrides: Partial<EngineProfile>): EngineProfile => ({ ...base, ...overrides });
const work = (
  prefillTokens: number,
  prefillTokenContext: number,
  decodeSeqs: number,
  kvReadTokens: number,
): StepWork => ({ prefillTokens, prefillTokenContext, decodeSeqs, kvReadTokens });

const tokens = (length: number, salt: number) =>
  Uint32Array.from(
    { length },
    (_, i) => (Math.imul(i + 1, 2654435761) ^ Math.imul(salt + 1, 0x9e3779b1)) >>> 0,
  );

function request(id: string, promptTokens: number, outputTokens: number, salt = 0) {
  return { id, prompt: enginePrompt(tokens(promptTokens, salt), 16), outputTokens };
}

/** Runs the engine to idle, returning every step outcome; time advances by each step's duration. */
function drain(engine: Engine, startMs = 0): StepOutcome[] {
  const steps: StepOutcome[] = [];
  let now = startMs;
  for (;;) {
    const duration = engine.startStep(now);
    if (duration === undefined) return steps;
    now += duration;
    steps.push(engine.finishStep());
  }
}

describe('engine timing model', () => {
  it('times a step from prefill tokens, their attention context, decode sequences and KV reads', () => {
    const timing = base.timing;
    expect(stepTimeMs(timing, work(0, 0, 0, 0))).toBe(timing.stepBaseMs);
    expect(stepTimeMs(timing, work(1000, 0, 0, 0)) - timing.stepBaseMs).toBeCloseTo(
      1000 * timing.matmulMsPerToken,
    );
    // A decode token pays the same matrix cost as a prefill token, plus its bookkeeping and KV read.
    expect(stepTimeMs(timing, work(0, 0, 10, 5000)) - timing.stepBaseMs).toBeCloseTo(
      10 * (timing.matmulMsPerToken + timing.decodeMsPerSeq) + 5000 * timing.kvReadMsPerToken,
    );
  });

  it('reproduces the calibration anchors of both profiles', () => {
    const h100 = getEngineProfile('qwen3-32b-h100-tp2');
    // T(8192-token chunk) ≈ 0.514 s, the recipe's 15,928 tok/s (mean attention context of a chunk is half of it).
    expect(stepTimeMs(h100.timing, work(8192, 8192 * 4096, 0, 0))).toBeGreaterThan(505);
    expect(stepTimeMs(h100.timing, work(8192, 8192 * 4096, 0, 0))).toBeLessThan(520);
    // Decode with a KV cache full of distinct 7,700-token contexts (40 sequences): 21–29 ms ITL.
    const full = stepTimeMs(h100.timing, work(0, 0, 40, h100.numGpuBlocks * 16));
    expect(full).toBeGreaterThan(21);
    expect(full).toBeLessThan(29);
    // L4: ITL ≈ 5.1 ms at concurrency 1 and ≈ 7.1 ms at 32 (256-token prompts, 128 out).
    expect(stepTimeMs(base.timing, work(0, 0, 1, 320))).toBeCloseTo(5.1, 0);
    expect(stepTimeMs(base.timing, work(0, 0, 32, 32 * 320))).toBeCloseTo(7.1, 0);
  });

  it('runs a lone request: prefill step samples the first token, then one decode step per token', () => {
    const engine = new Engine(base);
    engine.add(request('a', 1000, 4), 0);
    const steps = drain(engine);
    expect(steps).toHaveLength(4);
    expect(steps[0]?.prefillTokens).toBe(1000);
    expect(steps[0]?.endMs).toBeCloseTo(stepTimeMs(base.timing, work(1000, 1000 * 500, 0, 0)));
    expect(steps.slice(1).map((s) => s.decodeSeqs)).toEqual([1, 1, 1]);
    expect(steps[3]?.finished.map((s) => s.id)).toEqual(['a']);
    expect(steps[0]?.produced[0]?.firstTokenMs).toBe(steps[0]?.endMs);
    expect(engine.kvCacheUsage).toBe(0);
  });

  it('chunks long prefills by the token budget, decodes riding along', () => {
    const engine = new Engine(profile({ maxNumBatchedTokens: 2048 }));
    engine.add(request('short', 100, 50), 0);
    const first = drain1(engine);
    expect(first.prefillTokens).toBe(100);
    engine.add(request('long', 5000, 2, 1), first.endMs);
    const steps = drain(engine, first.endMs);
    // 5000 tokens with one decode taking a token each step: 2047 + 2047 + 906.
    expect(steps.slice(0, 3).map((s) => s.prefillTokens)).toEqual([2047, 2047, 906]);
    expect(steps.slice(0, 3).map((s) => s.decodeSeqs)).toEqual([1, 1, 1]);
    const firstTokenStep = steps.findIndex((s) => s.produced.some((p) => p.id === 'long'));
    expect(firstTokenStep).toBe(2);
  });

  it('admits at most max-num-seqs sequences; the rest wait in FCFS order', () => {
    const engine = new Engine(profile({ maxNumSeqs: 2 }));
    for (const id of ['a', 'b', 'c']) engine.add(request(id, 64, 3, id.charCodeAt(0)), 0);
    engine.startStep(0);
    expect(engine.runningCount).toBe(2);
    expect(engine.waitingCount).toBe(1);
    engine.finishStep();
    const steps = drain(engine, 10);
    expect(steps.flatMap((s) => s.finished.map((f) => f.id))).toEqual(['a', 'b', 'c']);
  });

  it('reuses cached prompt blocks, reports them as cached tokens, and recomputes the last token', () => {
    const engine = new Engine(base);
    engine.add(request('a', 800, 1), 0);
    drain(engine);
    const second = engine.add(request('b', 800, 1), 100);
    const steps = drain(engine, 100);
    expect(second.cachedTokens).toBe(784); // floor(799 / 16) × 16
    expect(steps[0]?.prefillTokens).toBe(16);
    expect(engine.counters.prefixCacheHits).toBe(784);
    expect(engine.counters.prefixCacheQueries).toBe(1600);
  });

  it('waits for free blocks, and preempts the latest request (recompute) when decodes run out of blocks', () => {
    // 8 blocks of 16 tokens: two 48-token prompts (3 blocks each) fit, their growth does not.
    const engine = new Engine(profile({ numGpuBlocks: 8 }));
    engine.add(request('a', 48, 40, 1), 0);
    engine.add(request('b', 48, 40, 2), 0);
    engine.add(request('c', 48, 40, 3), 0);
    engine.startStep(0);
    expect(engine.runningCount).toBe(2);
    expect(engine.waitingCount).toBe(1);
    engine.finishStep();
    const steps = drain(engine, 1);
    expect(engine.counters.preemptions).toBeGreaterThan(0);
    const finished = steps.flatMap((s) => s.finished);
    expect(finished.map((f) => f.id).sort()).toEqual(['a', 'b', 'c']);
    expect(finished.every((f) => f.generatedTokens === 40)).toBe(true);
    expect(engine.pool.freeBlocks).toBe(8);
  });

  it('rejects requests that can never fit, and aborts running ones freeing their blocks', () => {
    const engine = new Engine(profile({ numGpuBlocks: 4, maxModelLen: 1000 }));
    expect(() => engine.add(request('big', 900, 200), 0)).toThrow(EngineRequestError);
    expect(() => engine.add(request('kv', 100, 1), 0)).toThrow(/KV blocks/);
    engine.add(request('a', 40, 5), 0);
    engine.startStep(0);
    expect(engine.pool.usedBlocks).toBe(3);
    expect(engine.abort('a', 1)).toBe(true);
    expect(engine.pool.usedBlocks).toBe(0);
    expect(engine.finishStep().produced).toHaveLength(0);
    expect(engine.abort('a', 2)).toBe(false);
  });

  it('scales step durations by the slowdown factor', () => {
    const normal = new Engine(base);
    const slow = new Engine(base, { slowdown: 3 });
    normal.add(request('a', 500, 1), 0);
    slow.add(request('a', 500, 1), 0);
    expect(slow.startStep(0)).toBeCloseTo(3 * (normal.startStep(0) as number));
  });

  it('charges every decoding sequence the KV it reads when no cascade attention applies', () => {
    const engine = new Engine(base);
    engine.add(request('warm', 1600, 1), 0);
    drain(engine);
    for (const id of ['a', 'b', 'c', 'd']) engine.add(request(id, 1600, 4), 10);
    drain1(engine); // each recomputes only the prompt's last block
    const duration = engine.startStep(20) as number;
    const step = engine.finishStep();
    // Four first decodes over the 1,600 computed prompt tokens, sharing 99 prompt blocks: fewer than 8
    // requests, so paged attention reads each sequence's blocks.
    expect(step.cascadePrefixTokens).toBe(0);
    expect(step.kvReadTokens).toBe(4 * 1600);
    expect(duration).toBeCloseTo(stepTimeMs(base.timing, work(0, 0, 4, 4 * 1600)));
  });
});

describe('cascade attention', () => {
  /** An L4 profile without grouped-query attention (FlashDecoding's heuristic stays out of the way) and a
   * token budget that admits every test request in one step. */
  const mha = (backend: 'flash-attn' | 'flashinfer' = 'flash-attn') =>
    profile({
      maxNumBatchedTokens: 32_768,
      attention: { backend, queryHeadsPerGpu: 14, kvHeadsPerGpu: 14, multiprocessors: 58 },
    });

  /** With `shared` tokens cached, `count` requests of that head plus `own` distinct tokens; their first decode step. */
  function decodeStep(engineProfile: EngineProfile, count: number, shared: number, own = 0): StepOutcome {
    const engine = new Engine(engineProfile);
    const head = tokens(shared, 99);
    engine.add({ id: 'warm', prompt: enginePrompt(head, 16), outputTokens: 1 }, 0);
    drain(engine);
    for (let i = 0; i < count; i++) {
      const prompt = Uint32Array.from([...head, ...tokens(own, i)]);
      engine.add({ id: `s${String(i)}`, prompt: enginePrompt(prompt, 16), outputTokens: 4 }, 0);
    }
    drain1(engine); // one prefill step: each computes its uncached tail and samples its first token
    return drain1(engine);
  }

  it('reads the prefix common to every running request once with ≥ 8 requests on FlashAttention', () => {
    const step = decodeStep(mha(), 8, 1600);
    // 1,600 shared tokens: 100 blocks, of which the last is recomputed by each request (its own copy).
    expect(step.decodeSeqs).toBe(8);
    expect(step.cascadePrefixTokens).toBe(1584);
    expect(step.kvReadTokens).toBe(8 * 1600 - 7 * 1584);
  });

  it('keeps paged attention with 7 requests, on FlashInfer, or below 256 common tokens', () => {
    expect(decodeStep(mha(), 7, 1600).cascadePrefixTokens).toBe(0);
    expect(decodeStep(mha('flashinfer'), 8, 1600).cascadePrefixTokens).toBe(0);
    const short = decodeStep(mha(), 8, 240, 400);
    expect(short.cascadePrefixTokens).toBe(0);
    expect(short.kvReadTokens).toBe(8 * 640);
  });

  it('needs the prefix in every running request: one request of another group turns it off', () => {
    const engine = new Engine(mha());
    const head = tokens(1600, 99);
    for (let i = 0; i < 8; i++)
      engine.add({ id: `s${String(i)}`, prompt: enginePrompt(head, 16), outputTokens: 6 }, 0);
    engine.add(request('other', 1600, 6, 5), 0);
    let step = drain1(engine);
    while (step.prefillTokens > 0) step = drain1(engine);
    expect(step.decodeSeqs).toBe(9);
    expect(step.cascadePrefixTokens).toBe(0);
  });

  it('follows vLLM’s FlashDecoding heuristic for pure decode batches with grouped-query attention', () => {
    const h100 = getEngineProfile('qwen3-32b-h100-tp2').attention;
    // 8 decodes over a 6,000-token prefix: 12 FlashDecoding waves beat 47 prefix tiles.
    expect(cascadeBeatsFlashDecoding(h100, 8, 6000, true)).toBe(false);
    expect(cascadeBeatsFlashDecoding(h100, 64, 6000, true)).toBe(true);
    // A batch that also prefills does not use FlashDecoding, so cascade attention wins.
    expect(cascadeBeatsFlashDecoding(h100, 8, 6000, false)).toBe(true);
  });
});

describe('published gauges', () => {
  it('publishes running, waiting and KV usage at the end of each step, not when requests arrive', () => {
    const engine = new Engine(base);
    engine.add(request('a', 1000, 3), 0);
    expect(engine.gauges.waitingRequests).toBe(0);
    engine.startStep(0);
    engine.add(request('b', 1000, 3, 1), 1);
    expect(engine.gauges.runningRequests).toBe(0);
    engine.finishStep();
    // 'b' arrived during the step: vLLM's engine core has not taken it in yet.
    expect(engine.gauges).toEqual({
      runningRequests: 1,
      waitingRequests: 0,
      kvCacheUsage: engine.kvCacheUsage,
    });
    drain1(engine);
    expect(engine.gauges.runningRequests).toBe(2);
  });
});

function drain1(engine: Engine): StepOutcome {
  engine.startStep(0);
  return engine.finishStep();
}
