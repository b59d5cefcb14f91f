import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../../scheduler/bench/routing.ts', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'bench-routing-'));

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('npm run bench:routing', () => {
  it('runs every policy of the workload and writes the report in the documented shape', async () => {
    const out = join(scratch, 'report.json');
    const { stdout } = await run(process.execPath, [
      cli,
      '--workload',
      fixture('tiny-random.workload.json'),
      '--json',
      out,
    ]);
    expect(stdout).toContain('round-robin');
    expect(stdout).toMatch(/knee \(highest rate/);
    const report = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(report)).toEqual(['workload', 'results', 'knee', 'hitRateBound']);
    expect(report['workload']).toBe('tiny-random');
    const results = report['results'] as Record<string, unknown>[];
    expect(results.map((r) => `${String(r['policy'])}@${String(r['rate'])}`)).toEqual([
      'round-robin@2',
      'round-robin@8',
      'least-request@2',
      'least-request@8',
    ]);
    for (const result of results) {
      expect(Object.keys(result)).toEqual([
        'policy',
        'rate',
        'ttft',
        'tpot',
        'e2e',
        'outputTokensPerSecond',
        'requestsPerSecond',
        'rejected',
        'failed',
        'prefixHitRate',
      ]);
      expect(Object.keys(result['ttft'] as object)).toEqual(['p50', 'p90', 'p99', 'mean']);
      expect(Object.keys(result['tpot'] as object)).toEqual(['p90']);
      expect(Object.keys(result['e2e'] as object)).toEqual(['p50', 'p90']);
      expect(result['requestsPerSecond']).toBeGreaterThan(0);
    }
    expect(Object.keys(report['knee'] as object)).toEqual(['round-robin', 'least-request']);
    expect(report['hitRateBound']).toBe(0);
    // Same seed, same report.
    const again = join(scratch, 'again.json');
    await run(process.execPath, [cli, '--workload', fixture('tiny-random.workload.json'), '--json', again]);
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(out, 'utf8'));
    // Another seed, other arrivals and prompts.
    const reseeded = join(scratch, 'reseeded.json');
    const args = [cli, '--workload', fixture('tiny-random.workload.json'), '--json', reseeded];
    const { stdout: reseededOut } = await run(process.execPath, [...args, '--seed', '12345']);
    expect(reseededOut).toContain('seed 12345');
    expect(readFileSync(reseeded, 'utf8')).not.toBe(readFileSync(out, 'utf8'));
    const failure = await run(process.execPath, [...args, '--seed', '-1']).catch((error: unknown) => error);
    expect((failure as { stderr: string }).stderr).toContain(
      '--seed: expected a non-negative integer, got "-1"',
    );
  });

  it('replays a trace workload at each speed-up and reports the single-cache bound', async () => {
    const out = join(scratch, 'trace.json');
    await run(process.execPath, [
      cli,
      '--workload',
      fixture('tiny-trace.workload.json'),
      '--json',
      out,
      '--policies',
      'llm-d',
    ]);
    const report = JSON.parse(readFileSync(out, 'utf8')) as {
      results: { rate: number }[];
      hitRateBound: number;
    };
    expect(report.results.map((r) => r.rate)).toEqual([1.2, 2.4]);
    expect(report.hitRateBound).toBeGreaterThan(0.3);
    const subset = join(scratch, 'subset.json');
    await run(process.execPath, [
      cli,
      '--workload',
      fixture('tiny-trace.workload.json'),
      '--json',
      subset,
      '--policies',
      'llm-d',
      '--rates',
      '2',
    ]);
    expect(
      (JSON.parse(readFileSync(subset, 'utf8')) as { results: { rate: number }[] }).results.map(
        (r) => r.rate,
      ),
    ).toEqual([2.4]);
  });

  it('fails with the location of a bad field and writes nothing', async () => {
    const bad = join(scratch, 'bad.json');
    writeFileSync(bad, '{\n  "name": "Bad Name"\n}\n');
    const out = join(scratch, 'none.json');
    const failure = await run(process.execPath, [cli, '--workload', bad, '--json', out]).catch(
      (error: unknown) => error,
    );
    expect((failure as { code: number }).code).toBe(1);
    expect((failure as { stderr: string }).stderr).toContain(`${bad}:2:11: /name must match pattern`);
    expect(() => readFileSync(out)).toThrow();
  });

  it('skips a trace workload whose trace file is absent, with a clear message', async () => {
    const workload = join(scratch, 'missing-trace.json');
    writeFileSync(
      workload,
      JSON.stringify({
        name: 'missing',
        profile: 'qwen2.5-0.5b-l4',
        replicas: 1,
        seed: 1,
        slo: { ttftP90Seconds: 1 },
        arrival: { type: 'trace', speedups: [1] },
        requests: { type: 'mooncake-trace', path: 'nowhere/trace.jsonl' },
      }),
    );
    const { stdout } = await run(process.execPath, [cli, '--workload', workload]);
    expect(stdout).toContain('skipped workload "missing": trace file nowhere/trace.jsonl not found');
  });

  it(
    'draws TTFT p90 and output tok/s against rate for every policy with --plot',
    { timeout: 60_000 },
    async () => {
      const svg = join(scratch, 'plot.svg');
      await run(process.execPath, [cli, '--workload', fixture('tiny-random.workload.json'), '--plot', svg]);
      const text = readFileSync(svg, 'utf8');
      expect(text.startsWith('<svg')).toBe(true);
      for (const label of ['round-robin', 'least-request', 'TTFT p90', 'output tok/s'])
        expect(text).toContain(label);
    },
  );
});
