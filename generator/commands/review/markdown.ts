// The review as Markdown for a pull-request comment: a summary table, what needs attention, then per
// environment and Application the objects added, removed and changed, long parts in collapsed sections.
import { stringify } from 'yaml';
import type { FieldChange } from './field-diff.ts';
import { describeId } from './objects.ts';
import type { ApplicationReview, ObjectChange, ReviewReport, RoutingImpact } from './report.ts';

/** Diffs longer than this many lines are collapsed. */
const collapseAfter = 12;

function yamlLines(value: unknown): string[] {
  return stringify(value, { lineWidth: 0 }).trimEnd().split('\n');
}

function fieldDiff(field: FieldChange): string[] {
  const lines = [`@@ ${field.path === '' ? '(object)' : field.path} @@`];
  if ('before' in field) lines.push(...yamlLines(field.before).map((line) => `- ${line}`));
  if ('after' in field) lines.push(...yamlLines(field.after).map((line) => `+ ${line}`));
  return lines;
}

function collapsible(summary: string, body: string[], open: boolean): string[] {
  if (open) {
    return [summary, '', ...body, ''];
  }
  return ['<details>', `<summary>${summary}</summary>`, '', ...body, '', '</details>', ''];
}

function changedObject(change: ObjectChange): string[] {
  const body = ['```diff', ...change.fields.flatMap(fieldDiff), '```'];
  const count = change.fields.length;
  const summary = `changed \`${describeId(change)}\` (${String(count)} field${count === 1 ? '' : 's'}, ${change.source})`;
  return collapsible(summary, body, body.length <= collapseAfter);
}

function applicationSection(review: ApplicationReview): string[] {
  const lines = [`#### ${review.name}`, ''];
  for (const added of review.added) {
    lines.push(
      ...collapsible(
        `added \`${describeId(added)}\` (${added.source})`,
        ['```yaml', ...yamlLines(added.object), '```'],
        false,
      ),
    );
  }
  for (const removed of review.removed) {
    lines.push(`**removed** \`${describeId(removed)}\` (${removed.source})`, '');
  }
  for (const change of review.changed) {
    lines.push(...changedObject(change));
  }
  return lines;
}

function figures(
  impact: RoutingImpact,
  key: 'ttftP90Ms' | 'outputTokensPerSecond' | 'prefixHitRate',
): string {
  const format = (value: number | undefined): string =>
    value === undefined
      ? '—'
      : key === 'prefixHitRate'
        ? `${(value * 100).toFixed(1)} %`
        : value.toFixed(key === 'ttftP90Ms' ? 0 : 1);
  return `${format(impact.before?.[key])} | ${format(impact.after?.[key])}`;
}

function routingSection(routing: readonly RoutingImpact[]): string[] {
  if (routing.length === 0) {
    return [];
  }
  const lines = ['### Routing impact (simulated)', ''];
  for (const impact of routing) {
    lines.push(
      `**${impact.environment} / ${impact.model}**: workload \`${impact.workload}\` replayed in virtual time through the router and simulated vLLM replicas (${impact.reasons.join(', ')} changed).`,
      '',
      '| figure | before | after |',
      '|---|---:|---:|',
      `| TTFT p90 (ms) | ${figures(impact, 'ttftP90Ms')} |`,
      `| output tokens/s | ${figures(impact, 'outputTokensPerSecond')} |`,
      `| prefix-cache hit rate | ${figures(impact, 'prefixHitRate')} |`,
      '',
    );
  }
  return lines;
}

export function reviewMarkdown(report: ReviewReport): string {
  const { summary } = report;
  const lines = [`## Switchyard review: \`${report.base}\` → \`${report.head}\``, ''];
  if (summary.applications === 0) {
    lines.push(
      `No rendered object changes (${String(summary.unchangedApplications)} Applications unchanged).`,
      '',
    );
  } else {
    lines.push(
      `${String(summary.added)} added, ${String(summary.removed)} removed, ${String(summary.changed)} changed objects in ${String(summary.applications)} Applications (${String(summary.unchangedApplications)} unchanged).`,
      '',
      '| environment | Application | added | removed | changed |',
      '|---|---|---:|---:|---:|',
    );
    for (const environment of report.environments) {
      for (const review of environment.applications) {
        lines.push(
          `| ${environment.name} | ${review.name} | ${String(review.added.length)} | ${String(review.removed.length)} | ${String(review.changed.length)} |`,
        );
      }
    }
    lines.push('');
  }
  if (report.attention.length > 0) {
    lines.push('### Needs attention', '');
    for (const item of report.attention) {
      lines.push(`- **${item.reason}** ${item.environment} / ${item.application}: ${item.message}`);
    }
    lines.push('');
  }
  if (report.problems.length > 0) {
    lines.push('### Problems', '', ...report.problems.map((problem) => `- ${problem}`), '');
  }
  lines.push(...routingSection(report.routing));
  for (const environment of report.environments) {
    if (environment.applications.length === 0) continue;
    lines.push(`### ${environment.name}`, '');
    for (const review of environment.applications) {
      lines.push(...applicationSection(review));
    }
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
