import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { POLICY_NAMES } from '../../../scheduler/core/index.ts';
import { blockHashes } from '../../../scheduler/sim/hashing.ts';
import workloadSchema from '../../../scheduler/bench/workloads/workload.schema.json' with { type: 'json' };
import { hitRateBound } from '../../../scheduler/bench/hit-rate-bound.ts';
import {
  buildRuns,
  buildWarmup,
  contentSource,
  TraceMissingError,
} from '../../../scheduler/bench/requests.ts';
import { kneeRate, percentile, summarize, type RunSummary } from '../../../scheduler/bench/stats.ts';
import {
  loadWorkload,
  parseWorkload,
  WorkloadError,
  type Workload,
} from '../../../scheduler/bench/workload.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const shipped = (name: string) =>
  fileURLToPath(new URL(`../../../scheduler/bench/workloads/${name}`, import.meta.url));

describe('workload files', () => {
  it('accepts the shipped workloads', () => {
    const names = readdirSync(shipped('.')).filter(
      (name) => name.endsWith('.json') && !name.endsWith('.schema.json'),
    );
    expect(names.length).toBeGreaterThanOrEqual(6);
    for (const name of names) {
      expect(loadWorkload(shipped(name)).name).toBe(name.replace('.json', ''));
    }
  });

  it('lets a workload name exactly the policies the router core presets', () => {
    expect(workloadSchema.properties.policies.items.enum).toEqual(POLICY_NAMES);
  });

  it('names file, line, column and field of schema errors, only for the matching oneOf branch', () => {
    const text = `{
  "name": "x",
  "profile": "qwen2.5-0.5b-l4",
  "replicas": 0,
  "seed": 1,
  "slo": { "ttftP90Seconds": 1 },
  "arrival": { "type": "poisson", "rates": [1], "durationSeconds": 5 },
  "requests": { "type": "shared-prefix", "groups": 2, "promptsPerGroup": 2, "systemPromptTokens": 10, "questionTokens": 10, "outputTokens": 5, "colour": "red" }
}`;
    let message = '';
    try {
      parseWorkload(text, 'bad.json');
    } catch (error) {
      expect(error).toBeInstanceOf(WorkloadError);
      message = (error as Error).message;
    }
    expect(message).toContain('bad.json:4:15: /replicas must be >= 1');
    expect(message).toContain('bad.json:8:15: /requests unknown field "colour"');
    expect(message).not.toContain('inputTokens');
  });

  it('names an unknown engine profile where it is written', () => {
    const text = JSON.stringify(loadWorkload(fixture('tiny-random.workload.json')), null, 2).replace(
      '"qwen2.5-0.5b-l4"',
      '"qwen-on-a-toaster"',
    );
    expect(() => parseWorkload(text, 'w.json')).toThrow(
      /^w\.json:3:14: \/profile unknown engine profile "qwen-on-a-toaster"/,
    );
  });

  it('reports JSON syntax errors with their position', () => {
    expect(() => parseWorkload('{\n  "name": "x",,\n}', 'broken.json')).toThrow(/broken\.json:2:/);
  });

  it('rejects inconsistent ranges and arrival/request combinations', () => {
    const base = JSON.parse(JSON.stringify(loadWorkload(fixture('tiny-random.workload.json')))) as Record<
      string,
      unknown
    >;
    const inverted = {
      ...base,
      requests: { type: 'random-lengths', inputTokens: { min: 9, max: 2 }, outputTokens: { min: 1, max: 2 } },
    };
    expect(() => parseWorkload(JSON.stringify(inverted), 'w.json')).toThrow(
      /inputTokens min \(9\) exceeds max \(2\)/,
    );
    const traceArrival = { ...base, arrival: { type: 'trace', speedups: [1] } };
    expect(() => parseWorkload(JSON.stringify(traceArrival), 'w.json')).toThrow(/mooncake-trace/);
  });
});

describe('request sequences', () => {
  it('give every rate the same contents in the same order, deterministically', () => {
    const workload = loadWorkload(shipped('shared-prefix.json'));
    const small: Workload = {
      ...workload,
      requests: { ...workload.requests, groups: 4, promptsPerGroup: 2 } as Workload['requests'],
    };
    const runs = buildRuns(small, contentSource(small, 'w.json', 16, 131_072), 'm');
    const again = buildRuns(small, contentSource(small, 'w.json', 16, 131_072), 'm');
    expect(runs.map((r) => r.requests.length)).toEqual(again.map((r) => r.requests.length));
    const [low, high] = [runs[0], runs.at(-1)];
    expect(high?.requests.length).toBeGreaterThan(low?.requests.length ?? 0);
    for (let i = 0; i < (low?.requests.length ?? 0); i++) {
      expect(high?.requests[i]?.prompt).toBe(low?.requests[i]?.prompt);
    }
    // inference-perf stages: int(rate × duration) requests each, all measured; prompts cycle from the first.
    expect(low?.requests).toHaveLength(3 * 20);
    expect(high?.requests).toHaveLength(60 * 25);
    expect(low?.measuredFrom).toBe(0);
    expect(high?.requests[8]?.prompt).toBe(high?.requests[0]?.prompt);
    expect(new Set(high?.requests.slice(0, 8).map((r) => r.prompt)).size).toBe(8);
    const first = low?.requests[0]?.promptTokens;
    expect(first).toHaveLength(7200);
    // The warm-up stage: 15 req/s for 50 s.
    expect(buildWarmup(small, contentSource(small, 'w.json', 16, 131_072), 'm')?.requests).toHaveLength(750);
  });

  it('turns Mooncake hash ids into shared token blocks, with speed-ups compressing time', () => {
    const file = fixture('tiny-trace.workload.json');
    const workload = loadWorkload(file);
    const runs = buildRuns(workload, contentSource(workload, file, 16, 32_768), 'm');
    const [normal, fast] = runs;
    expect(normal?.requests.map((r) => r.arrivalMs)).toEqual([0, 500, 1500, 3000]);
    expect(fast?.requests.map((r) => r.arrivalMs)).toEqual([0, 250, 750, 1500]);
    // 3 measured requests over 2.5 s of trace time (the first one only warms up).
    expect(normal?.rate).toBeCloseTo(1.2);
    expect(fast?.rate).toBeCloseTo(2.4);
    const [a, b, c, d] = (normal?.requests ?? []).map((r) => r.promptTokens);
    expect(a?.subarray(0, 1024)).toEqual(b?.subarray(0, 1024));
    expect(a?.subarray(1024, 1100)).not.toEqual(b?.subarray(1024, 1100));
    expect(c?.subarray(0, 512)).not.toEqual(a?.subarray(0, 512));
    expect(d?.subarray(0, 1200)).toEqual(a);
  });

  it('skips cleanly when the trace file is missing', () => {
    const workload = loadWorkload(shipped('mooncake-conversation.json'));
    const missing = {
      ...workload,
      requests: { type: 'mooncake-trace' as const, path: 'no/such/trace.jsonl' },
    };
    expect(() => contentSource(missing, 'w.json', 16, 131_072)).toThrow(TraceMissingError);
  });

  it.skipIf(!existsSync('../shared/traces/mooncake_conversation_trace.jsonl'))(
    'reads the real conversation trace: every request shares the first 512-token block',
    () => {
      const workload = loadWorkload(shipped('mooncake-conversation.json'));
      const limited = {
        ...workload,
        requests: { ...workload.requests, maxRequests: 50 } as Workload['requests'],
      };
      const runs = buildRuns(
        limited,
        contentSource(limited, shipped('mooncake-conversation.json'), 16, 131_072),
        'm',
      );
      const requests = runs[0]?.requests ?? [];
      expect(requests).toHaveLength(50);
      const head = requests[0]?.promptTokens.subarray(0, 512);
      for (const request of requests) expect(request.promptTokens.subarray(0, 512)).toEqual(head);
    },
  );
});

describe('statistics', () => {
  it('interpolates percentiles between ranks', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([1, 2, 3, 4], 90)).toBeCloseTo(3.7);
    expect(percentile([5], 99)).toBe(5);
    expect(percentile([], 50)).toBeNaN();
  });

  it('summarizes latencies of measured requests, throughput of the window, and token-weighted hits', () => {
    const { summary, extras } = summarize(
      'p',
      2,
      [
        {
          id: 'a',
          status: 'ok',
          replica: 0,
          arrivalMs: 0,
          firstTokenMs: 100,
          endMs: 1100,
          promptTokens: 100,
          outputTokens: 11,
          cachedTokens: 80,
          priority: 0,
        },
        {
          id: 'b',
          status: 'ok',
          replica: 1,
          arrivalMs: 500,
          firstTokenMs: 800,
          endMs: 2000,
          promptTokens: 300,
          outputTokens: 9,
          cachedTokens: 0,
          priority: 0,
        },
        {
          id: 'c',
          status: 'failed',
          replica: 1,
          arrivalMs: 600,
          firstTokenMs: -1,
          endMs: 900,
          promptTokens: 50,
          outputTokens: 0,
          cachedTokens: 0,
          priority: 0,
        },
        {
          id: 'd',
          status: 'rejected',
          replica: -1,
          arrivalMs: 700,
          firstTokenMs: -1,
          endMs: 700,
          promptTokens: 50,
          outputTokens: 0,
          cachedTokens: 0,
          priority: 0,
        },
      ],
      2,
      { outputTokens: 50, seconds: 2, preemptions: 3, peakKvCacheUsage: 0.97 },
    );
    expect(summary.outputTokensPerSecond).toBe(25);
    // 2 completed requests between the first arrival (0 s) and the last completion (2 s).
    expect(summary.requestsPerSecond).toBe(1);
    expect(summary.prefixHitRate).toBe(0.2);
    expect(summary.failed).toBe(1);
    expect(summary.rejected).toBe(1);
    expect(summary.ttft.p50).toBeCloseTo(0.2);
    expect(summary.tpot.p90).toBeCloseTo(0.1475);
    expect(extras.busiestReplicaShare).toBeCloseTo(0.667);
    // Routed in arrival order: replica 0, 1, 1 — one repeat in two consecutive pairs.
    expect(extras.repeatPickShare).toBe(0.5);
    expect(extras.preemptions).toBe(3);
    expect(extras.peakKvCacheUsage).toBe(0.97);
  });

  it('finds the knee as the last rate before the first SLO miss', () => {
    const at = (rate: number, p90: number) => ({ rate, ttft: { p50: 0, p90, p99: 0 } }) as RunSummary;
    expect(kneeRate([at(10, 0.5), at(5, 0.2), at(20, 3), at(30, 1)], 2)).toBe(10);
    expect(kneeRate([at(10, 5)], 2)).toBe(0);
    expect(kneeRate([at(10, Number.NaN)], 2)).toBe(0);
  });
});

describe('hit-rate bound', () => {
  const prompt = (salt: number, blocks: number) => {
    const tokens = Uint32Array.from(
      { length: blocks * 16 + 1 },
      (_, i) => (i < 64 ? i : i * 31 + salt * 1_000_003) >>> 0,
    );
    return { length: tokens.length, blockHashes: blockHashes(tokens, 16) };
  };

  it('counts shared leading blocks once the cache has seen them', () => {
    const prompts = [prompt(1, 8), prompt(2, 8), prompt(3, 8)];
    // Each prompt: 129 tokens; the later two reuse the 4 shared blocks (64 tokens).
    expect(hitRateBound(prompts, 0, 1000, 16)).toBeCloseTo(128 / 387);
    expect(hitRateBound(prompts, 1, 1000, 16)).toBeCloseTo(128 / 258);
  });

  it('drops with a cache too small to keep two alternating shared prefixes', () => {
    const grouped = (group: number, user: number) => {
      const tokens = Uint32Array.from(
        { length: 25 * 16 + 1 },
        (_, i) => (i < 320 ? i * 7 + group * 100_003 : i * 31 + user * 1_000_003) >>> 0,
      );
      return { length: tokens.length, blockHashes: blockHashes(tokens, 16) };
    };
    const prompts = Array.from({ length: 20 }, (_, i) => grouped(i % 2, i));
    const large = hitRateBound(prompts, 2, 10_000, 16);
    expect(large).toBeCloseTo(320 / 401);
    // 30 blocks: the other group's 25 new blocks evict this group's tail first, leaving its first 5 blocks.
    expect(hitRateBound(prompts, 2, 30, 16)).toBeCloseTo(80 / 401);
  });
});
