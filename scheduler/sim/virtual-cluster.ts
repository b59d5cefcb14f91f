// Discrete-event simulation of N engine replicas behind a router, in virtual time and in one thread. The
// router is called synchronously at each arrival with endpoint snapshots whose metrics were last refreshed on
// the scrape schedule (so they are up to one interval stale, as in llm-d), and hears about each completion
// with the usage the engine reported. Nothing here reads the wall clock, so equal inputs give equal outputs.

import type {
  Completion,
  DrainOutcome,
  EnqueueResult,
  Endpoint,
  EndpointMetrics,
  KvCacheEvent,
  PickResult,
  RoutingRequest,
} from '../core/types.ts';
import { Engine, EngineRequestError, type EnginePrompt } from './engine.ts';
import type { EngineProfile } from './profiles.ts';
import { createRandom } from './random.ts';

export interface VirtualRequest {
  readonly id: string;
  readonly arrivalMs: number;
  readonly model: string;
  /** Prompt token ids as the router sees them. */
  readonly promptTokens: Uint32Array;
  /** The same prompt hashed at the engine's block size (shared between requests with equal prompts). */
  readonly prompt: EnginePrompt;
  readonly outputTokens: number;
  readonly sessionId?: string;
  /** InferenceObjective priority (default 0; negative is sheddable). */
  readonly priority?: number;
}

/** What the cluster needs from a router: the core scheduler's pick and complete, and its KV-event intake. */
export interface VirtualRouter {
  pick(request: RoutingRequest, endpoints: readonly Endpoint[]): PickResult;
  complete(requestId: string, completion: Completion): void;
  /** Told when a request's first token is out (the end of the step that produced it). */
  firstToken?(requestId: string): void;
  /** Receives each replica's KV-cache events at the end of every step that produced some. */
  applyKvEvents?(endpointKey: string, events: readonly KvCacheEvent[]): void;
  /** Flow control (used when the options set `flowControl`): queue a request, dispatch what may go now. */
  enqueue?(request: RoutingRequest): EnqueueResult;
  drain?(endpoints: readonly Endpoint[]): readonly DrainOutcome[];
  /** Removes a queued request whose client gave up. */
  cancel?(requestId: string): boolean;
}

type FlowControlRouter = Required<Pick<VirtualRouter, 'enqueue' | 'drain' | 'cancel'>>;

function queueOf(router: VirtualRouter): FlowControlRouter {
  const { enqueue, drain, cancel } = router;
  if (enqueue === undefined || drain === undefined || cancel === undefined) {
    throw new Error('flowControl needs a router with enqueue, drain and cancel');
  }
  return { enqueue, drain, cancel };
}

/** Collects a block pool's stores and evictions as KV-cache events, consecutive ones of a kind merged. */
class KvEventBuffer {
  events: { type: 'stored' | 'removed'; blockHashes: number[] }[] = [];
  stored(hash: number): void {
    this.#push('stored', hash);
  }
  removed(hash: number): void {
    this.#push('removed', hash);
  }
  #push(type: 'stored' | 'removed', hash: number): void {
    const last = this.events.at(-1);
    if (last?.type === type) last.blockHashes.push(hash);
    else this.events.push({ type, blockHashes: [hash] });
  }
}

export type OutcomeStatus = 'ok' | 'rejected' | 'failed';

export interface RequestOutcome {
  readonly id: string;
  readonly status: OutcomeStatus;
  /** Index of the replica that served it, -1 when rejected. */
  readonly replica: number;
  readonly arrivalMs: number;
  /** -1 when no token was produced. */
  readonly firstTokenMs: number;
  /** Completion, failure or rejection time. */
  readonly endMs: number;
  readonly promptTokens: number;
  readonly outputTokens: number;
  /** Block-quantised prompt tokens found in the replica's prefix cache; 0 when never admitted. */
  readonly cachedTokens: number;
  /** The request's priority (0 when it named none). */
  readonly priority: number;
}

export interface VirtualClusterOptions {
  readonly profile: EngineProfile;
  readonly replicas: number;
  readonly router: VirtualRouter;
  /** Metrics refresh period of the router's view (llm-d default 50 ms). */
  readonly scrapeIntervalMs?: number;
  /**
   * Time from reading an engine's published gauges to the router using them: the scrape's HTTP round trip,
   * vLLM rendering /metrics and the gateway parsing it (default 0).
   */
  readonly metricsDelayMs?: number;
  /** A request not finished this long after arrival is aborted and counted as failed (inference-perf: 300 s). */
  readonly requestTimeoutMs?: number;
  /** Set to the virtual time before every router call, for routers whose clock reads it. */
  readonly clock?: { nowMs: number };
  /** Interval over which generated tokens and completions are counted (all requests, not only measured ones). */
  readonly window?: { readonly startMs: number; readonly endMs: number };
  /**
   * Arrivals go through the router's flow-control queue (its configuration has a flowControl section): it is
   * drained after every engine step and every metrics delivery, as the router drains on completions and
   * metrics refreshes.
   */
  readonly flowControl?: boolean;
  /** Per-replica step-time multipliers (fault injection: slow replicas); default 1 each. */
  readonly slowdowns?: readonly number[];
  /**
   * Replicas that crash: at `atMs` their requests fail and they stop answering; they leave the router's
   * endpoint list at the next scrape (until then, requests sent to them fail at once).
   */
  readonly crashes?: readonly { readonly replica: number; readonly atMs: number }[];
  /** Probability that a replica answers a request with an error at once (seeded by `faultSeed`). */
  readonly errorRate?: number;
  /** Per-replica error probabilities, in place of `errorRate`. */
  readonly errorRates?: readonly number[];
  /**
   * How often a request that failed at once (an error answer, a crashed replica) is sent again to another
   * endpoint, as the router's proxy retries: the router hears the failure, then picks again among the
   * endpoints not tried yet (default 0).
   */
  readonly retries?: number;
  readonly faultSeed?: number;
}

export interface VirtualClusterResult {
  readonly outcomes: readonly RequestOutcome[];
  readonly endMs: number;
  readonly picksPerReplica: readonly number[];
  readonly preemptions: number;
  /**
   * Highest KV-cache usage (vllm:kv_cache_usage_perc) any replica published at a step end while the play's
   * requests were still arriving: at 1, arrivals met a replica out of KV memory. (Once they have all arrived,
   * growing outputs fill the cache in any case; that shows as preemptions.)
   */
  readonly peakKvCacheUsage: number;
  readonly engineSteps: number;
  /** Tokens generated by any request in steps that ended inside `window`. */
  readonly windowOutputTokens: number;
  /** Requests that finished successfully inside `window`. */
  readonly windowCompletions: number;
}

interface Tracked {
  readonly request: VirtualRequest;
  readonly replica: number;
}

export function endpointKey(replica: number): string {
  return `10.0.${String(replica >> 8)}.${String(replica & 255)}:8000`;
}

/**
 * A cluster that keeps its engines, caches and clocks between calls of `play`: inference-perf's sequential
 * stages run on one cluster, each drained before the next starts.
 */
export interface VirtualCluster {
  /**
   * Plays `requests` (sorted by arrival, arrivals at or after `nowMs`) until every one has finished, failed or
   * been rejected, and returns their outcomes; `window` counts generated tokens and completions (default: the
   * whole play).
   */
  play(
    requests: readonly VirtualRequest[],
    window?: { readonly startMs: number; readonly endMs: number },
  ): VirtualClusterResult;
  /** Virtual time of the last event played. */
  readonly nowMs: number;
  /** The engines, for inspection. */
  readonly engines: readonly Engine[];
}

export function runVirtualCluster(
  requests: readonly VirtualRequest[],
  options: VirtualClusterOptions,
): VirtualClusterResult {
  return createVirtualCluster(options).play(requests, options.window);
}

export function createVirtualCluster(options: VirtualClusterOptions): VirtualCluster {
  const { profile, replicas, router } = options;
  const scrapeIntervalMs = options.scrapeIntervalMs ?? 50;
  const metricsDelayMs = options.metricsDelayMs ?? 0;
  if (!(metricsDelayMs >= 0)) throw new RangeError('metricsDelayMs must be at least 0');
  const timeoutMs = options.requestTimeoutMs ?? 300_000;
  if (!Number.isInteger(replicas) || replicas < 1)
    throw new RangeError('replicas must be a positive integer');

  const flowControl = options.flowControl === true ? queueOf(router) : undefined;
  const engines = Array.from(
    { length: replicas },
    (_, i) => new Engine(profile, { slowdown: options.slowdowns?.[i] ?? 1 }),
  );
  const keys = engines.map((_, i) => endpointKey(i));
  const kvEvents =
    router.applyKvEvents === undefined
      ? undefined
      : engines.map((engine) => {
          const buffer = new KvEventBuffer();
          engine.pool.listener = buffer;
          return buffer;
        });
  const publishKvEvents = (replica: number): void => {
    const buffer = kvEvents?.[replica];
    if (buffer === undefined || buffer.events.length === 0) return;
    const events = buffer.events;
    buffer.events = [];
    router.applyKvEvents?.(keys[replica] as string, events);
  };
  const replicaOfKey = new Map(keys.map((key, i) => [key, i]));
  const stepEnd = new Float64Array(replicas).fill(Number.POSITIVE_INFINITY);
  const picksPerReplica = new Array<number>(replicas).fill(0);
  const tracked = new Map<string, Tracked>();
  let outcomes: RequestOutcome[] = [];
  let endpoints: Endpoint[] = [];
  let windowStart = 0;
  let windowEnd = Number.POSITIVE_INFINITY;
  let windowOutputTokens = 0;
  let windowCompletions = 0;
  let peakKvCacheUsage = 0;
  let arrivalsPending = false;

  const down = new Array<boolean>(replicas).fill(false);
  const crashes = [...(options.crashes ?? [])].sort((a, b) => a.atMs - b.atMs);
  for (const crash of crashes) {
    if (!(Number.isInteger(crash.replica) && crash.replica >= 0 && crash.replica < replicas)) {
      throw new RangeError(`crash of replica ${String(crash.replica)}: no such replica`);
    }
  }
  const errorRateOf = (replica: number): number => options.errorRates?.[replica] ?? options.errorRate ?? 0;
  const retries = options.retries ?? 0;
  const faultRandom = createRandom(options.faultSeed ?? 0);

  /** Scrapes read but not yet delivered to the router, oldest first. */
  const inTransit: { readonly deliverAtMs: number; readonly endpoints: Endpoint[] }[] = [];
  const scrape = (now: number): void => {
    const read = engines.flatMap((engine, i) => {
      if (down[i] === true) return [];
      const metrics: EndpointMetrics = {
        waitingRequests: engine.gauges.waitingRequests,
        runningRequests: engine.gauges.runningRequests,
        kvCacheUsage: engine.gauges.kvCacheUsage,
        kvCacheCapacityBlocks: profile.numGpuBlocks,
        kvBlockSize: profile.blockSize,
        activeLoras: [],
        waitingLoras: [],
        maxLoras: 0,
        scrapedAtMs: now,
      };
      return {
        key: keys[i] as string,
        address: `10.0.${String(i >> 8)}.${String(i & 255)}`,
        port: 8000,
        labels: {},
        metrics,
      };
    });
    if (metricsDelayMs === 0) endpoints = read;
    else inTransit.push({ deliverAtMs: now + metricsDelayMs, endpoints: read });
  };

  const kick = (replica: number, now: number): void => {
    const engine = engines[replica] as Engine;
    if (engine.stepInProgress) return;
    const duration = engine.startStep(now);
    if (duration !== undefined) stepEnd[replica] = now + duration;
  };

  const finishStep = (replica: number): void => {
    const engine = engines[replica] as Engine;
    const now = stepEnd[replica] as number;
    stepEnd[replica] = Number.POSITIVE_INFINITY;
    const outcome = engine.finishStep();
    if (arrivalsPending && engine.gauges.kvCacheUsage > peakKvCacheUsage) {
      peakKvCacheUsage = engine.gauges.kvCacheUsage;
    }
    if (now >= windowStart && now < windowEnd) {
      windowOutputTokens += outcome.produced.length;
      windowCompletions += outcome.finished.length;
    }
    if (router.firstToken !== undefined) {
      for (const sequence of outcome.produced) {
        if (sequence.generatedTokens === 1 && tracked.has(sequence.id)) router.firstToken(sequence.id);
      }
    }
    for (const sequence of outcome.finished) {
      const entry = tracked.get(sequence.id);
      if (entry === undefined) continue;
      tracked.delete(sequence.id);
      outcomes.push({
        id: sequence.id,
        status: 'ok',
        replica,
        arrivalMs: entry.request.arrivalMs,
        firstTokenMs: sequence.firstTokenMs,
        endMs: now,
        promptTokens: sequence.promptTokens,
        outputTokens: sequence.generatedTokens,
        cachedTokens: Math.max(0, sequence.cachedTokens),
        priority: entry.request.priority ?? 0,
      });
      router.complete(sequence.id, {
        ok: true,
        promptTokens: sequence.promptTokens,
        completionTokens: sequence.generatedTokens,
        cachedTokens: Math.max(0, sequence.cachedTokens),
      });
    }
    kick(replica, now);
    publishKvEvents(replica);
  };

  const fail = (
    request: VirtualRequest,
    replica: number,
    now: number,
    firstTokenMs: number,
    cached: number,
  ) => {
    outcomes.push({
      id: request.id,
      status: 'failed',
      replica,
      arrivalMs: request.arrivalMs,
      firstTokenMs,
      endMs: now,
      promptTokens: request.prompt.length,
      outputTokens: 0,
      cachedTokens: cached,
      priority: request.priority ?? 0,
    });
    router.complete(request.id, { ok: false });
  };

  const routingRequest = (request: VirtualRequest): RoutingRequest => ({
    id: request.id,
    model: request.model,
    priority: request.priority ?? 0,
    fairnessId: 'default-flow',
    promptTokens: request.promptTokens,
    maxOutputTokens: request.outputTokens,
    ...(request.sessionId === undefined ? {} : { sessionId: request.sessionId }),
  });
  const queued = new Map<string, VirtualRequest>();
  const drainQueue = (now: number): void => {
    if (flowControl === undefined || queued.size === 0) return;
    for (const outcome of flowControl.drain(endpoints)) {
      const request = queued.get(outcome.request.id);
      if (request === undefined) continue;
      queued.delete(request.id);
      dispatch(request, now, outcome.result);
    }
  };
  const arrive = (request: VirtualRequest, now: number): void => {
    if (flowControl === undefined) {
      dispatch(request, now, undefined);
      return;
    }
    const result = flowControl.enqueue(routingRequest(request));
    if (result.kind === 'rejected') {
      dispatch(request, now, result);
      return;
    }
    queued.set(request.id, request);
    drainQueue(now);
  };
  const dispatch = (
    request: VirtualRequest,
    now: number,
    first: PickResult | EnqueueResult | undefined,
  ): void => {
    const tried: string[] = [];
    for (let attempt = 0; ; attempt++) {
      const candidates = tried.length === 0 ? endpoints : endpoints.filter((e) => !tried.includes(e.key));
      const result =
        attempt === 0 && first !== undefined ? first : router.pick(routingRequest(request), candidates);
      const target = result.kind === 'picked' ? result.endpoints[0] : undefined;
      const replica = target === undefined ? undefined : replicaOfKey.get(target.key);
      if (replica === undefined) {
        outcomes.push({
          id: request.id,
          status: 'rejected',
          replica: -1,
          arrivalMs: request.arrivalMs,
          firstTokenMs: -1,
          endMs: now,
          promptTokens: request.prompt.length,
          outputTokens: 0,
          cachedTokens: 0,
          priority: request.priority ?? 0,
        });
        if (result.kind === 'picked') router.complete(request.id, { ok: false });
        return;
      }
      picksPerReplica[replica] = (picksPerReplica[replica] as number) + 1;
      const rate = errorRateOf(replica);
      if (down[replica] === true || (rate > 0 && faultRandom.next() < rate)) {
        if (attempt < retries && candidates.length > 1) {
          router.complete(request.id, { ok: false });
          tried.push(keys[replica] as string);
          continue;
        }
        fail(request, replica, now, -1, 0);
        return;
      }
      try {
        (engines[replica] as Engine).add(
          { id: request.id, prompt: request.prompt, outputTokens: request.outputTokens },
          now,
        );
      } catch (error) {
        if (!(error instanceof EngineRequestError)) throw error;
        fail(request, replica, now, -1, 0);
        return;
      }
      tracked.set(request.id, { request, replica });
      kick(replica, now);
      return;
    }
  };

  const expire = (request: VirtualRequest, now: number): void => {
    if (queued.delete(request.id)) {
      flowControl?.cancel(request.id);
      fail(request, -1, now, -1, 0);
      return;
    }
    const entry = tracked.get(request.id);
    if (entry === undefined) return;
    tracked.delete(request.id);
    const engine = engines[entry.replica] as Engine;
    engine.abort(request.id, now);
    fail(request, entry.replica, now, -1, 0);
  };

  const crash = (replica: number, now: number): void => {
    down[replica] = true;
    stepEnd[replica] = Number.POSITIVE_INFINITY;
    (engines[replica] as Engine).abortAll(now);
    for (const [id, entry] of tracked) {
      if (entry.replica !== replica) continue;
      tracked.delete(id);
      fail(entry.request, replica, now, -1, 0);
    }
  };

  scrape(0);
  let nextCrash = 0;
  let nextScrape = scrapeIntervalMs;
  let now = 0;
  let engineSteps = 0;

  const play = (
    requests: readonly VirtualRequest[],
    window?: { readonly startMs: number; readonly endMs: number },
  ): VirtualClusterResult => {
    for (let i = 0; i < requests.length; i++) {
      const arrival = (requests[i] as VirtualRequest).arrivalMs;
      if (arrival < (i === 0 ? now : (requests[i - 1] as VirtualRequest).arrivalMs)) {
        throw new RangeError(
          `requests must be sorted by arrival time, from the cluster's current time on (index ${String(i)})`,
        );
      }
    }
    outcomes = [];
    windowStart = window?.startMs ?? now;
    windowEnd = window?.endMs ?? Number.POSITIVE_INFINITY;
    windowOutputTokens = 0;
    windowCompletions = 0;
    peakKvCacheUsage = 0;
    const stepsBefore = engineSteps;
    const picksBefore = [...picksPerReplica];
    let preemptionsBefore = 0;
    for (const engine of engines) preemptionsBefore += engine.counters.preemptions;
    let nextArrival = 0;
    let nextTimeout = 0;
    for (;;) {
      let stepReplica = -1;
      let stepTime = Number.POSITIVE_INFINITY;
      for (let r = 0; r < replicas; r++) {
        if ((stepEnd[r] as number) < stepTime) {
          stepTime = stepEnd[r] as number;
          stepReplica = r;
        }
      }
      const arrivalTime =
        nextArrival < requests.length ? (requests[nextArrival] as VirtualRequest).arrivalMs : Infinity;
      const timeoutTime =
        nextTimeout < nextArrival
          ? (requests[nextTimeout] as VirtualRequest).arrivalMs + timeoutMs
          : Infinity;
      const busy = stepReplica >= 0 || tracked.size > 0 || queued.size > 0 || nextArrival < requests.length;
      if (!busy) break;
      const crashTime = nextCrash < crashes.length ? (crashes[nextCrash]?.atMs as number) : Infinity;
      const earliest = Math.min(stepTime, arrivalTime, timeoutTime, crashTime);
      const delivery = inTransit[0];
      if (delivery !== undefined && delivery.deliverAtMs <= Math.min(earliest, nextScrape)) {
        now = delivery.deliverAtMs;
        endpoints = delivery.endpoints.filter((e) => down[replicaOfKey.get(e.key) ?? -1] !== true);
        inTransit.shift();
        drainQueue(now);
        continue;
      }
      if (options.clock !== undefined) options.clock.nowMs = Math.min(earliest, nextScrape);
      if (nextScrape <= earliest) {
        now = nextScrape;
        scrape(now);
        nextScrape += scrapeIntervalMs;
        // Idle stretches: jump the scrape clock instead of ticking through them.
        if (nextScrape < earliest - scrapeIntervalMs && Number.isFinite(earliest)) {
          nextScrape += Math.floor((earliest - nextScrape) / scrapeIntervalMs) * scrapeIntervalMs;
        }
        continue;
      }
      if (crashTime === earliest) {
        now = crashTime;
        crash((crashes[nextCrash] as { replica: number }).replica, now);
        nextCrash++;
      } else if (stepTime === earliest) {
        now = stepTime;
        arrivalsPending = nextArrival < requests.length;
        finishStep(stepReplica);
        engineSteps++;
        drainQueue(now);
      } else if (arrivalTime === earliest) {
        now = arrivalTime;
        arrive(requests[nextArrival] as VirtualRequest, now);
        nextArrival++;
      } else {
        now = timeoutTime;
        expire(requests[nextTimeout] as VirtualRequest, now);
        nextTimeout++;
      }
    }

    let preemptions = -preemptionsBefore;
    for (const engine of engines) preemptions += engine.counters.preemptions;
    return {
      outcomes,
      endMs: now,
      picksPerReplica: picksPerReplica.map((picks, i) => picks - (picksBefore[i] ?? 0)),
      preemptions,
      peakKvCacheUsage,
      engineSteps: engineSteps - stepsBefore,
      windowOutputTokens,
      windowCompletions,
    };
  };

  return {
    play,
    get nowMs() {
      return now;
    },
    engines,
  };
}
