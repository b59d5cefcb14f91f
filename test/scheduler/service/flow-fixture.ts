// A flow-controlled routing service for the adapter tests: the real core scheduler with a `flowControl`
// section over a real endpoint registry with one endpoint. The saturation detector counts one waiting request
// as full, and the requests picked since the last scrape count as waiting, so the pool holds exactly one
// request in flight at a time: each completion lets the next queued request through.
import { createScheduler } from '../../../scheduler/core/index.ts';
import type { FlowControlConfig, Scheduler, SchedulerConfig } from '../../../scheduler/core/index.ts';
import { EndpointRegistry } from '../../../scheduler/datalayer/endpoint-registry.ts';
import { parseStaticEndpoints } from '../../../scheduler/datalayer/static-endpoints.ts';
import { PoolRoutingService } from '../../../scheduler/service/pool-routing-service.ts';
import { leastRequestWithQueue } from '../core/helpers.ts';

export function flowControlConfig(flowControl: Partial<FlowControlConfig> = {}): SchedulerConfig {
  // Metrics never go stale during a test: the test itself plays the scraper.
  return leastRequestWithQueue(
    { queueDepthThreshold: 1, metricsStalenessThreshold: '10m' },
    { requestTtlMs: 30_000, ...flowControl },
  );
}

export interface FlowFixture {
  readonly scheduler: Scheduler;
  readonly registry: EndpointRegistry;
  readonly service: PoolRoutingService;
  /** Requests the core holds in flight. */
  inFlight(): number;
}

/** `endpoint` is "host:port" of the single model server. */
export function flowFixture(endpoint: string, flowControl: Partial<FlowControlConfig> = {}): FlowFixture {
  const scheduler = createScheduler(flowControlConfig(flowControl), { now: Date.now, random: Math.random });
  const registry = new EndpointRegistry();
  registry.setTargets(parseStaticEndpoints(endpoint));
  registry.markSynced();
  // One scrape that saw an idle engine, taken just before the test starts.
  registry.setMetrics(endpoint, {
    waitingRequests: 0,
    runningRequests: 0,
    kvCacheUsage: 0,
    activeLoras: [],
    waitingLoras: [],
    maxLoras: 0,
    scrapedAtMs: Date.now() - 1,
  });
  const service = new PoolRoutingService({ scheduler, registry, flowControl: true, drainIntervalMs: 10 });
  return {
    scheduler,
    registry,
    service,
    inFlight: () => scheduler.accounting().reduce((sum, entry) => sum + entry.inFlightRequests, 0),
  };
}
