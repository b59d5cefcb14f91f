// The RoutingService every adapter uses: the core scheduler over the endpoint registry's current snapshot,
// plus the InferenceObjective / InferenceModelRewrite tables that discovery keeps up to date.
// With flow control on, admit() puts requests in the core's queue and settles each one when a drain
// dispatches or expires it; drains run after every enqueue and completion, and on a timer while anything
// waits (which also picks up metric refreshes and fires TTLs).
// Candidates: endpoints ejected by the outlier detector are left out, and so are endpoints whose metrics are
// stale while others have fresh ones (a replica that stopped answering its scrapes is not "idle").
import type { Endpoint, PickResult, RoutingRequest, Scheduler } from '../core/index.ts';
import {
  OutlierDetector,
  type EndpointOutcome,
  type HealthEvent,
  type OutlierConfig,
} from '../core/outlier.ts';
import type { EndpointRegistry } from '../datalayer/endpoint-registry.ts';
import type { PromptTokenizer } from '../datalayer/vllm-tokenizer.ts';
import { applyRewrite, type RewriteRule } from '../datalayer/objectives.ts';
import { requestPriority, type IdentityObjectives } from '../lifecycle/identity-priority.ts';
import { TokenBucket, type RateLimit } from '../lifecycle/rate-limit.ts';
import type {
  CancelSignal,
  ModelRewriteDecision,
  RoutedCompletion,
  RoutingService,
} from '../routing-service.ts';

export interface PoolRoutingServiceOptions {
  readonly scheduler: Scheduler;
  readonly registry: EndpointRegistry;
  /** Model names the pool serves (from flags); empty accepts any model. */
  readonly servedModels?: readonly string[];
  /** Queue requests in the core's flow control (the scheduler config has a `flowControl` section). */
  readonly flowControl?: boolean;
  /** Period of the drain timer while requests wait (default 50 ms, the metrics refresh interval). */
  readonly drainIntervalMs?: number;
  /** Outlier ejection settings (defaults: 3 failures in a row, 2 s doubling up to 30 s). */
  readonly outlier?: Partial<OutlierConfig>;
  /** Metrics older than this count as stale (default 2 s, --metrics-staleness-threshold). */
  readonly stalenessMs?: number;
  /** Clock of the scrape times (default Date.now). */
  readonly now?: () => number;
  /** Told when an endpoint is ejected or recovers (for the log). */
  readonly onHealthEvent?: (event: HealthEvent) => void;
  /** The model's request-rate limit on this router (--rate-limit, --rate-limit-burst). */
  readonly rateLimit?: RateLimit;
  /** Identity-based priority (--identity-header, --identity-objectives). */
  readonly identity?: IdentityObjectives;
  /** Real token ids from a model server (token-producer backend vllm). */
  readonly promptTokenizer?: PromptTokenizer;
}

/** A request waiting in the flow-control queue for its admission promise to settle. */
interface Waiter {
  readonly resolve: (result: PickResult) => void;
  readonly reject: (reason: Error) => void;
  /** Stops listening to the caller's abort signal. */
  readonly detach: () => void;
}

const DEFAULT_DRAIN_INTERVAL_MS = 50;

function abortReason(signal: CancelSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error('admission cancelled: the client went away');
}

export class PoolRoutingService implements RoutingService {
  readonly promptTokenizer: PromptTokenizer | undefined;
  readonly #scheduler: Scheduler;
  readonly #registry: EndpointRegistry;
  readonly #configuredModels: readonly string[];
  #servedModels: readonly string[];
  #priorities: ReadonlyMap<string, number> = new Map();
  readonly #identity: IdentityObjectives | undefined;
  #rules: readonly RewriteRule[] = [];
  /** Routed requests not yet completed: id → endpoint picked. */
  readonly #inFlight = new Map<string, string>();
  readonly #outliers: OutlierDetector;
  readonly #stalenessMs: number;
  readonly #now: () => number;
  readonly #onHealthEvent: ((event: HealthEvent) => void) | undefined;
  readonly #rateLimit: TokenBucket | undefined;
  #knownSnapshot: readonly Endpoint[] | undefined;
  #draining = false;
  readonly #idleWaiters: (() => void)[] = [];
  readonly #flowControl: boolean;
  readonly #drainIntervalMs: number;
  readonly #waiting = new Map<string, Waiter>();
  #drainTimer: NodeJS.Timeout | undefined;

  constructor(opts: PoolRoutingServiceOptions) {
    this.#scheduler = opts.scheduler;
    this.#registry = opts.registry;
    this.#configuredModels = opts.servedModels ?? [];
    this.#servedModels = this.#configuredModels;
    this.#flowControl = opts.flowControl ?? false;
    this.#drainIntervalMs = Math.max(1, opts.drainIntervalMs ?? DEFAULT_DRAIN_INTERVAL_MS);
    this.#outliers = new OutlierDetector(opts.outlier);
    this.#stalenessMs = opts.stalenessMs ?? 2_000;
    this.#now = opts.now ?? Date.now;
    this.#onHealthEvent = opts.onHealthEvent;
    this.#rateLimit = opts.rateLimit === undefined ? undefined : new TokenBucket(opts.rateLimit);
    this.#identity = opts.identity;
    this.promptTokenizer = opts.promptTokenizer;
  }

  takeRateToken(): number | undefined {
    return this.#rateLimit?.take();
  }

  route(request: RoutingRequest): PickResult {
    if (this.#draining) {
      return { kind: 'rejected', status: 503, reason: 'rejected-shutting-down' };
    }
    const result = this.#scheduler.pick(request, this.routableEndpoints());
    if (result.kind === 'picked') {
      this.#picked(request.id, result);
    }
    return result;
  }

  #picked(id: string, result: PickResult & { kind: 'picked' }): void {
    const key = result.endpoints[0]?.key ?? '';
    this.#inFlight.set(id, key);
    this.#outliers.picked(key, id, this.#now());
  }

  routableEndpoints(): readonly Endpoint[] {
    const all = this.#registry.snapshot();
    const now = this.#now();
    if (all !== this.#knownSnapshot) {
      this.#knownSnapshot = all;
      this.#outliers.retain(new Set(all.map((e) => e.key)));
    }
    const healthy = this.#outliers.filter(all, now);
    let fresh: Endpoint[] | undefined;
    for (const e of healthy) {
      if (e.metrics !== undefined && now - e.metrics.scrapedAtMs <= this.#stalenessMs) {
        (fresh ??= []).push(e);
      }
    }
    // Stale or missing metrics say nothing good about an endpoint; use them only when nobody has fresh ones.
    return fresh === undefined || fresh.length === healthy.length ? healthy : fresh;
  }

  /** Records what an attempt outside any routed request showed about an endpoint (a refused scrape). */
  observe(key: string, outcome: EndpointOutcome): void {
    this.#report(this.#outliers.record(key, outcome, this.#now()));
  }

  /** Endpoints ejected right now. */
  ejectedEndpoints(): string[] {
    return this.#outliers.ejected(this.#now());
  }

  #report(event: HealthEvent | undefined): void {
    if (event !== undefined) {
      this.#onHealthEvent?.(event);
    }
  }

  admit(request: RoutingRequest, signal?: CancelSignal): PickResult | Promise<PickResult> {
    if (!this.#flowControl || this.#draining) {
      return this.route(request);
    }
    if (signal?.aborted === true) {
      return Promise.reject(abortReason(signal));
    }
    if (this.#waiting.has(request.id) || this.#inFlight.has(request.id)) {
      return Promise.reject(new Error(`request id "${request.id}" is already queued or in flight`));
    }
    const queued = this.#scheduler.enqueue(request);
    if (queued.kind === 'rejected') {
      return queued;
    }
    // Settled synchronously when this very drain dispatches it; otherwise the promise below takes over.
    let settled: PickResult | undefined;
    let later: { resolve: (result: PickResult) => void; reject: (reason: Error) => void } | undefined;
    let detach = (): void => undefined;
    if (signal !== undefined) {
      const onAbort = (): void => this.#abandon(request.id, abortReason(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      detach = () => signal.removeEventListener('abort', onAbort);
    }
    this.#waiting.set(request.id, {
      resolve: (result) => {
        if (later === undefined) {
          settled = result;
        } else {
          later.resolve(result);
        }
      },
      reject: (reason) => later?.reject(reason),
      detach,
    });
    this.dispatchQueued();
    if (settled !== undefined) {
      return settled;
    }
    return new Promise<PickResult>((resolve, reject) => {
      later = { resolve, reject };
    });
  }

  complete(requestId: string, completion: RoutedCompletion): void {
    const picked = this.#inFlight.get(requestId);
    if (picked === undefined) {
      return;
    }
    this.#inFlight.delete(requestId);
    const { outcome, ...engine } = completion;
    const key = completion.servedBy ?? picked;
    this.#outliers.released(picked, requestId);
    if (outcome !== undefined) {
      this.#report(this.#outliers.record(key, outcome, this.#now(), requestId));
    }
    // An end that showed nothing about the endpoint (client cancel, 4xx) does not count against it.
    this.#scheduler.complete(requestId, {
      ...engine,
      endpointError: outcome !== undefined && outcome !== 'success',
    });
    if (this.#waiting.size > 0) {
      this.dispatchQueued();
    }
    if (this.#inFlight.size === 0) {
      for (const wake of this.#idleWaiters.splice(0)) {
        wake();
      }
    }
  }

  firstToken(requestId: string, servedBy?: string): void {
    const picked = this.#inFlight.get(requestId);
    if (picked === undefined) {
      return;
    }
    // The endpoint answered: a success for outlier detection as of now, as Envoy counts a response by its status.
    // A recovery probe then readmits its endpoint at the first token, not when a long stream ends.
    this.#report(this.#outliers.record(servedBy ?? picked, 'success', this.#now(), requestId));
    this.#scheduler.firstToken(requestId);
  }

  /** Runs one drain of the flow-control queue and settles the admissions it dispatched or expired. */
  dispatchQueued(): void {
    if (!this.#flowControl) {
      return;
    }
    for (const outcome of this.#scheduler.drain(this.routableEndpoints())) {
      const id = outcome.request.id;
      const waiter = this.#waiting.get(id);
      if (waiter === undefined) {
        // Nobody waits for it any more: release what the pick recorded.
        if (outcome.result.kind === 'picked') {
          this.#scheduler.complete(id, { ok: false });
        }
        continue;
      }
      this.#waiting.delete(id);
      waiter.detach();
      if (outcome.result.kind === 'picked') {
        this.#picked(id, outcome.result);
      }
      waiter.resolve(outcome.result);
    }
    this.#scheduleDrains();
  }

  /** Requests waiting in the flow-control queue. */
  queuedCount(): number {
    return this.#waiting.size;
  }

  #abandon(requestId: string, reason: Error): void {
    const waiter = this.#waiting.get(requestId);
    if (waiter === undefined) {
      return;
    }
    this.#waiting.delete(requestId);
    waiter.detach();
    this.#scheduler.cancel(requestId);
    waiter.reject(reason);
    this.#scheduleDrains();
  }

  /** Keeps the drain timer running exactly while requests wait. */
  #scheduleDrains(): void {
    if (this.#waiting.size > 0 && this.#drainTimer === undefined) {
      this.#drainTimer = setInterval(() => this.dispatchQueued(), this.#drainIntervalMs);
      this.#drainTimer.unref();
    } else if (this.#waiting.size === 0 && this.#drainTimer !== undefined) {
      clearInterval(this.#drainTimer);
      this.#drainTimer = undefined;
    }
  }

  objectivePriority(objectiveName: string | undefined, identityClass?: string): number {
    return requestPriority(objectiveName, identityClass, this.#identity, (name) =>
      this.#priorities.get(name),
    );
  }

  get identityHeader(): string | undefined {
    return this.#identity?.header;
  }

  rewriteModel(model: string, pick: number): ModelRewriteDecision {
    return applyRewrite(this.#rules, model, pick);
  }

  servedModels(): readonly string[] {
    return this.#servedModels;
  }

  endpoints(): ReturnType<EndpointRegistry['snapshot']> {
    return this.#registry.snapshot();
  }

  ready(): boolean {
    return !this.#draining && this.#registry.synced() && this.routableEndpoints().length > 0;
  }

  setObjectivePriorities(priorities: ReadonlyMap<string, number>): void {
    this.#priorities = priorities;
  }

  setRewriteRules(rules: readonly RewriteRule[]): void {
    this.#rules = rules;
    if (this.#configuredModels.length > 0) {
      // Aliases that a rewrite maps onto the pool's models are served too.
      const names = new Set(this.#configuredModels);
      for (const rule of rules) {
        for (const model of rule.models) {
          names.add(model);
        }
      }
      this.#servedModels = [...names];
    }
  }

  /** Requests routed and not yet completed, over every adapter. */
  inFlightCount(): number {
    return this.#inFlight.size;
  }

  /** From now on readiness fails and new requests are refused with 503 (rejected-shutting-down). */
  startDraining(): void {
    this.#draining = true;
    for (const [id, waiter] of [...this.#waiting]) {
      this.#waiting.delete(id);
      waiter.detach();
      this.#scheduler.cancel(id);
      waiter.resolve({ kind: 'rejected', status: 503, reason: 'rejected-shutting-down' });
    }
    this.#scheduleDrains();
  }

  draining(): boolean {
    return this.#draining;
  }

  /** Resolves when no routed request is in flight, or after `timeoutMs`; returns whether it went idle. */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.#inFlight.size === 0) {
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const at = this.#idleWaiters.indexOf(done);
        if (at >= 0) {
          this.#idleWaiters.splice(at, 1);
        }
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#idleWaiters.push(done);
    });
  }
}
