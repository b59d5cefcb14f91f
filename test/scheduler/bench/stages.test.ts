import { describe, expect, it } from 'vitest';
import { buildRuns, buildWarmup, contentSource } from '../../../scheduler/bench/requests.ts';
import { runStages } from '../../../scheduler/bench/run-policy.ts';
import type { Workload } from '../../../scheduler/bench/workload.ts';
import { getEngineProfile } from '../../../scheduler/sim/profiles.ts';

const profile = getEngineProfile('qwen2.5-0.5b-l4');
const workload: Workload = {
  name: 'tiny-stages',
  profile: profile.name,
  replicas: 2,
  seed: 3,
  slo: { ttftP90Seconds: 1 },
  arrival: {
    type: 'stages',
    warmup: { rate: 4, durationSeconds: 5 },
    intervalSeconds: 2,
    stages: [
      { rate: 2, durationSeconds: 5 },
      { rate: 8, durationSeconds: 5 },
    ],
  },
  requests: {
    type: 'shared-prefix',
    groups: 4,
    promptsPerGroup: 2,
    systemPromptTokens: 512,
    questionTokens: 64,
    outputTokens: 32,
  },
};

describe('inference-perf stages on one cluster', () => {
  const source = contentSource(workload, 'w.json', profile.blockSize, profile.maxModelLen);
  const warmup = buildWarmup(workload, source, profile.model);
  const runs = buildRuns(workload, source, profile.model);

  it('runs each stage after the previous one drained and the pause, keeping the caches warm', () => {
    const results = runStages('round-robin', warmup, runs, 2000, workload, profile).stages;
    expect(results.map((r) => r.summary.rate)).toEqual([2, 8]);
    const [first, second] = results.map((r) => r.cluster);
    // Every request of a stage finished before the next stage's first arrival.
    const firstEnd = Math.max(...(first?.outcomes.map((o) => o.endMs) ?? []));
    const secondStart = Math.min(...(second?.outcomes.map((o) => o.arrivalMs) ?? []));
    expect(first?.outcomes).toHaveLength(10);
    expect(second?.outcomes).toHaveLength(40);
    expect(secondStart).toBeGreaterThanOrEqual(firstEnd + 2000);
    // The warm-up cached every prompt's system prompt: the first stage hits from its first request on.
    expect(results[0]?.summary.prefixHitRate).toBeGreaterThan(0.8);
  });

  it('against a fresh cluster per stage, the warm-up is what makes the first stage hit', () => {
    const cold = runStages('round-robin', undefined, runs, 2000, workload, profile).stages;
    const warm = runStages('round-robin', warmup, runs, 2000, workload, profile).stages;
    expect(cold[0]?.summary.prefixHitRate).toBeLessThan(warm[0]?.summary.prefixHitRate ?? 0);
  });
});
