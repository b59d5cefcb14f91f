// Test stack: real simulated vLLM replicas on loopback, the real core scheduler, the routing service, the
// HTTP proxy and (on request) the ext_proc server, wired as scheduler/service/router-app.ts wires them
// (static endpoints, metrics scraper whose refused scrapes count towards ejection, one metrics registry and
// one set of routing ids for both faces).
import {
  createScheduler,
  policyPresets,
  type PolicyName,
  type Scheduler,
  type SchedulerConfig,
} from '../../../scheduler/core/index.ts';
import type { OutlierConfig } from '../../../scheduler/core/outlier.ts';
import { startExtProcServer, type ExtProcServer } from '../../../scheduler/extproc/server.ts';
import { RouterMetrics } from '../../../scheduler/telemetry/metrics.ts';
import { EndpointRegistry } from '../../../scheduler/datalayer/endpoint-registry.ts';
import { MetricsScraper } from '../../../scheduler/datalayer/metrics-scraper.ts';
import { parseStaticEndpoints } from '../../../scheduler/datalayer/static-endpoints.ts';
import {
  startProxyServer,
  type ProxyServer,
  type ProxyServerOptions,
} from '../../../scheduler/proxy/server.ts';
import { PoolRoutingService } from '../../../scheduler/service/pool-routing-service.ts';
import { startSimServer, type SimFaults, type SimServer } from '../../../scheduler/sim/server.ts';

export const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';

export interface Stack {
  readonly sims: SimServer[];
  readonly registry: EndpointRegistry;
  readonly scheduler: Scheduler;
  readonly metrics: RouterMetrics;
  /** Started only with `extproc: true`. */
  readonly extproc: ExtProcServer | undefined;
  readonly service: PoolRoutingService;
  readonly scraper: MetricsScraper;
  readonly proxy: ProxyServer;
  readonly url: string;
  close(): Promise<void>;
}

export async function startStack(
  opts: {
    replicas?: number;
    faults?: readonly (SimFaults | undefined)[];
    policy?: PolicyName;
    /** A scheduler configuration instead of a named policy. */
    config?: SchedulerConfig;
    /** Extra "host:port" endpoints nobody listens on. */
    deadEndpoints?: readonly string[];
    proxy?: Partial<ProxyServerOptions>;
    servedModels?: readonly string[];
    slowdown?: number;
    /** Start the ext_proc server too (plaintext). */
    extproc?: boolean;
    /** Start the metrics scraper (otherwise tests call scraper.tick() or start() themselves). */
    scrape?: boolean;
    outlier?: Partial<OutlierConfig>;
  } = {},
): Promise<Stack> {
  const sims: SimServer[] = [];
  for (let i = 0; i < (opts.replicas ?? 2); i++) {
    const faults =
      opts.faults?.[i] ?? (opts.slowdown !== undefined ? { slowdown: opts.slowdown } : undefined);
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
  const registry = new EndpointRegistry();
  const spec = [...sims.map((s) => `127.0.0.1:${s.port}`), ...(opts.deadEndpoints ?? [])].join(',');
  registry.setTargets(parseStaticEndpoints(spec));
  registry.markSynced();
  const scheduler = createScheduler(opts.config ?? policyPresets[opts.policy ?? 'least-request'], {
    now: Date.now,
    random: Math.random,
  });
  const service = new PoolRoutingService({
    scheduler,
    registry,
    ...(opts.servedModels !== undefined ? { servedModels: opts.servedModels } : {}),
    ...(opts.outlier !== undefined ? { outlier: opts.outlier } : {}),
  });
  const scraper = new MetricsScraper({
    registry,
    intervalMs: 50,
    stalenessMs: 2000,
    now: Date.now,
    onEvent: (event) => {
      if (event.kind === 'error' && event.refused) service.observe(event.key, 'connect-failure');
    },
  });
  const metrics = new RouterMetrics({
    poolName: 'test',
    endpoints: () => registry.snapshot(),
    ejectedEndpoints: () => service.ejectedEndpoints().length,
  });
  const activeIds = new Set<string>();
  const proxy = await startProxyServer({
    host: '127.0.0.1',
    port: 0,
    service,
    metrics,
    activeIds,
    ...opts.proxy,
  });
  const extproc =
    opts.extproc === true
      ? await startExtProcServer({ host: '127.0.0.1', port: 0, service, metrics, activeIds })
      : undefined;
  if (opts.scrape === true) scraper.start();
  return {
    sims,
    registry,
    scheduler,
    metrics,
    extproc,
    service,
    scraper,
    proxy,
    url: `http://127.0.0.1:${proxy.port}`,
    async close() {
      await proxy.close(1000);
      await extproc?.close(1000);
      await scraper.stop();
      await Promise.all(sims.map((s) => s.close().catch(() => undefined)));
    },
  };
}

export async function eventually(check: () => void | Promise<void>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        throw err;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
