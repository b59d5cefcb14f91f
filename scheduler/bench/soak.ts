// Soak benchmark: the router (a child process, as deployed: `node scheduler/main.ts`) in front of simulated
// vLLM replicas on loopback, under mixed traffic with faults injected, for a long time.
//   npm run bench:soak -- [--duration 30m] [--replicas 4] [--concurrency 16] [--fault-every 15s]
//                         [--sample-every 10s] [--json OUT]
// Traffic: completions and chat, streamed or not, short and long prompts; some clients leave mid-stream
// (cancels), some send bodies over the router's limit (413) or prompts over the engine's context (400).
// Faults, one replica at a time in turn: crash (port closed, connections reset, back after a while), 500s on
// every generation request, and a /metrics that drips for 3 s (longer than the scrape deadline).
// Counted per request: served, failed, lost (failed with a 5xx or without an answer while at least one
// other replica was healthy: a retryable failure the router should have absorbed; must be 0), broken (the
// replica died after the response started; not retryable), cancelled, rejected as expected (413/400); and
// from the router's own metrics, retried. Sampled over time: the router's RSS, open descriptors and
// requests in flight.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { LOOPBACK_FLAGS, parseDuration } from '../service/flags.ts';
import { startSimServer, type SimServer } from '../sim/server.ts';
import { FaultFront, type FaultMode } from './fault-front.ts';

const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';
const ROUTER_MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

interface Options {
  readonly durationMs: number;
  readonly replicas: number;
  readonly concurrency: number;
  readonly faultEveryMs: number;
  readonly sampleEveryMs: number;
  readonly json: string | undefined;
}

interface Counts {
  /** Failures by kind of request and status (0: no answer). */
  failures: Record<string, number>;
  served: number;
  failed: number;
  lost: number;
  broken: number;
  cancelled: number;
  rejectedAsExpected: number;
}

interface Sample {
  readonly atSeconds: number;
  readonly rssMiB: number;
  /** V8 heap in use, from the router's nodejs_heap_size_used_bytes. */
  readonly heapUsedMiB: number;
  /** Memory of Buffers and other objects outside the V8 heap (nodejs_external_memory_bytes). */
  readonly externalMiB: number;
  readonly fds: number;
  readonly inFlight: number;
  readonly retried: number;
  readonly counts: Counts;
  readonly fault: string;
}

function positive(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag}: expected a positive integer`);
    return n;
  };
}

function parseOptions(argv: readonly string[]): Options {
  const program = new Command('bench:soak')
    .description(
      'Mixed traffic with injected faults through the router (a child process) to simulated replicas; prints ' +
        'served, failed, retried and lost requests, and the router RSS and descriptors over time.',
    )
    .addOption(
      new Option('--duration <duration>', 'how long to run (e.g. 90s, 2m, 30m)')
        .default(30 * 60_000, '30m')
        .argParser((v: string) => parseDuration(v, '--duration')),
    )
    .option('--replicas <n>', 'simulated replicas', positive('--replicas'), 4)
    .option('--concurrency <n>', 'clients sending requests at once', positive('--concurrency'), 16)
    .addOption(
      new Option('--fault-every <duration>', 'time between fault changes')
        .default(15_000, '15s')
        .argParser((v: string) => parseDuration(v, '--fault-every')),
    )
    .addOption(
      new Option('--sample-every <duration>', 'time between samples')
        .default(10_000, '10s')
        .argParser((v: string) => parseDuration(v, '--sample-every')),
    )
    .option('--json <file>', 'write the results as JSON')
    .showHelpAfterError();
  program.parse([...argv]);
  const o = program.opts<{
    duration: number;
    replicas: number;
    concurrency: number;
    faultEvery: number;
    sampleEvery: number;
    json?: string;
  }>();
  if (o.replicas < 2) throw new InvalidArgumentError('--replicas: at least 2 (faults hit one at a time)');
  return {
    durationMs: o.duration,
    replicas: o.replicas,
    concurrency: o.concurrency,
    faultEveryMs: o.faultEvery,
    sampleEveryMs: o.sampleEvery,
    json: o.json,
  };
}

/** Starts the router as a child process and resolves with its ports once it logged them. */
async function spawnRouter(endpoints: string): Promise<{
  stop: () => Promise<void>;
  pid: number;
  http: number;
  metrics: number;
}> {
  const child = spawn(
    process.execPath,
    [
      ROUTER_MAIN,
      '--static-endpoints',
      endpoints,
      ...LOOPBACK_FLAGS,
      '--secure-serving=false',
      '--policy',
      'switchyard',
      '--drain-timeout',
      '2s',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ports = await new Promise<{ http: number; metrics: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the router did not start within 30 s')), 30_000);
    if (child.stdout === null) throw new Error('no router stdout');
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry['msg'] === 'router started') {
          clearTimeout(timer);
          resolve({ http: entry['httpPort'] as number, metrics: entry['metricsPort'] as number });
        }
      } catch {
        // not a log line
      }
    });
    void exited.then(() => reject(new Error('the router exited before starting')));
  });
  return {
    pid: child.pid ?? 0,
    ...ports,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** RSS (MiB) and open descriptors of a process, from /proc. */
function processFigures(pid: number): { rssMiB: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? '0');
  return { rssMiB: Math.round(rssKiB / 1024), fds: readdirSync(`/proc/${pid}/fd`).length };
}

/** Sum of a counter or gauge family in a Prometheus exposition. */
function familySum(exposition: string, name: string): number {
  let sum = 0;
  for (const line of exposition.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.split(' ').at(-1));
  }
  return sum;
}

type Kind = 'normal' | 'cancel' | 'oversized' | 'poison';

/** What one client request looks like: mostly ordinary, some cancels, a few oversized or poisoned. */
function pickKind(n: number): Kind {
  const r = n % 100;
  if (r < 8) return 'cancel';
  if (r === 50) return 'oversized';
  if (r === 75) return 'poison';
  return 'normal';
}

function requestBody(kind: Kind, n: number): { path: string; body: string; stream: boolean } {
  const stream = n % 3 !== 0;
  if (kind === 'oversized') {
    return {
      path: '/v1/completions',
      body: JSON.stringify({ model: MODEL, prompt: 'x'.repeat(9 * 1024 * 1024) }),
      stream,
    };
  }
  if (kind === 'poison') {
    return {
      path: '/v1/completions',
      body: JSON.stringify({ model: MODEL, prompt: 'y'.repeat(1024 * 1024) }),
      stream,
    };
  }
  const context = `shared system prompt ${n % 8}: ${'you are a helpful assistant. '.repeat(20 + (n % 8) * 10)}`;
  const maxTokens = kind === 'cancel' ? 200 : 8 + (n % 24);
  if (n % 2 === 0) {
    return {
      path: '/v1/chat/completions',
      body: JSON.stringify({
        model: MODEL,
        messages: [
          { role: 'system', content: context },
          { role: 'user', content: `question ${n}` },
        ],
        max_tokens: maxTokens,
        stream,
      }),
      stream,
    };
  }
  return {
    path: '/v1/completions',
    body: JSON.stringify({ model: MODEL, prompt: `${context} question ${n}`, max_tokens: maxTokens, stream }),
    stream,
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv);
  const sims: SimServer[] = [];
  const fronts: FaultFront[] = [];
  for (let i = 0; i < options.replicas; i++) {
    const sim = await startSimServer({
      host: '127.0.0.1',
      port: 0,
      model: MODEL,
      profile: 'qwen2.5-0.5b-l4',
      seed: i + 1,
    });
    sims.push(sim);
    const front = new FaultFront(sim.port);
    await front.start();
    fronts.push(front);
  }
  const router = await spawnRouter(fronts.map((f) => `127.0.0.1:${f.port}`).join(','));
  const base = `http://127.0.0.1:${router.http}`;
  const counts: Counts = {
    failures: {},
    served: 0,
    failed: 0,
    lost: 0,
    broken: 0,
    cancelled: 0,
    rejectedAsExpected: 0,
  };
  const healthyCount = (): number => fronts.filter((f) => f.mode === 'healthy').length;
  const started = performance.now();
  const deadline = started + options.durationMs;
  let next = 0;

  const client = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const n = next++;
      const kind = pickKind(n);
      const { path, body, stream } = requestBody(kind, n);
      const abort = new AbortController();
      const othersHealthy = healthyCount() >= 1;
      let status = 0;
      try {
        const res = await fetch(`${base}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: abort.signal,
        });
        status = res.status;
        if (kind === 'cancel' && stream && res.ok) {
          await res.body?.getReader().read();
          abort.abort();
          counts.cancelled++;
          continue;
        }
        await res.arrayBuffer();
      } catch {
        if (status === 200) {
          counts.broken++; // the replica died after the response started
          continue;
        }
      }
      if (status === 200) counts.served++;
      else if ((kind === 'oversized' && status === 413) || (kind === 'poison' && status === 400)) {
        counts.rejectedAsExpected++;
      } else if (kind === 'oversized' && status === 0) {
        // The router answers 413 and closes the connection without reading the rest of the body; a client
        // still uploading may see the reset before the answer.
        counts.rejectedAsExpected++;
      } else {
        const key = `${kind} ${status}`;
        counts.failures[key] = (counts.failures[key] ?? 0) + 1;
        counts.failed++;
        if ((status === 0 || status >= 500) && othersHealthy && healthyCount() >= 1) counts.lost++;
      }
    }
  };

  // Faults: each period one replica in turn gets the next fault, the others are healthy.
  const cycle: FaultMode[] = ['crash', 'errors', 'slow-metrics'];
  let faultIndex = 0;
  let faulty: FaultFront | undefined;
  let faultLabel = 'none';
  const faultTimer = setInterval(() => {
    void (async () => {
      await faulty?.set('healthy');
      const front = fronts[faultIndex % fronts.length];
      const mode = cycle[faultIndex % cycle.length] ?? 'crash';
      faultIndex++;
      faulty = front;
      faultLabel = `${mode}@${front?.port ?? 0}`;
      await front?.set(mode);
    })();
  }, options.faultEveryMs);

  const samples: Sample[] = [];
  const sample = async (): Promise<void> => {
    const exposition = await (await fetch(`http://127.0.0.1:${router.metrics}/metrics`)).text();
    const figures = processFigures(router.pid);
    const s: Sample = {
      atSeconds: Math.round((performance.now() - started) / 1000),
      ...figures,
      heapUsedMiB: Math.round(familySum(exposition, 'nodejs_heap_size_used_bytes') / 1024 / 1024),
      externalMiB: Math.round(familySum(exposition, 'nodejs_external_memory_bytes') / 1024 / 1024),
      inFlight: familySum(exposition, 'llm_d_epp_request_running'),
      retried: familySum(exposition, 'switchyard_router_upstream_retries_total'),
      counts: { ...counts, failures: { ...counts.failures } },
      fault: faultLabel,
    };
    samples.push(s);
    const c = s.counts;
    console.log(
      `t=${s.atSeconds}s served=${c.served} failed=${c.failed} lost=${c.lost} broken=${c.broken} ` +
        `cancelled=${c.cancelled} rejected(expected)=${c.rejectedAsExpected} retried=${s.retried} ` +
        `router rss=${s.rssMiB}MiB heap=${s.heapUsedMiB}MiB external=${s.externalMiB}MiB fds=${s.fds} in-flight=${s.inFlight} fault=${s.fault}` +
        (c.failed > 0 ? ` failures=${JSON.stringify(c.failures)}` : ''),
    );
  };
  await sample();
  const sampleTimer = setInterval(() => void sample(), options.sampleEveryMs);

  await Promise.all(Array.from({ length: options.concurrency }, client));
  clearInterval(faultTimer);
  clearInterval(sampleTimer);
  await faulty?.set('healthy');
  await new Promise((r) => setTimeout(r, 500));
  await sample();
  await router.stop();
  await Promise.all(fronts.map((f) => f.close()));
  await Promise.all(sims.map((s) => s.close()));

  const last = samples.at(-1);
  const first = samples[0];
  const result = {
    durationSeconds: Math.round(options.durationMs / 1000),
    replicas: options.replicas,
    concurrency: options.concurrency,
    counts,
    retried: last?.retried ?? 0,
    rssMiB: { first: first?.rssMiB, max: Math.max(...samples.map((s) => s.rssMiB)), last: last?.rssMiB },
    heapUsedMiB: {
      first: first?.heapUsedMiB,
      max: Math.max(...samples.map((s) => s.heapUsedMiB)),
      last: last?.heapUsedMiB,
    },
    fds: { first: first?.fds, max: Math.max(...samples.map((s) => s.fds)), last: last?.fds },
    samples,
  };
  console.log(
    `done: ${counts.served} served, ${counts.failed} failed (${counts.lost} lost), ${counts.broken} broken ` +
      `mid-response, ${counts.cancelled} cancelled, ${counts.rejectedAsExpected} rejected as expected, ` +
      `${result.retried} retried; router RSS ${result.rssMiB.first}→${result.rssMiB.last} MiB ` +
      `(max ${result.rssMiB.max}), heap ${result.heapUsedMiB.first}→${result.heapUsedMiB.last} MiB ` +
      `(max ${result.heapUsedMiB.max}), descriptors ${result.fds.first}→${result.fds.last} (max ${result.fds.max})`,
  );
  if (options.json !== undefined) writeFileSync(options.json, `${JSON.stringify(result, null, 2)}\n`);
  if (counts.lost > 0) process.exitCode = 1;
}

await main();
