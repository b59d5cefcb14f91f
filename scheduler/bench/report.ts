// The benchmark's text table: one row per policy and rate.

import type { RunExtras, RunSummary } from './stats.ts';

const COLUMNS = [
  'policy',
  'rate',
  'ttft p50',
  'ttft p90',
  'ttft p99',
  'ttft mean',
  'tpot p90',
  'e2e p50',
  'e2e p90',
  'out tok/s',
  'req/s',
  'rej',
  'fail',
  'hit',
  'bound',
  'top share',
  'repeat',
  'preempt',
  'kv peak',
] as const;

const seconds = (value: number): string =>
  Number.isNaN(value) ? '-' : value < 10 ? value.toFixed(3) : value.toFixed(1);

export function formatTable(
  results: readonly RunSummary[],
  extras: readonly RunExtras[],
  bounds: readonly { rate: number; bound: number }[],
): string {
  const rows = results.map((result, index) => {
    const extra = extras[index] as RunExtras;
    const bound = bounds.find((entry) => entry.rate === result.rate)?.bound ?? Number.NaN;
    return [
      result.policy,
      String(result.rate),
      seconds(result.ttft.p50),
      seconds(result.ttft.p90),
      seconds(result.ttft.p99),
      seconds(extra.ttftMean),
      Number.isNaN(result.tpot.p90) ? '-' : `${(result.tpot.p90 * 1000).toFixed(1)}ms`,
      seconds(result.e2e.p50),
      seconds(result.e2e.p90),
      result.outputTokensPerSecond.toFixed(0),
      result.requestsPerSecond.toFixed(2),
      String(result.rejected),
      String(result.failed),
      `${(result.prefixHitRate * 100).toFixed(1)}%`,
      `${(bound * 100).toFixed(1)}%`,
      `${(extra.busiestReplicaShare * 100).toFixed(0)}%`,
      `${(extra.repeatPickShare * 100).toFixed(0)}%`,
      String(extra.preemptions),
      `${(extra.peakKvCacheUsage * 100).toFixed(1)}%`,
    ];
  });
  const table = [[...COLUMNS], ...rows];
  const widths = COLUMNS.map((_, column) => Math.max(...table.map((row) => (row[column] ?? '').length)));
  return table
    .map((row) => row.map((cell, column) => cell.padStart(widths[column] ?? 0)).join('  '))
    .join('\n');
}

/** Per-objective figures: one row per policy, rate and objective. */
export function formatObjectiveTable(
  rows: readonly {
    policy: string;
    rate: number;
    objective: string;
    priority: number;
    offered: number;
    completed: number;
    rejected: number;
    failed: number;
    ttft: { p50: number; p90: number };
  }[],
): string {
  const header = [
    'policy',
    'rate',
    'objective',
    'priority',
    'offered',
    'done',
    '429',
    'fail',
    'ttft p50',
    'ttft p90',
  ];
  const cells = rows.map((r) => [
    r.policy,
    String(r.rate),
    r.objective,
    String(r.priority),
    String(r.offered),
    String(r.completed),
    String(r.rejected),
    String(r.failed),
    seconds(r.ttft.p50),
    seconds(r.ttft.p90),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  return [header, ...cells].map((c) => c.map((v, i) => v.padStart(widths[i] ?? 0)).join('  ')).join('\n');
}
