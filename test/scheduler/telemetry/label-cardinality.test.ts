// 100 models × 100 fairness ids used to give a 118 MB exposition: the product of label values was
// unbounded. The label-set cap keeps /metrics small whatever clients send.
import { describe, expect, it } from 'vitest';
import { LabelSetCap, RouterMetrics } from '../../../scheduler/telemetry/metrics.ts';

/** The stated bound of the exposition with the default cap (50 + 10 label sets, measured 2.3 MB): 3 MiB. */
const EXPOSITION_BOUND_BYTES = 3 * 1024 * 1024;

describe('metric label cardinality', () => {
  it('keeps /metrics under 3 MiB with 100 models × 100 fairness ids, and counts what it folded', async () => {
    const metrics = new RouterMetrics({ poolName: 'pool' });
    for (let m = 0; m < 100; m++) {
      for (let f = 0; f < 100; f++) {
        const labels = {
          modelName: `model-${m}`,
          targetModelName: `model-${m}`,
          fairnessId: `tenant-${f}`,
          priority: f % 3,
        };
        metrics.requestStarted(labels, 1000);
        metrics.schedulingDone(0.001, true);
        metrics.requestRouted(labels, 0.001);
        metrics.firstResponseBytes(labels, 0.05, f % 2 === 0);
        metrics.requestFinished(labels, {
          durationSeconds: 0.5,
          responseBytes: 2000,
          promptTokens: 100,
          completionTokens: 20,
          cachedTokens: 64,
          streamingTtftSeconds: 0.05,
          ...(f % 5 === 0 ? { errorCode: 'ModelServerError' as const } : {}),
        });
        metrics.requestRejected(labels, 'ResourceExhausted');
      }
    }
    const text = await metrics.registry.metrics();
    expect(Buffer.byteLength(text)).toBeLessThan(EXPOSITION_BOUND_BYTES);
    const requestTotals = text.split('\n').filter((line) => line.startsWith('llm_d_epp_request_total{'));
    expect(requestTotals.length).toBeLessThanOrEqual(50 + 10 + 1);
    // Every request is still counted, folded or not.
    const counted = requestTotals.reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    expect(counted).toBe(10_000);
    expect(text).toMatch(/switchyard_router_folded_label_sets_total 9950/);
  });

  it('folds the fairness id first, then everything, and reuses known sets', () => {
    const cap = new LabelSetCap(2);
    const l = (m: string, f: string) => ({ modelName: m, targetModelName: m, fairnessId: f, priority: 0 });
    expect(cap.values(l('a', 'x')).fairness_id).toBe('x');
    expect(cap.values(l('b', 'y')).fairness_id).toBe('y');
    expect(cap.values(l('a', 'z'))).toEqual({
      model_name: 'a',
      target_model_name: 'a',
      fairness_id: 'other',
      priority: '0',
    });
    expect(cap.values(l('a', 'x')).fairness_id).toBe('x');
    for (let i = 0; i < 50; i++) cap.values(l(`m${i}`, 'q'));
    expect(cap.values(l('new-model', 'q')).model_name).toBe('other');
    expect(cap.size()).toBe(2 + 10);
  });
});
