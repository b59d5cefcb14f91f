// `npm run demo`: simulated vLLM replicas and the router on loopback, a mixed workload sent through the
// router's HTTP proxy, and a report of where requests went and how long they took. The same workload runs
// once per policy (fresh replicas each time) so the effect of routing is visible side by side.
//
//   npm run demo -- [--replicas 4] [--requests 160] [--concurrency 12] [--policies switchyard,round-robin]
import { Command } from 'commander';
import { POLICY_NAMES, type PolicyName } from './core/index.ts';
import { LOOPBACK_FLAGS, parseRouterArgs } from './service/flags.ts';
import type { Logger } from './service/log.ts';
import { startRouter } from './service/router-app.ts';
import { startSimServer, type SimServer } from './sim/server.ts';

const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';
const SHARED_GROUPS = 6;

interface Outcome {
  readonly kind: 'shared-prefix chat' | 'short completion';
  readonly endpoint: string;
  readonly status: number;
  readonly ttftMs: number;
  readonly e2eMs: number;
  readonly promptTokens: number;
  readonly cachedTokens: number;
}

function systemPrompt(group: number): string {
  const sentence = `You are assistant number ${group} of the demo. Answer briefly, cite the handbook section, `;
  return sentence.repeat(60);
}

/** Deterministic pseudo-random numbers so every policy sees the same workload. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function send(base: string, i: number, random: () => number): Promise<Outcome> {
  const shared = random() < 0.7;
  const body = shared
    ? {
        model: MODEL,
        messages: [
          { role: 'system', content: systemPrompt(Math.floor(random() * SHARED_GROUPS)) },
          { role: 'user', content: `Question ${i}: what does section ${Math.floor(random() * 50)} say?` },
        ],
        max_tokens: 16 + Math.floor(random() * 48),
        stream: true,
        stream_options: { include_usage: true },
      }
    : {
        model: MODEL,
        prompt: `Short prompt ${i} ${Math.floor(random() * 1e9)}`,
        max_tokens: 4 + Math.floor(random() * 12),
        stream: true,
        stream_options: { include_usage: true },
      };
  const started = performance.now();
  const res = await fetch(`${base}${shared ? '/v1/chat/completions' : '/v1/completions'}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  let ttft = Number.NaN;
  let text = '';
  const decoder = new TextDecoder();
  if (res.body !== null) {
    for await (const chunk of res.body) {
      if (Number.isNaN(ttft)) {
        ttft = performance.now() - started;
      }
      text += decoder.decode(chunk as Uint8Array, { stream: true });
    }
  }
  const usageLine = text
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('data: {') && l.includes('"usage":{'));
  const usage = usageLine
    ? ((JSON.parse(usageLine.slice(6)) as { usage?: Record<string, unknown> }).usage ?? {})
    : {};
  const details = (usage['prompt_tokens_details'] ?? {}) as Record<string, unknown>;
  return {
    kind: shared ? 'shared-prefix chat' : 'short completion',
    endpoint: res.headers.get('x-gateway-destination-endpoint-served') ?? '-',
    status: res.status,
    ttftMs: ttft,
    e2eMs: performance.now() - started,
    promptTokens: typeof usage['prompt_tokens'] === 'number' ? usage['prompt_tokens'] : 0,
    cachedTokens: typeof details['cached_tokens'] === 'number' ? details['cached_tokens'] : 0,
  };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) {
    return Number.NaN;
  }
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const silent: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

async function runPolicy(
  policy: PolicyName,
  replicas: number,
  requests: number,
  concurrency: number,
): Promise<Outcome[]> {
  const sims: SimServer[] = [];
  for (let i = 0; i < replicas; i++) {
    // The last replica is three times slower: a router that watches load sends it less.
    const faults = i === replicas - 1 && replicas > 1 ? { slowdown: 3 } : undefined;
    sims.push(
      await startSimServer({
        host: '127.0.0.1',
        port: 0,
        model: MODEL,
        profile: 'qwen2.5-0.5b-l4',
        seed: i + 1,
        ...(faults !== undefined ? { faults } : {}),
      }),
    );
  }
  const options = parseRouterArgs(
    [
      'node',
      'router',
      '--static-endpoints',
      sims.map((s) => `127.0.0.1:${s.port}`).join(','),
      '--policy',
      policy,
      ...LOOPBACK_FLAGS,
      '--secure-serving=false',
    ],
    {},
  );
  const router = await startRouter(options, silent);
  const base = `http://127.0.0.1:${router.ports.http ?? 0}`;
  const random = seeded(42);
  const outcomes: Outcome[] = [];
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < requests) {
          const i = next++;
          outcomes.push(await send(base, i, random));
        }
      }),
    );
  } finally {
    await router.shutdown(5_000);
    await Promise.all(sims.map((s) => s.close()));
  }
  const slowKey = replicas > 1 ? `127.0.0.1:${sims[replicas - 1]?.port ?? 0}` : '';
  printReport(policy, outcomes, sims, slowKey);
  return outcomes;
}

function printReport(
  policy: PolicyName,
  outcomes: readonly Outcome[],
  sims: readonly SimServer[],
  slowKey: string,
): void {
  const fmt = (ms: number): string => (Number.isFinite(ms) ? `${ms.toFixed(1)} ms` : '-');
  console.log(`\n=== policy: ${policy} (${outcomes.length} requests) ===`);
  console.log('where requests went:');
  for (const sim of sims) {
    const key = `127.0.0.1:${sim.port}`;
    const mine = outcomes.filter((o) => o.endpoint === key);
    const shared = mine.filter((o) => o.kind === 'shared-prefix chat').length;
    console.log(
      `  ${key.padEnd(16)} ${String(mine.length).padStart(4)} requests (${shared} shared-prefix chat, ` +
        `${mine.length - shared} short)${key === slowKey ? '   <- 3x slower replica' : ''}`,
    );
  }
  const failed = outcomes.filter((o) => o.status !== 200).length;
  console.log('latencies:');
  for (const kind of ['shared-prefix chat', 'short completion'] as const) {
    const of = outcomes.filter((o) => o.kind === kind && o.status === 200);
    const prompt = of.reduce((s, o) => s + o.promptTokens, 0);
    const cached = of.reduce((s, o) => s + o.cachedTokens, 0);
    console.log(
      `  ${kind.padEnd(19)} n=${String(of.length).padStart(4)}  TTFT p50 ${fmt(
        percentile(
          of.map((o) => o.ttftMs),
          50,
        ),
      )}` +
        `, p90 ${fmt(
          percentile(
            of.map((o) => o.ttftMs),
            90,
          ),
        )}; end-to-end p50 ${fmt(
          percentile(
            of.map((o) => o.e2eMs),
            50,
          ),
        )}` +
        `, p90 ${fmt(
          percentile(
            of.map((o) => o.e2eMs),
            90,
          ),
        )}; prefix-cache hits ${prompt > 0 ? ((100 * cached) / prompt).toFixed(1) : '0'}%`,
    );
  }
  console.log(`  failed: ${failed}`);
}

const values = new Command('demo')
  .description(
    'Simulated vLLM replicas and the router on loopback: a mixed workload per policy, where requests went and their latencies',
  )
  .option('--replicas <n>', 'simulated vLLM replicas', '4')
  .option('--requests <n>', 'requests per policy', '160')
  .option('--concurrency <n>', 'requests in flight', '12')
  .option(
    '--policies <list>',
    `comma-separated policies (${POLICY_NAMES.join(', ')})`,
    'switchyard,round-robin',
  )
  .parse()
  .opts<{ replicas: string; requests: string; concurrency: string; policies: string }>();
const replicas = Number(values.replicas);
const requests = Number(values.requests);
const concurrency = Number(values.concurrency);
const policies = values.policies.split(',').map((p) => p.trim());
for (const [flag, n] of [
  ['--replicas', replicas],
  ['--requests', requests],
  ['--concurrency', concurrency],
] as const) {
  if (!Number.isInteger(n) || n < 1) {
    console.error(`${flag} must be a positive integer`);
    process.exit(2);
  }
}
for (const p of policies) {
  if (!(POLICY_NAMES as readonly string[]).includes(p)) {
    console.error(`--policies: unknown policy "${p}"; expected some of ${POLICY_NAMES.join(', ')}`);
    process.exit(2);
  }
}
console.log(
  `${replicas} simulated replicas of ${MODEL} on 127.0.0.1, the router's HTTP proxy in front; ` +
    `${requests} requests, ${concurrency} at a time: 70% chat sharing one of ${SHARED_GROUPS} long system prompts, ` +
    `30% short completions, all streamed.`,
);
for (const policy of policies as PolicyName[]) {
  await runPolicy(policy, replicas, requests, concurrency);
}
