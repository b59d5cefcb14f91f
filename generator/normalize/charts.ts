// Chart versions: a chart's content is pinned by its version. A version, once recorded in
// charts/chart-versions.json, always means the same templates and defaults; a change needs a higher one.
import type { InputProblem } from '../errors.ts';
import { chartVersionsFile, type ChartInputs, type ChartVersionRecord } from '../model/charts.ts';
import { compareVersions, parseVersion } from '../platform/versions.ts';
import { readmeValuesBegin, readmeValuesEnd } from '../model/readme-markers.ts';

export function chartProblems(inputs: ChartInputs): InputProblem[] {
  const problems: InputProblem[] = [];
  for (const chart of inputs.charts) {
    const at = (message: string): void => {
      problems.push({
        file: `${chart.dir}/Chart.yaml`,
        line: chart.versionLine,
        column: 1,
        pointer: '/version',
        message,
      });
    };
    if (!chart.readme.includes(readmeValuesBegin) || !chart.readme.includes(readmeValuesEnd)) {
      problems.push({
        file: `${chart.dir}/README.md`,
        line: 1,
        column: 1,
        pointer: '',
        message: `expected a README.md with the lines ${readmeValuesBegin} and ${readmeValuesEnd} around its values table`,
      });
    }
    const current = parseVersion(chart.version);
    if (current === undefined) {
      at(`expected a version major.minor.patch, got "${chart.version}"`);
      continue;
    }
    const recorded = inputs.recorded[chart.id] ?? {};
    const digest = recorded[chart.version];
    if (digest !== undefined) {
      if (digest !== chart.digest) {
        at(
          `expected a version above ${highest(recorded) ?? chart.version}: ${chart.dir} changed since version ${chart.version} was recorded in ${chartVersionsFile}`,
        );
      }
      continue;
    }
    const top = highest(recorded);
    const topVersion = top === undefined ? undefined : parseVersion(top);
    if (topVersion !== undefined && compareVersions(current, topVersion) <= 0) {
      at(`expected a version above ${top}, the highest recorded in ${chartVersionsFile}`);
    }
  }
  return problems;
}

function highest(recorded: Readonly<Record<string, string>>): string | undefined {
  let best: string | undefined;
  for (const version of Object.keys(recorded)) {
    const parsed = parseVersion(version);
    const bestParsed = best === undefined ? undefined : parseVersion(best);
    if (parsed !== undefined && (bestParsed === undefined || compareVersions(parsed, bestParsed) > 0)) {
      best = version;
    }
  }
  return best;
}

/** The record after this run: every earlier version, plus each chart's current version and digest. */
export function chartVersionRecord(inputs: ChartInputs): ChartVersionRecord {
  const record: Record<string, Record<string, string>> = {};
  for (const [id, versions] of Object.entries(inputs.recorded)) record[id] = { ...versions };
  for (const chart of inputs.charts) {
    record[chart.id] = { ...(record[chart.id] ?? {}), [chart.version]: chart.digest };
  }
  return record;
}
