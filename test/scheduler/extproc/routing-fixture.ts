// A real RoutingService for the adapter tests: the router core over a static endpoint list, with small
// model-rewrite and objective tables. It records completions and first tokens so tests can check what the
// adapter reported.
import { createScheduler, policyPresets } from '../../../scheduler/core/index.ts';
import type {
  Completion,
  Endpoint,
  EndpointMetrics,
  PolicyName,
  Scheduler,
  SchedulerConfig,
} from '../../../scheduler/core/index.ts';
import type { ModelRewriteDecision, RoutingService } from '../../../scheduler/routing-service.ts';

export interface FixtureOptions {
  /** Endpoint keys ("ip:port", "[ipv6]:port"). */
  readonly endpoints: readonly string[];
  /** Pod labels by endpoint key. */
  readonly labels?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly servedModels?: readonly string[];
  /** Client model → target model. */
  readonly rewrites?: Readonly<Record<string, string>>;
  /** InferenceObjective name → priority. */
  readonly objectives?: Readonly<Record<string, number>>;
  /** Engine load every endpoint reports (fresh at every read). */
  readonly load?: Partial<Pick<EndpointMetrics, 'waitingRequests' | 'runningRequests' | 'kvCacheUsage'>>;
  readonly policy?: PolicyName;
  /** A scheduler configuration instead of a preset. */
  readonly config?: SchedulerConfig;
}

export interface RoutingFixture extends RoutingService {
  readonly scheduler: Scheduler;
  readonly completions: Map<string, Completion[]>;
  /** Requests whose first token the adapter reported, in order. */
  readonly firstTokens: string[];
  /** Requests the core holds in flight, over all endpoints. */
  inFlight(): number;
  setReady(ready: boolean): void;
}

export function routingFixture(options: FixtureOptions): RoutingFixture {
  const scheduler = createScheduler(options.config ?? policyPresets[options.policy ?? 'least-request'], {
    now: () => Date.now(),
    random: Math.random,
  });
  const completions = new Map<string, Completion[]>();
  const firstTokens: string[] = [];
  let ready = true;
  const endpoints = (): Endpoint[] =>
    options.endpoints.map((key) => {
      const [, address = '', port = '0'] = /^\[?([^\]]*)\]?:(\d+)$/.exec(key) ?? [];
      return {
        key,
        address,
        port: Number(port),
        labels: options.labels?.[key] ?? {},
        metrics: {
          waitingRequests: options.load?.waitingRequests ?? 0,
          runningRequests: options.load?.runningRequests ?? 0,
          kvCacheUsage: options.load?.kvCacheUsage ?? 0.1,
          kvCacheCapacityBlocks: 10_000,
          kvBlockSize: 16,
          activeLoras: [],
          waitingLoras: [],
          maxLoras: 0,
          scrapedAtMs: Date.now(),
        },
      };
    });
  return {
    scheduler,
    completions,
    firstTokens,
    route: (request) => scheduler.pick(request, endpoints()),
    admit: (request) => scheduler.pick(request, endpoints()),
    complete(requestId, completion) {
      completions.set(requestId, [...(completions.get(requestId) ?? []), completion]);
      scheduler.complete(requestId, completion);
    },
    firstToken(requestId) {
      firstTokens.push(requestId);
      scheduler.firstToken(requestId);
    },
    objectivePriority: (name) => (name === undefined ? 0 : (options.objectives?.[name] ?? 0)),
    rewriteModel(model): ModelRewriteDecision {
      const target = options.rewrites?.[model];
      return target === undefined
        ? { targetModel: model, rewritten: false }
        : { targetModel: target, rewritten: true };
    },
    servedModels: () => options.servedModels ?? [],
    endpoints,
    routableEndpoints: endpoints,
    ready: () => ready,
    inFlight: () => scheduler.accounting().reduce((sum, entry) => sum + entry.inFlightRequests, 0),
    setReady(value) {
      ready = value;
    },
  };
}
