// `npm run bench:median -- REPORT.json...`: the median over several bench:routing JSON reports of one workload
// (one per seed) for every policy and rate: TTFT p90 and mean, output tok/s, prefix hit rate, rejected and
// failed requests, and each policy's knee; with `--markdown`, the same medians as the tables of
// docs/benchmarks.md.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import type { ObjectiveRow, RoutingReport } from './routing.ts';
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
  const groups = Map.groupBy(
    reports.flatMap((report) => report.results),
    (r) => `${r.policy}\u0000${String(r.rate)}`,
  );
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

export const TABLE_FORMATS = ['p90-output', 'mean-p90-hit', 'objectives'] as const;
/** What a cell of a docs table shows. */
export type TableFormat = (typeof TABLE_FORMATS)[number];

/** Seconds as the tables print them: two decimals below 10, one below 100, none from 100 on. */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  if (seconds < 10) return seconds.toFixed(2);
  if (seconds < 100) return seconds.toFixed(1);
  return seconds.toFixed(0);
}

/** Output tokens per second in thousands, one decimal: 7.3k. */
export function formatThousands(tokensPerSecond: number): string {
  return `${(tokensPerSecond / 1000).toFixed(1)}k`;
}

/**
 * The medians of `reports` as a markdown table, one row per rate and one column per policy (`policies`, in that
 * order; all of the reports' by default), and a last row with each policy's median knee. `p90-output`: TTFT p90 /
 * output tok/s; `mean-p90-hit`: mean TTFT / TTFT p90 / prefix hit rate; `objectives`: the TTFT p90 of each
 * InferenceObjective (highest priority first), the requests answered 429, and output tok/s.
 */
export function markdownTable(
  reports: readonly RoutingReport[],
  format: TableFormat,
  policies?: readonly string[],
): string {
  const rows = medianRows(reports);
  const columns = policies ?? [...new Set(rows.map((row) => row.policy))];
  for (const policy of columns) {
    if (!rows.some((row) => row.policy === policy)) throw new Error(`no results for policy "${policy}"`);
  }
  const rates = [...new Set(rows.map((row) => row.rate))];
  const objectives = format === 'objectives' ? objectiveMedians(reports) : [];
  const cell = (policy: string, rate: number): string => {
    const row = rows.find((r) => r.policy === policy && r.rate === rate);
    if (row === undefined) return '—';
    const output = formatThousands(row.outputTokensPerSecond);
    switch (format) {
      case 'p90-output':
        return `${formatSeconds(row.ttftP90)} / ${output}`;
      case 'mean-p90-hit':
        return `${formatSeconds(row.ttftMean)} / ${formatSeconds(row.ttftP90)} / ${(row.prefixHitRate * 100).toFixed(1)}%`;
      case 'objectives': {
        const mine = objectives.filter((o) => o.policy === policy && o.rate === rate);
        if (mine.length === 0) throw new Error(`no objective figures for ${policy} at ${String(rate)}`);
        return `${mine.map((o) => formatSeconds(o.ttftP90)).join(' / ')}, ${String(row.rejected)}, ${output}`;
      }
    }
  };
  const knees = medianKnees(reports);
  const lines = [
    `| rate | ${columns.join(' | ')} |`,
    `|---|${columns.map(() => '---|').join('')}`,
    ...rates.map(
      (rate) => `| ${String(rate)} | ${columns.map((policy) => cell(policy, rate)).join(' | ')} |`,
    ),
    `| knee (median) | ${columns.map((policy) => String(knees[policy] ?? '—')).join(' | ')} |`,
  ];
  return `${lines.join('\n')}\n`;
}

interface ObjectiveMedian {
  readonly policy: string;
  readonly rate: number;
  readonly priority: number;
  readonly ttftP90: number;
}

/** Median TTFT p90 per policy, rate and objective, highest priority first. */
function objectiveMedians(reports: readonly RoutingReport[]): ObjectiveMedian[] {
  const groups = Map.groupBy(
    reports.flatMap((report) => report.objectives ?? []),
    (row) => `${row.policy}\u0000${String(row.rate)}\u0000${String(row.priority)}`,
  );
  return [...groups.values()]
    .map((group) => {
      const first = group[0] as ObjectiveRow;
      return {
        policy: first.policy,
        rate: first.rate,
        priority: first.priority,
        ttftP90: median(group.map((row) => row.ttft.p90)),
      };
    })
    .sort((a, b) => b.priority - a.priority);
}

interface MedianOptions {
  readonly markdown?: TableFormat;
  readonly policies?: string;
}

function main(files: readonly string[], options: MedianOptions): void {
  const reports = files.map((file) => JSON.parse(readFileSync(file, 'utf8')) as RoutingReport);
  const names = new Set(reports.map((report) => report.workload));
  if (names.size !== 1) throw new Error(`reports of several workloads: ${[...names].join(', ')}`);
  if (options.markdown !== undefined) {
    const policies = options.policies?.split(',').map((policy) => policy.trim());
    process.stdout.write(markdownTable(reports, options.markdown, policies));
    return;
  }
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
    .addOption(new Option('--markdown <format>', 'print the medians as a docs table').choices(TABLE_FORMATS))
    .option('--policies <list>', 'with --markdown: the policy columns, in order (default: every policy)')
    .action((files: string[], options: MedianOptions) => {
      try {
        main(files, options);
      } catch (error) {
        console.error(`bench:median: ${error instanceof Error ? error.message : String(error)}`);
        process.exitCode = 1;
      }
    })
    .parse();
}
