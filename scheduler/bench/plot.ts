// `bench:routing --plot FILE.svg`: TTFT p90 and output tok/s against the offered rate, one line per policy,
// rendered to SVG with Vega-Lite in Node (no browser).
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { RunSummary } from './stats.ts';

export async function routingPlotSvg(workload: string, results: readonly RunSummary[]): Promise<string> {
  const values = results.map((r) => ({
    policy: r.policy,
    rate: r.rate,
    ttftP90: Math.max(r.ttft.p90, 0.01),
    outputTokensPerSecond: r.outputTokensPerSecond,
  }));
  const panel = (field: string, title: string, log: boolean) => ({
    width: 360,
    height: 260,
    mark: { type: 'line' as const, point: true },
    encoding: {
      x: { field: 'rate', type: 'quantitative' as const, title: 'offered rate (req/s)' },
      y: {
        field,
        type: 'quantitative' as const,
        title,
        ...(log ? { scale: { type: 'log' as const } } : {}),
      },
      color: { field: 'policy', type: 'nominal' as const, title: 'policy' },
    },
  });
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${workload}: TTFT p90 and output tokens/s`,
    data: { values },
    hconcat: [
      panel('ttftP90', 'TTFT p90 (s, log)', true),
      panel('outputTokensPerSecond', 'output tok/s', false),
    ],
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
