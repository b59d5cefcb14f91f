// `review --base REF [--json] [--output FILE]`: what a change does to the cluster. Renders every Application
// at REF and in the working tree as Argo CD does and reports the objects added, removed and changed.
// Exit codes: 0 reviewed (whatever changed), 1 an Application could not be rendered, 2 bad arguments.
import { writeFileSync } from 'node:fs';
import { defaultHelmConcurrency } from '../verify/helm.ts';
import type { Console } from './generate.ts';
import { terminalProgress } from './progress.ts';
import { checkout, resolveCommit, RevisionError } from './review/checkout.ts';
import { compareTrees } from './review/compare.ts';
import { reviewMarkdown } from './review/markdown.ts';
import { planTree } from './review/plan.ts';
import type { ReviewReport } from './review/report.ts';

export interface ReviewOptions {
  root: string;
  base: string;
  json?: boolean;
  output?: string;
  concurrency?: number;
  routing?: boolean;
}

export async function buildReview(options: ReviewOptions): Promise<ReviewReport> {
  const commit = resolveCommit(options.root, options.base);
  const base = checkout(options.root, commit);
  try {
    const progress = terminalProgress('review: rendering');
    const report = await compareTrees(
      planTree(base.dir),
      planTree(options.root),
      { base: options.base, head: 'working tree' },
      { concurrency: options.concurrency ?? defaultHelmConcurrency(), routing: options.routing !== false },
      (done, total) => progress.update(done, total),
    );
    progress.done();
    return report;
  } finally {
    base.cleanup();
  }
}

export async function runReview(options: ReviewOptions, console: Console): Promise<number> {
  let report: ReviewReport;
  try {
    report = await buildReview(options);
  } catch (error) {
    if (error instanceof RevisionError) {
      console.err(error.message);
      return 2;
    }
    throw error;
  }
  const text = options.json === true ? `${JSON.stringify(report, null, 2)}\n` : reviewMarkdown(report);
  if (options.output === undefined) {
    console.out(text.trimEnd());
  } else {
    writeFileSync(options.output, text);
  }
  for (const problem of report.problems) console.err(problem);
  return report.problems.length === 0 ? 0 : 1;
}
