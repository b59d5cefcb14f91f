// A real Prometheus server (Debian's `prometheus` package, which .ci/run installs) on loopback, scraping
// loopback targets with the labels the generated PodMonitor and ServiceMonitor would give them in a cluster.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ScrapeTarget {
  readonly job: string;
  /** host:port serving /metrics over plain HTTP. */
  readonly address: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface PrometheusServer {
  readonly url: string;
  /** Instant query at the server's now; the values of the resulting vector or scalar, as Argo reads them. */
  query(promql: string): Promise<number[]>;
  /** Resolves once every target has been scraped successfully at least `scrapes` times. */
  waitForScrapes(scrapes: number): Promise<void>;
  close(): Promise<void>;
}

export const PROMETHEUS_BINARY = process.env['PROMETHEUS_BINARY'] ?? 'prometheus';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface QueryResponse {
  status: string;
  error?: string;
  data?: { resultType: string; result: unknown };
}

export async function startPrometheus(
  targets: readonly ScrapeTarget[],
  scrapeIntervalSeconds = 1,
): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-prometheus-'));
  const jobs = new Map<string, ScrapeTarget[]>();
  for (const target of targets) jobs.set(target.job, [...(jobs.get(target.job) ?? []), target]);
  const config = {
    global: { scrape_interval: `${scrapeIntervalSeconds}s`, scrape_timeout: `${scrapeIntervalSeconds}s` },
    scrape_configs: [...jobs].map(([job, members]) => ({
      job_name: job,
      static_configs: members.map((member) => ({ targets: [member.address], labels: member.labels })),
    })),
  };
  // JSON is YAML: Prometheus reads it as its configuration file.
  writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const child: ChildProcess = spawn(
    PROMETHEUS_BINARY,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const spawnFailure = new Promise<never>((_, reject) =>
    child.once('error', (err) =>
      reject(
        new Error(
          `cannot start ${PROMETHEUS_BINARY} (install Debian's prometheus package, as .ci/run does): ${err.message}`,
        ),
      ),
    ),
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };

  const ready = (async (): Promise<void> => {
    for (let attempt = 0; attempt < 200; attempt++) {
      if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${output}`);
      try {
        if ((await fetch(`${url}/-/ready`)).ok) return;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error(`prometheus did not become ready: ${output}`);
  })();
  try {
    await Promise.race([ready, spawnFailure]);
  } catch (err) {
    await close();
    throw err;
  }

  const query = async (promql: string): Promise<number[]> => {
    const response = await fetch(`${url}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: promql }).toString(),
    });
    const body = (await response.json()) as QueryResponse;
    if (body.status !== 'success' || body.data === undefined) {
      throw new Error(`query failed (${response.status}): ${body.error ?? 'no data'}: ${promql}`);
    }
    const { resultType, result } = body.data;
    if (resultType === 'scalar') return [Number((result as [number, string])[1])];
    if (resultType === 'vector') {
      return (result as { value: [number, string] }[]).map((sample) => Number(sample.value[1]));
    }
    throw new Error(`unexpected result type ${resultType}: ${promql}`);
  };

  const waitForScrapes = async (scrapes: number): Promise<void> => {
    for (let attempt = 0; attempt < 300; attempt++) {
      const counts = await query('count_over_time(up[5m]) and up == 1');
      const all = await query('up');
      if (
        all.length === targets.length &&
        counts.length === targets.length &&
        counts.every((n) => n >= scrapes)
      ) {
        return;
      }
      await sleep(200);
    }
    throw new Error(`targets were not scraped ${scrapes} times: ${output}`);
  };

  return { url, query, waitForScrapes, close };
}
