// The scheduler: admission → filters → weighted scorers → picker, plus local in-flight accounting, the
// approximate prefix index and the optional flow-control queue. Pure: time and randomness come from deps.
// With a disagg-profile-handler the decode profile picks first, and when the decider approves the prefill
// profile picks among the same admitted endpoints.
import { FlowQueue, queueSlackMs } from './flow-queue.ts';
import { buildPlan, type ProfilePlan } from './plan.ts';
import type { PickContext, PrefixMatch, SaturationDetectorPlugin } from './plugins/plugin.ts';
import { PreciseIndex } from './precise-index.ts';
import { hashPromptBlocks, kvBlockHashes, prefixHashSeed } from './prefix-hash.ts';
import { PrefixIndex } from './prefix-index.ts';
import {
  addRecord,
  releaseRecord,
  type EndpointState,
  type InFlightRecord,
  waitingRequestsSeen,
} from './state.ts';
import type {
  Completion,
  DrainOutcome,
  EndpointAccounting,
  Endpoint,
  EnqueueResult,
  FlowDispatch,
  KvCacheEvent,
  PickResult,
  RoutingRequest,
  Scheduler,
  SchedulerConfig,
  SchedulerDeps,
} from './types.ts';

const NO_HASHES = new Float64Array(0);
/** Output length assumed for requests that do not state max tokens. */
const DEFAULT_OUTPUT_TOKENS = 256;
/** Bounds of the learned correction of an endpoint's index capacity (fraction of the reported capacity). */
const MIN_CAPACITY_SCALE = 0.1;
const MAX_CAPACITY_SCALE = 1.5;
const SCALE_DOWN = 0.97;
const SCALE_UP = 1.01;
/** llm-d purges endpoints that left the pool from its prefix index every two minutes. */
const FORGET_AFTER_MS = 120_000;
const SWEEP_EVERY_MS = 30_000;

/** What one scheduling profile decided: the picker's order over its candidates, and the scorers' context. */
interface ProfileRun {
  readonly profile: ProfilePlan;
  readonly context: PickContext;
  /** Weighted score per candidate of `context`. */
  readonly totals: Float64Array;
  readonly order: readonly number[];
  readonly primaryAt: number;
  readonly primary: Endpoint;
  readonly primaryState: EndpointState;
}

export function createScheduler(config: SchedulerConfig, deps: SchedulerDeps): Scheduler {
  const plan = buildPlan(config);
  const producer = plan.prefix;
  /** The approximate index (routing history); undefined in precise mode. */
  const index = producer === undefined || producer.precise ? undefined : new PrefixIndex();
  /** The precise index (KV-cache events); undefined in approximate mode. */
  const precise = producer?.precise === true ? new PreciseIndex() : undefined;
  const holdsInFlight = producer?.learnFromCompletions === true;
  const states = new Map<string, EndpointState>();
  /** Ids of forgotten endpoints, reused so the index's per-endpoint tables stay dense. */
  const freeIds: number[] = [];
  let lastSweepMs = Number.NEGATIVE_INFINITY;
  /** Learned capacity correction per endpoint id (1 = trust the reported capacity). */
  const capacityScale: number[] = [];
  const inFlight = new Map<string, InFlightRecord>();
  const seeds = new Map<string, number>();
  const flow = config.flowControl;
  const queue = flow === undefined ? undefined : new FlowQueue(flow.fairness);

  function stateOf(key: string, nowMs: number = deps.now()): EndpointState {
    let state = states.get(key);
    if (state === undefined) {
      state = {
        id: freeIds.pop() ?? states.size,
        lastSeenMs: nowMs,
        key,
        records: [],
        inFlightRequests: 0,
        inFlightPromptTokens: 0,
        inFlightUncachedTokens: 0,
        inFlightOutputTokens: 0,
        version: 0,
        queuedMemo: undefined,
        sinceScrapeMemo: undefined,
      };
      states.set(key, state);
      capacityScale[state.id] = 1;
      if (index !== undefined && producer !== undefined)
        index.setCapacity(state.id, producer.lruCapacityPerServer);
    }
    return state;
  }

  /**
   * Forgets endpoints absent from the snapshots for FORGET_AFTER_MS and with nothing in flight (pods that
   * left the pool), so state and index stay bounded under endpoint churn. Looks at the snapshot at most every
   * SWEEP_EVERY_MS, which keeps the cost off the common pick.
   */
  function sweep(endpoints: readonly Endpoint[], now: number): void {
    if (now - lastSweepMs < SWEEP_EVERY_MS) return;
    lastSweepMs = now;
    for (const e of endpoints) {
      const state = states.get(e.key);
      if (state !== undefined) state.lastSeenMs = now;
    }
    for (const state of [...states.values()]) {
      if (now - state.lastSeenMs < FORGET_AFTER_MS || state.inFlightRequests > 0) continue;
      states.delete(state.key);
      index?.clear(state.id);
      precise?.clear(state.id);
      index?.setCapacity(state.id, 0);
      capacityScale[state.id] = 1;
      freeIds.push(state.id);
    }
  }

  function syncCapacity(endpoint: Endpoint, state: EndpointState): void {
    if (index === undefined || producer === undefined) return;
    const metrics = endpoint.metrics;
    /** The engine's KV capacity in index blocks, when its metrics report it. */
    const engineBlocks =
      metrics?.kvCacheCapacityBlocks !== undefined && metrics.kvBlockSize !== undefined
        ? Math.floor((metrics.kvCacheCapacityBlocks * metrics.kvBlockSize) / producer.blockSizeTokens)
        : undefined;
    const reported =
      producer.autoTune && engineBlocks !== undefined ? engineBlocks : producer.lruCapacityPerServer;
    let capacity = Math.max(1, Math.floor(reported * (capacityScale[state.id] ?? 1)));
    // Learning only ever hears of blocks the engine no longer had where the index sent the request; of a
    // prefix the index forgot while the engine kept it, it hears nothing (the request went elsewhere). Left
    // alone it shrinks the index below what the engine can hold and scatters prefixes the engines still keep,
    // so the engine's own capacity is the floor.
    if (engineBlocks !== undefined) capacity = Math.max(capacity, Math.min(reported, engineBlocks));
    if (index.capacity(state.id) !== capacity) index.setCapacity(state.id, capacity);
  }

  function saturationOf(
    detector: SaturationDetectorPlugin,
    endpoints: readonly Endpoint[],
    now: number,
  ): number {
    if (endpoints.length === 0) return Number.POSITIVE_INFINITY;
    let sum = 0;
    for (const e of endpoints) sum += detector.endpointSaturation(e, states.get(e.key), now);
    return sum / endpoints.length;
  }

  function hashesFor(request: RoutingRequest): Float64Array {
    if (producer === undefined) return NO_HASHES;
    if (producer.precise) {
      return kvBlockHashes(
        request.promptTokens,
        producer.blockSizeTokens,
        producer.hashSeed,
        producer.maxPrefixBlocksToMatch,
      );
    }
    let seed = seeds.get(request.model);
    if (seed === undefined) {
      seed = prefixHashSeed(request.model);
      if (seeds.size < 10_000) seeds.set(request.model, seed);
    }
    return hashPromptBlocks(
      request.promptTokens,
      seed,
      producer.blockSizeTokens,
      producer.maxPrefixBlocksToMatch,
    );
  }

  /**
   * The prefix match of a prompt over candidates with index ids `ids`. Prefix counts (approximate index only)
   * are counted when a scorer first reads them: only the placement scorer does, and only for prompts nobody
   * holds.
   */
  function prefixMatchOf(
    hashes: Float64Array,
    matchedBlocks: Int32Array,
    ids: readonly number[],
    blockSize: number,
  ): PrefixMatch {
    const approximate = index;
    if (approximate === undefined) return { blockSize, hashes, matchedBlocks };
    let held: Int32Array | undefined;
    return {
      blockSize,
      hashes,
      matchedBlocks,
      get prefixesHeld() {
        held ??= Int32Array.from(ids, (id) => approximate.prefixes(id));
        return held;
      },
    };
  }

  /**
   * Runs one scheduling profile over the admitted candidates: filters, context filters, weighted scorers,
   * picker. Undefined when it leaves no endpoint.
   */
  function runProfile(
    profile: ProfilePlan,
    request: RoutingRequest,
    admitted: readonly Endpoint[],
    now: number,
    promptHashes: () => Float64Array,
  ): ProfileRun | undefined {
    let candidates = admitted;
    for (const filter of profile.filters) {
      if (filter.kind === 'filter') candidates = filter.filter(request, candidates, now);
      else {
        const kept = candidates.filter(
          (e) => filter.endpointSaturation(e, states.get(e.key), now) <= filter.filterLimit,
        );
        if (kept.length > 0) candidates = kept; // fail open when every endpoint is saturated
      }
      if (candidates.length === 0) return undefined;
    }

    let candidateStates = candidates.map((e) => {
      const state = stateOf(e.key, now);
      syncCapacity(e, state);
      return state;
    });
    let prefixMatch: PrefixMatch | undefined;
    let context: PickContext = {
      request,
      nowMs: now,
      candidates,
      states: candidateStates,
      prefix() {
        if (prefixMatch === undefined && producer !== undefined) {
          const hashes = promptHashes();
          const matchedBlocks = new Int32Array(candidates.length);
          const ids = candidateStates.map((s) => s.id);
          if (precise !== undefined) precise.match(hashes, ids, matchedBlocks);
          else index?.match(hashes, ids, matchedBlocks);
          prefixMatch = prefixMatchOf(hashes, matchedBlocks, ids, producer.blockSizeTokens);
        }
        return prefixMatch;
      },
    };
    for (const filter of profile.contextFilters) {
      const kept = filter.keep(context, deps.random);
      if (kept.length === candidates.length) continue;
      if (kept.length === 0) return undefined;
      const match = context.prefix();
      candidates = kept.map((i) => candidates[i] as Endpoint);
      candidateStates = kept.map((i) => candidateStates[i] as EndpointState);
      prefixMatch =
        match === undefined
          ? undefined
          : prefixMatchOf(
              match.hashes,
              Int32Array.from(kept, (i) => match.matchedBlocks[i] ?? 0),
              candidateStates.map((state) => state.id),
              match.blockSize,
            );
      const narrowedMatch = prefixMatch;
      context = { ...context, candidates, states: candidateStates, prefix: () => narrowedMatch };
    }

    const totals = new Float64Array(candidates.length);
    const scratch = new Float64Array(candidates.length);
    for (const { scorer, weight } of profile.scorers) {
      scorer.score(context, scratch);
      for (let i = 0; i < totals.length; i++) {
        const s = scratch[i] ?? 0;
        totals[i] = (totals[i] ?? 0) + weight * (s > 1 ? 1 : s > 0 ? s : 0);
      }
    }
    const order = profile.picker.pick(totals, deps.random);
    const primaryAt = order[0] ?? -1;
    const primary = candidates[primaryAt];
    const primaryState = candidateStates[primaryAt];
    if (primary === undefined || primaryState === undefined) return undefined;
    return { profile, context, totals, order, primaryAt, primary, primaryState };
  }

  /** Leading prompt blocks the prefix index places on the profile's primary endpoint. */
  function predictedBlocksOf(run: ProfileRun): number {
    const match = producer === undefined ? undefined : run.context.prefix();
    return match?.matchedBlocks[run.primaryAt] ?? 0;
  }

  /**
   * Records the request as in flight on the profile's primary endpoint (`uncachedTokens` of its prompt to
   * compute there), inserts or holds its blocks there in the index, and tells the profile's scorers.
   */
  function track(
    request: RoutingRequest,
    run: ProfileRun,
    now: number,
    uncachedTokens: number,
    outputTokens: number,
    prefill?: InFlightRecord,
  ): InFlightRecord {
    const hashes = producer === undefined ? NO_HASHES : (run.context.prefix()?.hashes ?? NO_HASHES);
    const record: InFlightRecord = {
      requestId: request.id,
      endpointKey: run.primary.key,
      pickedAtMs: now,
      promptTokens: request.promptTokens.length,
      uncachedTokens,
      outputTokens,
      hashes,
      predictedBlocks: predictedBlocksOf(run),
      active: true,
      prefill,
    };
    addRecord(run.primaryState, record);
    if (holdsInFlight) index?.hold(run.primaryState.id, hashes);
    else index?.insert(run.primaryState.id, hashes);
    for (const { scorer } of run.profile.scorers) scorer.picked?.(run.context, run.primaryAt);
    return record;
  }

  /** Prompt tokens the profile's primary endpoint would compute itself, by the prefix index. */
  function uncachedTokensAt(run: ProfileRun, request: RoutingRequest): number {
    const promptTokens = request.promptTokens.length;
    return promptTokens - Math.min(promptTokens, predictedBlocksOf(run) * (producer?.blockSizeTokens ?? 0));
  }

  function pick(request: RoutingRequest, endpoints: readonly Endpoint[]): PickResult {
    const now = deps.now();
    sweep(endpoints, now);
    let admitted: readonly Endpoint[] = endpoints;
    if (request.subset !== undefined) {
      const allowed = new Set(request.subset);
      admitted = endpoints.filter((e) => allowed.has(e.key));
    }
    if (admitted.length === 0) return { kind: 'rejected', status: 503, reason: 'rejected-no-endpoints' };
    if (request.priority < 0 && saturationOf(plan.detector, admitted, now) >= 1) {
      return { kind: 'rejected', status: 429, reason: 'rejected-saturated' };
    }
    let hashes: Float64Array | undefined;
    const promptHashes = (): Float64Array => (hashes ??= hashesFor(request));
    const decode = runProfile(plan, request, admitted, now, promptHashes);
    if (decode === undefined) return { kind: 'rejected', status: 503, reason: 'rejected-no-endpoints' };

    const disagg = plan.disagg;
    let prefill: ProfileRun | undefined;
    const decodeUncached = uncachedTokensAt(decode, request);
    if (
      disagg?.prefill !== undefined &&
      disagg.decider?.disaggregate(
        request.promptTokens.length,
        request.promptTokens.length - decodeUncached,
      ) === true
    ) {
      prefill = runProfile(disagg.prefill, request, admitted, now, promptHashes);
      // A pod in both roles picked twice prefills for itself: no KV transfer needed.
      if (prefill?.primary.key === decode.primary.key) prefill = undefined;
    }

    releaseIfPresent(request.id);
    const outputTokens = request.maxOutputTokens ?? DEFAULT_OUTPUT_TOKENS;
    const prefillRecord =
      prefill === undefined ? undefined : track(request, prefill, now, uncachedTokensAt(prefill, request), 1);
    // With a remote prefill the decode endpoint receives the prompt's KV cache instead of computing it.
    const record = track(
      request,
      decode,
      now,
      prefillRecord === undefined ? decodeUncached : 0,
      outputTokens,
      prefillRecord,
    );
    inFlight.set(request.id, record);

    const scores = new Map<string, number>();
    const { context, totals, order } = decode;
    context.candidates.forEach((e, i) => scores.set(e.key, totals[i] ?? 0));
    const chosen = order.map((i) => context.candidates[i]).filter((e) => e !== undefined);
    if (disagg === undefined) return { kind: 'picked', endpoints: chosen, scores };
    return prefill === undefined
      ? { kind: 'picked', endpoints: chosen, scores, disaggregation: 'decode-only' }
      : {
          kind: 'picked',
          endpoints: chosen,
          scores,
          prefill: prefill.primary,
          disaggregation: 'prefill-decode',
        };
  }

  function release(record: InFlightRecord): void {
    const state = states.get(record.endpointKey);
    if (state !== undefined) {
      releaseRecord(state, record);
      if (holdsInFlight) index?.release(state.id, record.hashes);
    }
  }

  function releaseIfPresent(requestId: string): InFlightRecord | undefined {
    const record = inFlight.get(requestId);
    if (record === undefined) return undefined;
    inFlight.delete(requestId);
    release(record);
    if (record.prefill !== undefined) release(record.prefill);
    return record;
  }

  function complete(requestId: string, completion: Completion): void {
    const record = releaseIfPresent(requestId);
    if (record !== undefined) {
      const now = deps.now();
      for (const { scorer } of plan.scorers)
        scorer.completed?.(requestId, record.endpointKey, now, completion.ok, completion);
      // Decode first: it was picked last, and a scorer instance both profiles share keeps its latest charge.
      const prefillKey = record.prefill?.endpointKey;
      if (prefillKey !== undefined) {
        for (const { scorer } of plan.disagg?.prefill?.scorers ?? [])
          scorer.completed?.(requestId, prefillKey, now, completion.ok, completion);
      }
    }
    if (record === undefined || index === undefined || producer === undefined || record.hashes.length === 0)
      return;
    const picked = states.get(record.endpointKey);
    if (picked === undefined) return;
    if (completion.servedBy !== undefined && completion.servedBy !== picked.key) {
      // The data plane fell back to another endpoint: the blocks live there, not where we sent them.
      index.remove(picked.id, record.hashes, record.predictedBlocks);
      index.insert(stateOf(completion.servedBy).id, record.hashes);
      return;
    }
    if (!completion.ok && completion.cachedTokens === undefined) {
      index.remove(picked.id, record.hashes, record.predictedBlocks);
      const prefill = record.prefill;
      const prefillState = prefill === undefined ? undefined : states.get(prefill.endpointKey);
      if (prefill !== undefined && prefillState !== undefined) {
        index.remove(prefillState.id, prefill.hashes, prefill.predictedBlocks);
      }
      return;
    }
    // After a remote prefill the engine's cached tokens say what it received, not what its own cache held.
    if (
      !producer.learnFromCompletions ||
      completion.cachedTokens === undefined ||
      record.prefill !== undefined
    )
      return;
    const actualBlocks = Math.floor(completion.cachedTokens / producer.blockSizeTokens);
    const scale = capacityScale[picked.id] ?? 1;
    if (actualBlocks < record.predictedBlocks) {
      // The index believed in blocks the engine had already evicted: it overestimates what fits.
      capacityScale[picked.id] = Math.max(MIN_CAPACITY_SCALE, scale * SCALE_DOWN);
    } else if (actualBlocks > record.predictedBlocks) {
      // The engine held more than we knew (another router replica, or a too small capacity).
      capacityScale[picked.id] = Math.min(MAX_CAPACITY_SCALE, scale * SCALE_UP);
    }
  }

  function firstToken(requestId: string): void {
    const record = inFlight.get(requestId);
    if (record === undefined) return;
    const now = deps.now();
    for (const { scorer } of plan.scorers) scorer.firstToken?.(requestId, record.endpointKey, now);
  }

  function saturation(endpoints: readonly Endpoint[]): number {
    return saturationOf(plan.detector, endpoints, deps.now());
  }

  function enqueue(request: RoutingRequest): EnqueueResult {
    if (queue === undefined || flow === undefined) {
      throw new Error('enqueue needs a flowControl section in the scheduler configuration');
    }
    if (queue.size >= flow.maxQueuedRequests) {
      return { kind: 'rejected', status: 429, reason: 'rejected-queue-full' };
    }
    if (queue.has(request.id)) throw new Error(`request "${request.id}" is already queued`);
    const now = deps.now();
    return { kind: 'queued', ticket: queue.push(request, now, now + queueSlackMs(flow.ordering, request)) };
  }

  function drain(endpoints: readonly Endpoint[]): readonly DrainOutcome[] {
    if (queue === undefined || flow === undefined) return [];
    const now = deps.now();
    const outcomes: DrainOutcome[] = [];
    for (const entry of queue.olderThan(now - flow.requestTtlMs)) {
      queue.remove(entry.request.id);
      outcomes.push({
        request: entry.request,
        waitedMs: now - entry.ticket.enqueuedAtMs,
        result:
          endpoints.length === 0
            ? { kind: 'rejected', status: 503, reason: 'rejected-no-endpoints' }
            : { kind: 'rejected', status: 429, reason: 'rejected-ttl-expired' },
      });
    }
    while (queue.size > 0 && endpoints.length > 0 && mayDispatch(flow.dispatch, endpoints, now)) {
      const entry = queue.shift();
      if (entry === undefined) break;
      outcomes.push({
        request: entry.request,
        waitedMs: now - entry.ticket.enqueuedAtMs,
        result: pick(entry.request, endpoints),
      });
    }
    return outcomes;
  }

  /** Whether the flow control's dispatch rule lets the next queued request go now. */
  function mayDispatch(rule: FlowDispatch, endpoints: readonly Endpoint[], now: number): boolean {
    if (rule.type === 'pool-saturation') return saturationOf(plan.detector, endpoints, now) < 1;
    return endpoints.some((e) => {
      const metrics = e.metrics;
      if (metrics === undefined || now - metrics.scrapedAtMs > rule.metricsStalenessMs) return false;
      return waitingRequestsSeen(states.get(e.key), e) < rule.maxWaitingRequests;
    });
  }

  function cancel(requestId: string): boolean {
    return queue?.remove(requestId) !== undefined;
  }

  function accounting(): readonly EndpointAccounting[] {
    return [...states.values()].map((s) => ({
      key: s.key,
      inFlightRequests: s.inFlightRequests,
      inFlightUncachedTokens: s.inFlightUncachedTokens,
      indexedBlocks: index?.size(s.id) ?? precise?.size(s.id) ?? 0,
      indexCapacityBlocks: index?.capacity(s.id) ?? 0,
    }));
  }

  function applyKvEvents(endpointKey: string, events: readonly KvCacheEvent[]): void {
    if (precise === undefined) return;
    const id = stateOf(endpointKey).id;
    for (const event of events) precise.apply(id, event);
  }

  return {
    pick,
    complete,
    firstToken,
    applyKvEvents,
    saturation,
    enqueue,
    drain,
    cancel,
    queuedRequests: () => queue?.size ?? 0,
    accounting,
  };
}
