// bench:median: the medians over one report per seed, and the docs tables printed from them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  formatSeconds,
  formatThousands,
  markdownTable,
  medianKnees,
  medianRows,
} from '../../../scheduler/bench/median.ts';
import type { ObjectiveRow, RoutingReport } from '../../../scheduler/bench/routing.ts';
import type { RunSummary } from '../../../scheduler/bench/stats.ts';

function result(
  policy: string,
  rate: number,
  p90: number,
  output: number,
  extra: Partial<RunSummary> = {},
): RunSummary {
  return {
    policy,
    rate,
    ttft: { p50: p90 / 2, p90, p99: p90 * 2, mean: p90 / 3 },
    tpot: { p90: 0.04 },
    e2e: { p50: 10, p90: 20 },
    outputTokensPerSecond: output,
    requestsPerSecond: rate,
    rejected: 0,
    failed: 0,
    prefixHitRate: 0.9,
    ...extra,
  };
}

function objective(policy: string, rate: number, name: string, priority: number, p90: number): ObjectiveRow {
  return {
    policy,
    rate,
    objective: name,
    priority,
    offered: 10,
    completed: 10,
    rejected: 0,
    failed: 0,
    ttft: { p50: p90 / 2, p90 },
  };
}

/** Three seeds of a two-rate ladder: the median is the middle seed's figure, whichever seed holds it. */
const reports: RoutingReport[] = [
  [0.1, 0.3, 120, 7_100, 14_600, 10],
  [0.2, 0.1, 130, 7_300, 14_800, 20],
  [0.3, 0.2, 101.4, 7_200, 14_700, 20],
].map(([a, b, c, d, e, knee]) => ({
  workload: 'ladder',
  hitRateBound: 0.8,
  results: [
    result('round-robin', 3, a as number, d as number),
    result('round-robin', 60, c as number, d as number, { rejected: 4 }),
    result('switchyard', 3, b as number, e as number),
    result('switchyard', 60, 12.34, e as number, { rejected: knee === 10 ? 1 : 3 }),
  ],
  knee: { 'round-robin': 3, switchyard: knee as number },
  objectives: [
    objective('switchyard', 3, 'batch', -10, (b as number) * 2),
    objective('switchyard', 3, 'premium', 100, b as number),
    objective('switchyard', 60, 'premium', 100, 0.15),
    objective('switchyard', 60, 'batch', -10, 3.5),
  ],
}));

describe('bench:median', () => {
  it('takes the median of every figure over the reports, figure by figure', () => {
    const rows = medianRows(reports);
    const rr60 = rows.find((r) => r.policy === 'round-robin' && r.rate === 60);
    expect(rr60).toMatchObject({ ttftP90: 120, outputTokensPerSecond: 7_200, rejected: 4, runs: 3 });
    expect(rows.find((r) => r.policy === 'switchyard' && r.rate === 3)?.ttftP90).toBe(0.2);
    expect(medianKnees(reports)).toEqual({ 'round-robin': 3, switchyard: 20 });
  });

  it('prints seconds and thousands of tokens as the docs tables do', () => {
    expect([0.0812, 6.294, 19.42, 101.6].map(formatSeconds)).toEqual(['0.08', '6.29', '19.4', '102']);
    expect(formatThousands(14_749)).toBe('14.7k');
    expect(formatThousands(512)).toBe('0.5k');
  });

  it('prints TTFT p90 / output per rate and policy, in the columns asked for, with the median knee', () => {
    expect(markdownTable(reports, 'p90-output', ['switchyard', 'round-robin'])).toBe(
      [
        '| rate | switchyard | round-robin |',
        '|---|---|---|',
        '| 3 | 0.20 / 14.7k | 0.20 / 7.2k |',
        '| 60 | 12.3 / 14.7k | 120 / 7.2k |',
        '| knee (median) | 20 | 3 |',
        '',
      ].join('\n'),
    );
    expect(markdownTable(reports, 'mean-p90-hit', ['round-robin']).split('\n')[2]).toBe(
      '| 3 | 0.07 / 0.20 / 90.0% |',
    );
  });

  it('prints each objective’s TTFT p90, highest priority first, then the 429s and the output', () => {
    const table = markdownTable(reports, 'objectives', ['switchyard']);
    expect(table.split('\n').slice(2, 4)).toEqual([
      '| 3 | 0.20 / 0.40, 0, 14.7k |',
      '| 60 | 0.15 / 3.50, 3, 14.7k |',
    ]);
    expect(() => markdownTable(reports, 'objectives', ['round-robin'])).toThrow(/no objective figures/);
    expect(() => markdownTable(reports, 'p90-output', ['llm-d'])).toThrow('no results for policy "llm-d"');
  });

  it('answers an unknown table format with the formats it knows and a non-zero exit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'median-'));
    const file = join(dir, 'r.json');
    writeFileSync(file, JSON.stringify(reports[0]));
    let failure: { status: number | null; stderr: string } | undefined;
    try {
      execFileSync(process.execPath, ['scheduler/bench/median.ts', '--markdown', 'wide', file], {
        stdio: 'pipe',
      });
    } catch (error) {
      const e = error as { status: number | null; stderr: Buffer };
      failure = { status: e.status, stderr: e.stderr.toString() };
    }
    expect(failure?.status).toBe(1);
    expect(failure?.stderr).toContain(
      "option '--markdown <format>' argument 'wide' is invalid. Allowed choices are p90-output, mean-p90-hit, objectives.",
    );
  });
});
