// Decision-latency benchmark of the router core, and a memory check of the prefix index.
//   npm run bench:decide -- [--json OUT] [--policy switchyard] [--decisions 3000] [--distinct-prompts 1000000]
// For each endpoint count × prompt length it warms a scheduler with a realistic mix (groups of requests
// sharing long prefixes, endpoints with scraped metrics and in-flight requests), then times single `pick`
// calls (prompt hashing included) into an HDR histogram. The memory check feeds one million distinct prompts
// through one scheduler and reports the index size against its bound.
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Command } from 'commander';
import * as hdr from 'hdr-histogram-js';
import { createScheduler, POLICY_NAMES, policyPresets, type PolicyName } from '../core/index.ts';
import type { Endpoint, RoutingRequest } from '../core/index.ts';
import { encodeKvEventMessage, type EngineKvEvent } from '../datalayer/kv-events/codec.ts';
import { KvEventFeed } from '../datalayer/kv-events/index-feed.ts';

const args = new Command('bench:decide')
  .description(
    'Latency of one scheduling decision at 8-128 endpoints and 1k-32k-token prompts, and the prefix index memory bound',
  )
  .option('--json <file>', 'also write the results as JSON')
  .option('--policy <name>', `policy (${POLICY_NAMES.join(', ')})`, 'switchyard')
  .option('--decisions <n>', 'timed decisions per configuration', '3000')
  .option('--distinct-prompts <n>', 'distinct prompts of the memory check', '1000000')
  .parse()
  .opts<{ json?: string; policy: string; decisions: string; distinctPrompts: string }>();
if (!(POLICY_NAMES as string[]).includes(args.policy)) {
  console.error(`--policy must be one of ${POLICY_NAMES.join(', ')}`);
  process.exit(2);
}
const policy = args.policy as PolicyName;
const decisions = Number(args.decisions);
const distinctPrompts = Number(args.distinctPrompts);

/** Qwen3-32B on H100 TP2: 307,328 KV tokens per replica (19,208 blocks of 16). */
const KV_BLOCKS = 19_208;
const KV_BLOCK_SIZE = 16;

let seed = 12345;
function random(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 4294967296;
}

function endpoints(count: number, nowMs: number): Endpoint[] {
  return Array.from({ length: count }, (_, i) => ({
    key: `10.1.${i >> 8}.${i & 255}:8000`,
    address: `10.1.${i >> 8}.${i & 255}`,
    port: 8000,
    labels: {},
    metrics: {
      waitingRequests: Math.floor(random() * 4),
      runningRequests: 20 + Math.floor(random() * 40),
      kvCacheUsage: 0.3 + random() * 0.5,
      kvCacheCapacityBlocks: KV_BLOCKS,
      kvBlockSize: KV_BLOCK_SIZE,
      activeLoras: [],
      waitingLoras: [],
      maxLoras: 0,
      scrapedAtMs: nowMs - 25,
    },
  }));
}

/** A prompt of `length` tokens: a shared prefix of the group (3/4 of it), then tokens unique to `id`. */
function prompt(group: number, id: number, length: number): Uint32Array {
  const shared = Math.floor(length * 0.75);
  const tokens = new Uint32Array(length);
  for (let i = 0; i < shared; i++) tokens[i] = (group * 7919 + i * 31) >>> 0;
  for (let i = shared; i < length; i++) tokens[i] = (id * 104_729 + i) >>> 0;
  return tokens;
}

interface DecideRow {
  endpoints: number;
  promptTokens: number;
  /** Wall-clock time of one pick. */
  p50Us: number;
  p99Us: number;
  /** Process CPU time of one pick: excludes time the process was preempted on a busy machine. */
  cpuP50Us: number;
  cpuP99Us: number;
}

function measure(endpointCount: number, promptTokens: number): DecideRow {
  let now = 1_000_000;
  const scheduler = createScheduler(policyPresets[policy], { now: () => now, random });
  let pool = endpoints(endpointCount, now);
  const groups = endpointCount * 4;
  const inFlight: string[] = [];
  let id = 0;
  const request = (): RoutingRequest => {
    id++;
    return {
      id: `r${id}`,
      model: 'Qwen/Qwen3-32B',
      priority: 0,
      fairnessId: 'default-flow',
      promptTokens: prompt(Math.floor(random() * groups), id, promptTokens),
    };
  };
  const step = (timed: hdr.Histogram | undefined, cpuTimed: hdr.Histogram | undefined): void => {
    now += 2;
    // The data layer refreshes metrics every 50 ms; requests arrive every 2 ms.
    if (now % 50 === 0) pool = endpoints(endpointCount, now);
    const r = request();
    const cpuStart = process.cpuUsage();
    const start = process.hrtime.bigint();
    const result = scheduler.pick(r, pool);
    const elapsed = process.hrtime.bigint() - start;
    const cpu = process.cpuUsage(cpuStart);
    timed?.recordValue(Number(elapsed));
    cpuTimed?.recordValue(Math.max(1, cpu.user + cpu.system));
    if (result.kind === 'picked') inFlight.push(r.id);
    // Keep about 30 requests in flight per endpoint, completing the oldest.
    while (inFlight.length > endpointCount * 30) {
      scheduler.complete(inFlight.shift() ?? '', { ok: true, cachedTokens: Math.floor(promptTokens / 2) });
    }
  };
  for (let i = 0; i < Math.max(500, groups * 3); i++) step(undefined, undefined); // warm the index and the JIT
  const build = (): hdr.Histogram =>
    hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 10_000_000_000,
      numberOfSignificantValueDigits: 3,
    });
  const wall = build(); // nanoseconds
  const cpu = build(); // microseconds
  for (let i = 0; i < decisions; i++) step(wall, cpu);
  const row = {
    endpoints: endpointCount,
    promptTokens,
    p50Us: Math.round(wall.getValueAtPercentile(50) / 100) / 10,
    p99Us: Math.round(wall.getValueAtPercentile(99) / 100) / 10,
    cpuP50Us: cpu.getValueAtPercentile(50),
    cpuP99Us: cpu.getValueAtPercentile(99),
  };
  wall.destroy();
  cpu.destroy();
  return row;
}

/** `DecideRow` of picks with the precise producer (prompt hashing and the precise index match included). */
interface KvEventRow extends DecideRow {
  /** One KV-event message (a BlockStored of a whole prompt, with evictions) decoded and applied by the feed. */
  eventP50Us: number;
  eventP99Us: number;
}

/**
 * The KV-event path: the llm-d-precise policy, its index filled only through the KvEventFeed the ZMQ
 * subscriber uses (msgpack messages decoded, token ids re-keyed, engine hashes mapped), each pick followed by
 * the BlockStored message the picked engine would publish (evicting its oldest blocks beyond its capacity).
 */
function measureKvEvents(endpointCount: number, promptTokens: number): KvEventRow {
  let now = 1_000_000;
  const scheduler = createScheduler(policyPresets['llm-d-precise'], { now: () => now, random });
  const feed = new KvEventFeed(scheduler, { blockSize: KV_BLOCK_SIZE, hashSeed: 0 });
  let pool = endpoints(endpointCount, now);
  const groups = endpointCount * 4;
  const held = pool.map(() => [] as bigint[]);
  const sequences = pool.map(() => 0n);
  let nextHash = 1n << 62n;
  let id = 0;
  /** The message the engine at `at` publishes after computing `tokens` (encoding is the engine's cost). */
  const publish = (at: number, tokens: Uint32Array): Buffer[] => {
    const blocks = Math.floor(tokens.length / KV_BLOCK_SIZE);
    const hashes = Array.from({ length: blocks }, () => nextHash++);
    const mine = held[at] ?? [];
    mine.push(...hashes);
    const events: EngineKvEvent[] = [
      {
        type: 'BlockStored',
        blockHashes: hashes,
        parentBlockHash: null,
        tokenIds: Array.from(tokens.subarray(0, blocks * KV_BLOCK_SIZE)),
        blockSize: KV_BLOCK_SIZE,
        loraId: null,
        medium: 'GPU',
        loraName: null,
      },
    ];
    if (mine.length > KV_BLOCKS) {
      events.push({
        type: 'BlockRemoved',
        blockHashes: mine.splice(0, mine.length - KV_BLOCKS),
        medium: 'GPU',
      });
    }
    const sequence = sequences[at] ?? 0n;
    sequences[at] = sequence + 1n;
    return encodeKvEventMessage('kv@bench@Qwen/Qwen3-32B', sequence, events, { ts: 0 });
  };
  const build = (): hdr.Histogram =>
    hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 10_000_000_000,
      numberOfSignificantValueDigits: 3,
    });
  const step = (
    picks: hdr.Histogram | undefined,
    cpuPicks: hdr.Histogram | undefined,
    events: hdr.Histogram | undefined,
  ): void => {
    now += 2;
    if (now % 50 === 0) pool = endpoints(endpointCount, now);
    id++;
    const r: RoutingRequest = {
      id: `r${id}`,
      model: 'Qwen/Qwen3-32B',
      priority: 0,
      fairnessId: 'default-flow',
      promptTokens: prompt(Math.floor(random() * groups), id, promptTokens),
    };
    const cpuStart = process.cpuUsage();
    let start = process.hrtime.bigint();
    const result = scheduler.pick(r, pool);
    picks?.recordValue(Number(process.hrtime.bigint() - start));
    const cpu = process.cpuUsage(cpuStart);
    cpuPicks?.recordValue(Math.max(1, cpu.user + cpu.system));
    scheduler.complete(r.id, { ok: true });
    const picked = result.kind === 'picked' ? result.endpoints[0]?.key : undefined;
    const at = Math.max(
      0,
      pool.findIndex((e) => e.key === picked),
    );
    const frames = publish(at, r.promptTokens);
    start = process.hrtime.bigint();
    feed.message(pool[at]?.key ?? '', frames);
    events?.recordValue(Number(process.hrtime.bigint() - start));
  };
  for (let i = 0; i < Math.max(500, groups * 3); i++) step(undefined, undefined, undefined);
  const picks = build();
  const cpuPicks = build(); // microseconds
  const events = build();
  for (let i = 0; i < decisions; i++) step(picks, cpuPicks, events);
  const us = (h: hdr.Histogram, p: number): number => Math.round(h.getValueAtPercentile(p) / 100) / 10;
  const row = {
    endpoints: endpointCount,
    promptTokens,
    p50Us: us(picks, 50),
    p99Us: us(picks, 99),
    cpuP50Us: cpuPicks.getValueAtPercentile(50),
    cpuP99Us: cpuPicks.getValueAtPercentile(99),
    eventP50Us: us(events, 50),
    eventP99Us: us(events, 99),
  };
  picks.destroy();
  cpuPicks.destroy();
  events.destroy();
  return row;
}

function memoryUsed(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  const usage = process.memoryUsage();
  // The index lives in typed arrays, whose backing stores are counted outside the JavaScript heap.
  return usage.heapUsed + usage.arrayBuffers;
}

interface MemoryReport {
  distinctPrompts: number;
  promptTokens: number;
  endpoints: number;
  indexBlocks: number;
  indexBoundBlocks: number;
  memoryGrowthMiB: number;
  memoryBoundMiB: number;
}

/**
 * Bytes per block of index capacity the bound allows: 29 bytes of node arrays and at most 16 of bucket table
 * per node, the node arrays at most twice the nodes held (doubling) (docs/router.md).
 */
const BYTES_PER_BLOCK_BOUND = 74;
/** Allowance for everything else the scheduler keeps (endpoint states, plugin maps, hash seeds). */
const FIXED_BOUND_BYTES = 1 << 20;

function memoryCheck(): MemoryReport {
  const endpointCount = 8;
  const promptTokens = 1024;
  let now = 0;
  // Equal metrics everywhere, so the prompts spread over every endpoint's index.
  const pool = endpoints(endpointCount, now).map((e) => ({
    ...e,
    metrics: e.metrics === undefined ? undefined : { ...e.metrics, waitingRequests: 0, kvCacheUsage: 0.5 },
  }));
  const scheduler = createScheduler(policyPresets[policy], { now: () => now, random });
  const before = memoryUsed();
  for (let i = 0; i < distinctPrompts; i++) {
    now += 1;
    const tokens = new Uint32Array(promptTokens);
    for (let t = 0; t < promptTokens; t++) tokens[t] = (i * 2_654_435_761 + t) >>> 0;
    const id = `m${i}`;
    scheduler.pick({ id, model: 'Qwen/Qwen3-32B', priority: 0, fairnessId: 'f', promptTokens: tokens }, pool);
    scheduler.complete(id, { ok: true });
  }
  const after = memoryUsed();
  const accounting = scheduler.accounting();
  const indexBlocks = accounting.reduce((s, a) => s + a.indexedBlocks, 0);
  const bound = accounting.reduce((s, a) => s + a.indexCapacityBlocks, 0);
  return {
    distinctPrompts,
    promptTokens,
    endpoints: endpointCount,
    indexBlocks,
    indexBoundBlocks: bound,
    memoryGrowthMiB: Math.round(((after - before) / 2 ** 20) * 10) / 10,
    memoryBoundMiB: Math.round(((bound * BYTES_PER_BLOCK_BOUND + FIXED_BOUND_BYTES) / 2 ** 20) * 10) / 10,
  };
}

const rows: DecideRow[] = [];
console.log(`policy ${policy}: one pick (prompt hashing included), ${decisions} timed decisions per cell`);
console.log('endpoints  promptTokens   p50 µs   p99 µs   cpu p50 µs   cpu p99 µs');
for (const endpointCount of [8, 32, 128]) {
  for (const promptTokens of [1024, 8192, 32_768]) {
    const row = measure(endpointCount, promptTokens);
    rows.push(row);
    console.log(
      `${String(endpointCount).padStart(9)}  ${String(promptTokens).padStart(12)}  ${row.p50Us.toFixed(1).padStart(7)}  ${row.p99Us.toFixed(1).padStart(7)}  ${String(row.cpuP50Us).padStart(11)}  ${String(row.cpuP99Us).padStart(11)}`,
    );
  }
}
const target = rows.find((r) => r.endpoints === 32 && r.promptTokens === 8192);
console.log(
  `target p99 ≤ 250 µs at 32 endpoints / 8k tokens: wall ${target?.p99Us ?? '?'} µs ` +
    `(${target !== undefined && target.p99Us <= 250 ? 'met' : 'missed'}), cpu ${target?.cpuP99Us ?? '?'} µs ` +
    `(${target !== undefined && target.cpuP99Us <= 250 ? 'met' : 'missed'}); ` +
    `load average ${(loadavg()[0] ?? 0).toFixed(1)} on ${availableParallelism()} cores`,
);

const kvEvents = measureKvEvents(32, 8192);
console.log(
  `KV-event path (llm-d-precise, index filled through the KV-event feed) at ${kvEvents.endpoints} endpoints / ` +
    `${kvEvents.promptTokens} tokens: pick p50 ${kvEvents.p50Us.toFixed(1)} µs, p99 ${kvEvents.p99Us.toFixed(1)} µs ` +
    `(${kvEvents.p99Us <= 250 ? 'met' : 'missed'} p99 ≤ 250 µs), cpu p50 ${kvEvents.cpuP50Us} µs, p99 ` +
    `${kvEvents.cpuP99Us} µs (${kvEvents.cpuP99Us <= 250 ? 'met' : 'missed'}); one event message decoded and applied: ` +
    `p50 ${kvEvents.eventP50Us.toFixed(1)} µs, p99 ${kvEvents.eventP99Us.toFixed(1)} µs`,
);

const memory = memoryCheck();
console.log(
  `memory: ${memory.distinctPrompts} distinct ${memory.promptTokens}-token prompts over ${memory.endpoints} endpoints → ` +
    `index ${memory.indexBlocks} blocks (bound ${memory.indexBoundBlocks}), memory growth (heap + array buffers) ${memory.memoryGrowthMiB} MiB ` +
    `(bound ${memory.memoryBoundMiB} MiB): ${memory.indexBlocks <= memory.indexBoundBlocks && memory.memoryGrowthMiB <= memory.memoryBoundMiB ? 'bounded' : 'OVER BOUND'}`,
);

if (args.json !== undefined) {
  writeFileSync(args.json, JSON.stringify({ policy, decide: rows, kvEvents, memory }, null, 2) + '\n');
  console.log(`wrote ${args.json}`);
}
