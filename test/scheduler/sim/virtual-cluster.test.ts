import { describe, expect, it } from 'vitest';
import { createScheduler, policyPresets } from '../../../scheduler/core/index.ts';
import { getEngineProfile } from '../../../scheduler/sim/profiles.ts';
import { enginePrompt } from '../../../scheduler/sim/prompt.ts';
import { createRandom } from '../../../scheduler/sim/random.ts';
import {
  createVirtualCluster,
  runVirtualCluster,
  type VirtualRequest,
} from '../../../scheduler/sim/virtual-cluster.ts';

const profile = getEngineProfile('qwen2.5-0.5b-l4');

function workload(seed: number, count: number, ratePerSecond: number): VirtualRequest[] {
  const random = createRandom(seed);
  const systems = [0, 1, 2].map((group) =>
    Uint32Array.from({ length: 1024 }, (_, i) => (group * 100_003 + i * 7) % 151_643),
  );
  const requests: VirtualRequest[] = [];
  let t = 0;
  for (let i = 0; i < count; i++) {
    t += random.exponential(1000 / ratePerSecond);
    const system = systems[random.int(0, 2)] as Uint32Array;
    const question = Uint32Array.from({ length: random.int(16, 256) }, () => random.int(0, 151_642));
    const tokens = new Uint32Array(system.length + question.length);
    tokens.set(system);
    tokens.set(question, system.length);
    requests.push({
      id: `q${String(i)}`,
      arrivalMs: t,
      model: profile.model,
      promptTokens: tokens,
      prompt: enginePrompt(tokens, profile.blockSize),
      outputTokens: random.int(8, 64),
    });
  }
  return requests;
}

function run(policy: 'round-robin' | 'llm-d' | 'switchyard', seed: number) {
  const clock = { nowMs: 0 };
  const random = createRandom(seed);
  const scheduler = createScheduler(policyPresets[policy], { now: () => clock.nowMs, random: random.next });
  return runVirtualCluster(workload(seed, 400, 40), { profile, replicas: 4, router: scheduler, clock });
}

describe('virtual-time cluster', () => {
  it('is deterministic: the same seed gives the same outcomes', () => {
    for (const policy of ['round-robin', 'llm-d', 'switchyard'] as const) {
      expect(run(policy, 3)).toEqual(run(policy, 3));
    }
    expect(run('llm-d', 3).outcomes).not.toEqual(run('llm-d', 4).outcomes);
  });

  it('serves every request once, in causal order, and spreads round-robin evenly', () => {
    const result = run('round-robin', 5);
    expect(result.outcomes).toHaveLength(400);
    expect(new Set(result.outcomes.map((o) => o.id)).size).toBe(400);
    for (const o of result.outcomes) {
      expect(o.status).toBe('ok');
      expect(o.firstTokenMs).toBeGreaterThan(o.arrivalMs);
      expect(o.endMs).toBeGreaterThanOrEqual(o.firstTokenMs);
      expect(o.cachedTokens % 16).toBe(0);
    }
    expect(result.picksPerReplica).toEqual([100, 100, 100, 100]);
  });

  it('gives prefix-aware routing more cache hits than round-robin on shared system prompts', () => {
    const hits = (policy: 'round-robin' | 'llm-d') => {
      const outcomes = run(policy, 9).outcomes;
      return (
        outcomes.reduce((n, o) => n + o.cachedTokens, 0) / outcomes.reduce((n, o) => n + o.promptTokens, 0)
      );
    };
    expect(hits('llm-d')).toBeGreaterThan(hits('round-robin'));
  });

  it('times out requests that cannot finish and reports them as failed', () => {
    const clock = { nowMs: 0 };
    const scheduler = createScheduler(policyPresets['round-robin'], {
      now: () => clock.nowMs,
      random: createRandom(1).next,
    });
    const result = runVirtualCluster(workload(1, 50, 1000), {
      profile: { ...profile, timing: { ...profile.timing, stepBaseMs: 50 } },
      replicas: 1,
      router: scheduler,
      clock,
      requestTimeoutMs: 2000,
    });
    const failed = result.outcomes.filter((o) => o.status === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    for (const o of failed) expect(o.endMs - o.arrivalMs).toBeCloseTo(2000);
    expect(scheduler.accounting().every((a) => a.inFlightRequests === 0)).toBe(true);
  });
});

describe('virtual-time flow control', () => {
  it('holds arrivals in the router while every replica is full, then serves each once; a client timeout removes a held request', () => {
    const play = (requestTimeoutMs: number) => {
      const clock = { nowMs: 0 };
      const scheduler = createScheduler(policyPresets.switchyard, {
        now: () => clock.nowMs,
        random: createRandom(2).next,
      });
      const counts = { held: 0, cancelled: 0 };
      const router = {
        ...scheduler,
        drain: (endpoints: Parameters<typeof scheduler.drain>[0]) => {
          const outcomes = scheduler.drain(endpoints);
          counts.held += outcomes.filter((o) => o.waitedMs > 0).length;
          return outcomes;
        },
        cancel: (id: string) => {
          counts.cancelled++;
          return scheduler.cancel(id);
        },
      };
      // Long prompts on one small replica: its KV cache fills, requests wait, the router holds the rest.
      const requests = workload(6, 300, 2000).map((r) => ({ ...r, outputTokens: 400 }));
      const result = runVirtualCluster(requests, {
        profile,
        replicas: 1,
        router,
        clock,
        flowControl: true,
        requestTimeoutMs,
      });
      return { ...result, ...counts, queued: scheduler.queuedRequests() };
    };
    const served = play(300_000);
    expect(served.outcomes).toHaveLength(300);
    expect(new Set(served.outcomes.map((o) => o.id)).size).toBe(300);
    expect(served.outcomes.every((o) => o.status === 'ok')).toBe(true);
    expect(served.held).toBeGreaterThan(100);
    expect(served.queued).toBe(0);

    const impatient = play(2000);
    const gaveUp = impatient.outcomes.filter((o) => o.status === 'failed' && o.replica === -1);
    expect(gaveUp.length).toBeGreaterThan(0);
    expect(impatient.cancelled).toBe(gaveUp.length);
    for (const o of gaveUp) expect(o.endMs - o.arrivalMs).toBeCloseTo(2000);
    expect(impatient.queued).toBe(0);
  });

  it('refuses flowControl with a router that cannot queue', () => {
    const scheduler = createScheduler(policyPresets['round-robin'], { now: () => 0, random: Math.random });
    const { pick, complete } = scheduler;
    expect(() =>
      runVirtualCluster([], { profile, replicas: 1, router: { pick, complete }, flowControl: true }),
    ).toThrow(/enqueue, drain and cancel/);
  });
});

describe('virtual-time faults', () => {
  it('fails the requests of a crashed replica and routes around it after the next scrape', () => {
    const clock = { nowMs: 0 };
    const scheduler = createScheduler(policyPresets['least-request'], {
      now: () => clock.nowMs,
      random: createRandom(2).next,
    });
    const requests = workload(2, 300, 40);
    const crashAt = (requests[100] as VirtualRequest).arrivalMs;
    const result = runVirtualCluster(requests, {
      profile,
      replicas: 4,
      router: scheduler,
      clock,
      crashes: [{ replica: 1, atMs: crashAt }],
    });
    const failed = result.outcomes.filter((o) => o.status === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    for (const o of failed) expect(o.replica).toBe(1);
    const late = result.outcomes.filter((o) => o.arrivalMs > crashAt + 50);
    expect(late.length).toBeGreaterThan(100);
    expect(late.every((o) => o.replica !== 1 && o.status === 'ok')).toBe(true);
    expect(scheduler.accounting().every((a) => a.inFlightRequests === 0)).toBe(true);
  });

  it('injects errors at the configured rate, deterministically', () => {
    const failures = (faultSeed: number) => {
      const clock = { nowMs: 0 };
      const scheduler = createScheduler(policyPresets['round-robin'], {
        now: () => clock.nowMs,
        random: createRandom(2).next,
      });
      return runVirtualCluster(workload(2, 400, 40), {
        profile,
        replicas: 4,
        router: scheduler,
        clock,
        errorRate: 0.25,
        faultSeed,
      })
        .outcomes.filter((o) => o.status === 'failed')
        .map((o) => o.id);
    };
    const first = failures(1);
    expect(first.length).toBeGreaterThan(60);
    expect(first.length).toBeLessThan(140);
    expect(failures(1)).toEqual(first);
  });

  it('retries a request that failed at once on an endpoint not tried yet, as the proxy does', () => {
    const played = (retries: number) => {
      const clock = { nowMs: 0 };
      const scheduler = createScheduler(policyPresets['round-robin'], {
        now: () => clock.nowMs,
        random: createRandom(2).next,
      });
      const result = runVirtualCluster(workload(2, 200, 40), {
        profile,
        replicas: 4,
        router: scheduler,
        clock,
        errorRates: [1, 0, 0, 0],
        retries,
      });
      expect(scheduler.accounting().every((a) => a.inFlightRequests === 0)).toBe(true);
      return result;
    };
    const once = played(0);
    expect(once.outcomes.filter((o) => o.status === 'failed').every((o) => o.replica === 0)).toBe(true);
    expect(once.outcomes.filter((o) => o.status === 'failed').length).toBe(once.picksPerReplica[0]);
    expect(once.picksPerReplica[0]).toBeGreaterThan(40);
    const retried = played(1);
    expect(retried.outcomes.every((o) => o.status === 'ok' && o.replica !== 0)).toBe(true);
    expect(retried.picksPerReplica[0]).toBeGreaterThan(40);
  });

  it('carries caches across plays of one cluster, from the time the last play ended', () => {
    const clock = { nowMs: 0 };
    const scheduler = createScheduler(policyPresets['llm-d'], {
      now: () => clock.nowMs,
      random: createRandom(1).next,
    });
    const cluster = createVirtualCluster({ profile, replicas: 2, router: scheduler, clock });
    const first = cluster.play(workload(4, 50, 20));
    const start = cluster.nowMs + 1000;
    const again = workload(4, 50, 20).map((r, i) => ({
      ...r,
      id: `again-${String(i)}`,
      arrivalMs: r.arrivalMs + start,
    }));
    const second = cluster.play(again);
    const hits = (r: typeof first) => r.outcomes.reduce((sum, o) => sum + o.cachedTokens, 0);
    expect(hits(second)).toBeGreaterThan(hits(first));
    expect(() => cluster.play(workload(4, 5, 20))).toThrow(/sorted by arrival time/);
  });

  it('reports the preemptions, and the highest KV-cache usage a replica published while requests arrived, per play', () => {
    const clock = { nowMs: 0 };
    const scheduler = createScheduler(policyPresets['round-robin'], {
      now: () => clock.nowMs,
      random: createRandom(1).next,
    });
    // One replica of 100 blocks of 16 tokens.
    const cluster = createVirtualCluster({
      profile: { ...profile, numGpuBlocks: 100 },
      replicas: 1,
      router: scheduler,
      clock,
    });
    const short = (id: string, arrivalMs: number, outputTokens: number, variant = 0): VirtualRequest => {
      const tokens = Uint32Array.from({ length: 32 }, (_, j) => (variant * 1_009 + j * 31) % 151_643);
      return {
        id,
        arrivalMs,
        model: profile.model,
        promptTokens: tokens,
        prompt: enginePrompt(tokens, profile.blockSize),
        outputTokens,
      };
    };
    // A request holds its prompt's and its output's blocks, less the last token (whose KV is never written):
    // 32 + 63 tokens, 6 blocks. The long prompt arriving after it has finished fills more, but no request
    // arrives after that any more.
    const long = { ...(workload(2, 1, 10)[0] as VirtualRequest), arrivalMs: 10_000, outputTokens: 64 };
    const apart = cluster.play([short('first', 0, 64), long]);
    expect(apart.preemptions).toBe(0);
    expect(apart.peakKvCacheUsage).toBe(0.06);
    // Twenty short prompts fit at once, but not what they go on to generate: the engine preempts, and a request
    // arriving a second later meets a full cache.
    const start = cluster.nowMs + 1000;
    const crowd = Array.from({ length: 20 }, (_, i) => short(`crowd-${String(i)}`, start + i, 400, i + 1));
    const crowded = cluster.play([...crowd, short('late', start + 1000, 8, 99)]);
    expect(crowded.outcomes.every((o) => o.status === 'ok')).toBe(true);
    expect(crowded.preemptions).toBeGreaterThan(0);
    expect(crowded.peakKvCacheUsage).toBeGreaterThan(0.95);
    expect(crowded.peakKvCacheUsage).toBeLessThanOrEqual(1);
  });
});
