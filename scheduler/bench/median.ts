// `npm run bench:median -- REPORT.json...`: the median over several bench:routing JSON reports of one workload
// (one per seed) for every policy and rate: TTFT p90 and mean, output tok/s, prefix hit rate, rejected and
// failed requests, and each policy's knee.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import type { RoutingReport } from './routing.ts';
import { percentile } from './stats.ts';

export interface MedianRow {
  readonly policy: string;
  readonly rate: number;
  readonly ttftP90: number;
  readonly ttftMean: number;
  readonly outputTokensPerSecond: number;
  readonly prefixHitRate: number;
  readonly rejected: number;
  readonly failed: number;
  readonly runs: number;
}

const median = (values: readonly number[]): number =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

export function medianRows(reports: readonly RoutingReport[]): MedianRow[] {
  const groups = new Map<string, RoutingReport['results'][number][]>();
  for (const report of reports) {
    for (const result of report.results) {
      const key = `${result.policy}\u0000${String(result.rate)}`;
      groups.set(key, [...(groups.get(key) ?? []), result]);
    }
  }
  return [...groups.values()].map((results) => {
    const first = results[0] as RoutingReport['results'][number];
    return {
      policy: first.policy,
      rate: first.rate,
      ttftP90: median(results.map((r) => r.ttft.p90)),
      ttftMean: median(results.map((r) => r.ttft.mean)),
      outputTokensPerSecond: median(results.map((r) => r.outputTokensPerSecond)),
      prefixHitRate: median(results.map((r) => r.prefixHitRate)),
      rejected: median(results.map((r) => r.rejected)),
      failed: median(results.map((r) => r.failed)),
      runs: results.length,
    };
  });
}

export function medianKnees(reports: readonly RoutingReport[]): Record<string, number> {
  const knees: Record<string, number> = {};
  const policies = new Set(reports.flatMap((report) => Object.keys(report.knee)));
  for (const policy of policies) {
    knees[policy] = median(reports.map((report) => report.knee[policy]).filter((k) => k !== undefined));
  }
  return knees;
}

function main(files: readonly string[]): void {
  const reports = files.map((file) => JSON.parse(readFileSync(file, 'utf8')) as RoutingReport);
  const names = new Set(reports.map((report) => report.workload));
  if (names.size !== 1) throw new Error(`reports of several workloads: ${[...names].join(', ')}`);
  const rows = medianRows(reports);
  console.log(`workload ${[...names].join('')}: median of ${String(reports.length)} report(s)`);
  console.log(
    ['policy', 'rate', 'ttft p90', 'ttft mean', 'out tok/s', 'hit', 'rej', 'fail']
      .map((h, i) => (i === 0 ? h.padEnd(22) : h.padStart(10)))
      .join(''),
  );
  for (const row of rows) {
    console.log(
      [
        row.policy.padEnd(22),
        String(row.rate).padStart(10),
        row.ttftP90.toFixed(3).padStart(10),
        row.ttftMean.toFixed(3).padStart(10),
        row.outputTokensPerSecond.toFixed(0).padStart(10),
        `${(row.prefixHitRate * 100).toFixed(1)}%`.padStart(10),
        String(row.rejected).padStart(10),
        String(row.failed).padStart(10),
      ].join(''),
    );
  }
  const knees = medianKnees(reports);
  console.log(
    `median knee: ${Object.entries(knees)
      .map(([policy, knee]) => `${policy} ${String(knee)}`)
      .join(', ')}`,
  );
  console.log(
    `knee per report: ${Object.keys(knees)
      .map((policy) => `${policy} ${reports.map((r) => String(r.knee[policy])).join('/')}`)
      .join(', ')}`,
  );
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  new Command('bench:median')
    .description(
      'the median over bench:routing JSON reports of one workload (one per seed), per policy and rate, and the knees',
    )
    .argument('<report...>', 'bench:routing --json reports of the same workload')
    .action((files: string[]) => main(files))
    .parse();
}
