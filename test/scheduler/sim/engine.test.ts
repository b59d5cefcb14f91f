import { describe, expect, it } from 'vitest';
import { Engine, EngineRequestError, type StepOutcome } from '../../../scheduler/sim/engine.ts';
import { getEngineProfile, stepTimeMs, type EngineProfile } from '../../../scheduler/sim/profiles.ts';
import { enginePrompt } from '../../../scheduler/sim/prompt.ts';

const base = getEngineProfile('qwen2.5-0.5b-l4');
const profile = (overrides: Partial<EngineProfile>): EngineProfile => ({ ...base, ...overrides });

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
    expect(stepTimeMs(timing, 0, 0, 0, 0)).toBe(timing.stepBaseMs);
    expect(stepTimeMs(timing, 1000, 0, 0, 0) - timing.stepBaseMs).toBeCloseTo(
      1000 * timing.prefillMsPerToken,
    );
    expect(stepTimeMs(timing, 0, 0, 10, 5000) - timing.stepBaseMs).toBeCloseTo(
      10 * timing.decodeMsPerSeq + 5000 * timing.kvReadMsPerToken,
    );
  });

  it('reproduces the calibration anchors of both profiles', () => {
    const h100 = getEngineProfile('qwen3-32b-h100-tp2');
    // T(8192-token chunk) ≈ 0.40 s (mean attention context of a single chunk is half of it).
    expect(stepTimeMs(h100.timing, 8192, 8192 * 4096, 0, 0)).toBeGreaterThan(380);
    expect(stepTimeMs(h100.timing, 8192, 8192 * 4096, 0, 0)).toBeLessThan(420);
    // Decode with a full KV cache: 21–29 ms ITL.
    const full = stepTimeMs(h100.timing, 0, 0, 100, h100.numGpuBlocks * 16);
    expect(full).toBeGreaterThan(21);
    expect(full).toBeLessThan(29);
    // L4: ITL ≈ 5.1 ms at concurrency 1 and ≈ 7.1 ms at 32 (256-token prompts, 128 out).
    expect(stepTimeMs(base.timing, 0, 0, 1, 320)).toBeCloseTo(5.1, 0);
    expect(stepTimeMs(base.timing, 0, 0, 32, 32 * 320)).toBeCloseTo(7.1, 0);
  });

  it('runs a lone request: prefill step samples the first token, then one decode step per token', () => {
    const engine = new Engine(base);
    engine.add(request('a', 1000, 4), 0);
    const steps = drain(engine);
    expect(steps).toHaveLength(4);
    expect(steps[0]?.prefillTokens).toBe(1000);
    expect(steps[0]?.endMs).toBeCloseTo(stepTimeMs(base.timing, 1000, 1000 * 500, 0, 0));
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

  it('charges the KV read of a decode step per resident block, not per sequence sharing it', () => {
    const engine = new Engine(base);
    engine.add(request('warm', 1600, 1), 0);
    drain(engine);
    for (const id of ['a', 'b', 'c', 'd']) engine.add(request(id, 1600, 4), 10);
    drain1(engine); // each recomputes only the prompt's last block
    const duration = engine.startStep(20) as number;
    engine.finishStep();
    // Four decodes over 1,601-token contexts that share 99 prompt blocks.
    const resident = engine.pool.usedBlocks * 16;
    expect(resident).toBeLessThan(4 * 1601);
    expect(duration).toBeCloseTo(stepTimeMs(base.timing, 0, 0, 4, resident));

    // Distinct prompts: every sequence reads its own context.
    const distinct = new Engine(base);
    distinct.add(request('x', 1000, 3, 1), 0);
    distinct.add(request('y', 1000, 3, 2), 0);
    drain1(distinct);
    expect(distinct.startStep(1)).toBeCloseTo(stepTimeMs(base.timing, 0, 0, 2, 2 * 1001));
  });
});

function drain1(engine: Engine): StepOutcome {
  engine.startStep(0);
  return engine.finishStep();
}
