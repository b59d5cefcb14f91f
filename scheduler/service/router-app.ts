// Composition root of the router process: scheduler configuration → data layer (discovery + metrics
// scraper) → routing service → adapters (ext_proc, gRPC health, Prometheus metrics, optional HTTP proxy),
// and the ordered shutdown that drains them.
import { readFile } from 'node:fs/promises';
import { KubeConfig } from '@kubernetes/client-node';
import {
  createScheduler,
  dataLayerNeeds,
  parseSchedulerConfig,
  policyPresets,
  type SchedulerConfig,
} from '../core/index.ts';
import type { Endpoint } from '../core/types.ts';
import { EndpointRegistry } from '../datalayer/endpoint-registry.ts';
import { KubeDiscovery } from '../datalayer/kube-discovery.ts';
import { MetricsScraper } from '../datalayer/metrics-scraper.ts';
import { modelServerTransport, type ModelServerTransport } from '../datalayer/model-server-transport.ts';
import { KvEventFeed } from '../datalayer/kv-events/index-feed.ts';
import { KvEventSubscriber } from '../datalayer/kv-events/subscriber.ts';
import { parseStaticEndpoints } from '../datalayer/static-endpoints.ts';
import { VllmTokenizer } from '../datalayer/vllm-tokenizer.ts';
import { startExtProcServer, type ExtProcServer } from '../extproc/server.ts';
import { startHealthServer, type HealthServer } from '../health/server.ts';
import { startProxyServer, type ProxyServer } from '../proxy/server.ts';
import { RouterMetrics } from '../telemetry/metrics.ts';
import type { MetricsServer } from '../telemetry/server.ts';
import type { RouterOptions } from './flags.ts';
import type { Logger } from './log.ts';
import { PoolRoutingService } from './pool-routing-service.ts';
import { servingCertificate, startRouterMetricsServer } from './serving.ts';

export interface RunningRouter {
  readonly service: PoolRoutingService;
  readonly ports: {
    readonly grpc: number;
    readonly grpcHealth: number;
    readonly metrics: number;
    readonly http: number | undefined;
  };
  /** Fails readiness, refuses new requests, lets requests in flight finish within graceMs, stops everything. */
  shutdown(graceMs: number): Promise<void>;
}

async function loadSchedulerConfig(options: RouterOptions): Promise<SchedulerConfig> {
  if (options.configFile !== undefined) {
    let text: string;
    try {
      text = await readFile(options.configFile, 'utf8');
    } catch (err) {
      throw new Error(
        `--config-file ${options.configFile}: ${err instanceof Error ? err.message : String(err)}`,
        {
          cause: err,
        },
      );
    }
    return parseSchedulerConfig(text, options.configFile);
  }
  if (options.configText !== undefined) {
    return parseSchedulerConfig(options.configText, '--config-text');
  }
  return policyPresets[options.policy];
}

/** At most one log line per endpoint and kind of problem every this many ms. */
const KV_LOG_INTERVAL_MS = 10_000;
/** At most one log line per endpoint whose TLS handshake fails every this many ms. */
const TLS_LOG_INTERVAL_MS = 60_000;

/** The connections to model servers the flags ask for; a CA bundle that does not load stops the start. */
function startModelServerTransport(options: RouterOptions, log: Logger): ModelServerTransport {
  try {
    return modelServerTransport(options.modelServerScheme, options.modelServerTls, {
      onReload: (file, certificates) => log.info('model server CA bundle reloaded', { file, certificates }),
      onReloadError: (err) =>
        log.warn('model server CA bundle not reloaded, keeping the last good one', { error: err.message }),
    });
  } catch (err) {
    throw new Error(`--model-server-ca-file ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
}

/**
 * With --kv-events-port and a precise-prefix-cache-producer: one ZMQ subscriber per endpoint the registry
 * knows (static or discovered), feeding the scheduler's precise index. zeromq is loaded only here.
 */
async function startKvEvents(
  options: RouterOptions,
  needs: ReturnType<typeof dataLayerNeeds>,
  scheduler: ReturnType<typeof createScheduler>,
  registry: EndpointRegistry,
  metrics: RouterMetrics,
  log: Logger,
): Promise<KvEventSubscriber | undefined> {
  const port = options.kvEventsPort;
  if (port === undefined) {
    if (needs.precise !== undefined) {
      log.warn('precise-prefix-cache-producer without --kv-events-port: its index stays empty');
    }
    return undefined;
  }
  if (needs.precise === undefined) {
    log.warn(
      '--kv-events-port without a precise-prefix-cache-producer feeding a scorer: events not subscribed',
    );
    return undefined;
  }
  const lastLogged = new Map<string, number>();
  const warn = (what: string, endpoint: string, detail?: string): void => {
    const at = `${what} ${endpoint}`;
    const now = Date.now();
    if (now - (lastLogged.get(at) ?? Number.NEGATIVE_INFINITY) < KV_LOG_INTERVAL_MS) return;
    if (lastLogged.size > 10_000) lastLogged.clear();
    lastLogged.set(at, now);
    log.warn(what, { endpoint, ...(detail !== undefined ? { detail } : {}) });
  };
  const feed = new KvEventFeed(scheduler, needs.precise, {
    message: (outcome, endpoint, error) => {
      metrics.kvEventMessage(outcome);
      if (outcome === 'malformed') warn('malformed KV-event message', endpoint, error);
    },
    event: (outcome, endpoint, error) => {
      metrics.kvEvent(outcome);
      if (outcome === 'malformed') warn('malformed KV event', endpoint, error);
    },
    reset: (reason, endpoint) => {
      metrics.kvEventReset(reason);
      if (reason === 'gap' || reason === 'restart')
        warn(`KV-event stream ${reason}: index entries dropped`, endpoint);
    },
  });
  const subscriber = await KvEventSubscriber.create({
    feed,
    port,
    onError: (message, endpoint) => warn(message, endpoint),
  });
  registry.onTargetsChanged((targets) => subscriber.sync(targets));
  subscriber.sync(registry.targets());
  log.info('subscribed to KV-cache events', { port, blockSize: needs.precise.blockSize });
  return subscriber;
}

export async function startRouter(options: RouterOptions, log: Logger): Promise<RunningRouter> {
  const schedulerConfig = await loadSchedulerConfig(options);
  const scheduler = createScheduler(schedulerConfig, { now: Date.now, random: Math.random });
  const needs = dataLayerNeeds(schedulerConfig);
  const transport = startModelServerTransport(options, log);
  const registry = new EndpointRegistry();
  const tokenizer: VllmTokenizer | undefined =
    needs.vllmTokenizer === undefined
      ? undefined
      : new VllmTokenizer({
          endpoints: (): readonly Endpoint[] => service.routableEndpoints(),
          timeoutMs: needs.vllmTokenizer.timeoutMs,
          onFallback: (reason) => metrics.tokenizeFallback(reason),
          transport,
        });
  const service = new PoolRoutingService({
    ...(tokenizer !== undefined ? { promptTokenizer: tokenizer } : {}),
    scheduler,
    registry,
    servedModels: options.servedModels,
    flowControl: schedulerConfig.flowControl !== undefined,
    // Drains while requests wait follow the metrics refresh, so a refresh that frees room dispatches soon.
    drainIntervalMs: options.refreshMetricsIntervalMs,
    stalenessMs: options.metricsStalenessThresholdMs,
    outlier: {
      consecutiveFailures: options.outlierConsecutiveFailures,
      baseEjectionMs: options.outlierBaseEjectionMs,
      maxEjectionMs: options.outlierMaxEjectionMs,
    },
    ...(options.rateLimit !== undefined ? { rateLimit: options.rateLimit } : {}),
    ...(options.identity !== undefined ? { identity: options.identity } : {}),
    onHealthEvent: (event) => {
      if (event.kind === 'ejected') {
        log.warn('endpoint ejected', { endpoint: event.key, forMs: event.forMs, after: event.outcome });
      } else {
        log.info('endpoint recovered', { endpoint: event.key });
      }
    },
  });
  /** Routing ids in use on either face, so that a reused x-request-id never collides in accounting. */
  const activeIds = new Set<string>();
  const metrics = new RouterMetrics({
    poolName: options.poolName ?? 'static',
    endpoints: () => registry.snapshot(),
    queuedRequests: () => service.queuedCount(),
    ejectedEndpoints: () => service.ejectedEndpoints().length,
    indexedBlocks: () => scheduler.accounting(),
    maxLabelSets: options.metricsMaxLabelSets,
    runtimeMetrics: true,
  });
  registry.onTargetsChanged((targets) =>
    log.info('endpoints changed', { endpoints: targets.map((t) => t.key) }),
  );
  const kvEvents = await startKvEvents(options, needs, scheduler, registry, metrics, log);

  let discovery: KubeDiscovery | undefined;
  if (options.staticEndpoints !== undefined) {
    registry.setTargets(parseStaticEndpoints(options.staticEndpoints));
    registry.markSynced();
  } else {
    const kubeConfig = new KubeConfig();
    if (options.kubeconfig !== undefined) {
      kubeConfig.loadFromFile(options.kubeconfig);
    } else {
      kubeConfig.loadFromDefault();
    }
    discovery = new KubeDiscovery({
      kubeConfig,
      namespace: options.poolNamespace,
      poolName: options.poolName ?? '',
      registry,
      objectiveGroup: options.objectiveApiGroup,
      onObjectives: (priorities) => {
        service.setObjectivePriorities(priorities);
        log.info('objectives changed', { objectives: Object.fromEntries(priorities) });
      },
      onRewrites: (rules) => {
        service.setRewriteRules(rules);
        log.info('model rewrites changed', { rules: rules.map((r) => r.source) });
      },
      onEvent: (message) => log.warn(message),
      watchStallTimeoutMs: options.watchStallTimeoutMs,
    });
    await discovery.start();
  }

  const tlsFailureLogged = new Map<string, number>();
  const scraper = new MetricsScraper({
    registry,
    intervalMs: options.refreshMetricsIntervalMs,
    stalenessMs: options.metricsStalenessThresholdMs,
    timeoutMs: options.scrapeTimeoutMs,
    maxBodyBytes: options.scrapeMaxBodyBytes,
    now: Date.now,
    transport,
    onEvent: (event) => {
      // Scrape errors repeat every interval; only changes of freshness are worth a log line, and TLS failures,
      // which are configuration problems and leave an endpoint that was never scraped without any other line.
      if (event.kind === 'error' && event.refused) {
        // Nothing listens there: as telling as a refused request.
        service.observe(event.key, 'connect-failure');
      } else if (event.kind === 'error' && event.tls) {
        const now = Date.now();
        if (now - (tlsFailureLogged.get(event.key) ?? Number.NEGATIVE_INFINITY) >= TLS_LOG_INTERVAL_MS) {
          if (tlsFailureLogged.size > 10_000) tlsFailureLogged.clear();
          tlsFailureLogged.set(event.key, now);
          log.warn('model server TLS handshake failed', { endpoint: event.key, error: event.message });
        }
      } else if (event.kind === 'stale') {
        log.warn('endpoint metrics are stale', { endpoint: event.key, ageMs: event.ageMs });
      } else if (event.kind === 'fresh') {
        log.info('endpoint metrics are fresh again', { endpoint: event.key });
      }
    },
  });
  scraper.start();

  const host = options.listenAddress;
  const started: { close(): Promise<void> }[] = [];
  try {
    const certificate = await servingCertificate(options, options.poolName ?? 'switchyard-router');
    started.push(certificate);
    const certDir = certificate.certDir;
    const extproc: ExtProcServer = await startExtProcServer({
      host,
      port: options.grpcPort,
      service,
      metrics,
      activeIds,
      ...(certDir !== undefined ? { tls: { certDir } } : {}),
      ...(options.grpcMaxMessageBytes !== undefined ? { maxMessageBytes: options.grpcMaxMessageBytes } : {}),
      onError: (err) => log.warn(err.message),
    });
    started.push({ close: () => extproc.close(0) });
    const health: HealthServer = await startHealthServer({
      host,
      port: options.grpcHealthPort,
      ready: () => service.ready(),
    });
    started.push({ close: () => health.close(0) });
    const metricsServer: MetricsServer = await startRouterMetricsServer(options, metrics.registry, certDir);
    started.push(metricsServer);
    const proxy: ProxyServer | undefined =
      options.httpPort === undefined
        ? undefined
        : await startProxyServer({
            host,
            port: options.httpPort,
            service,
            metrics,
            activeIds,
            maxBodyBytes: options.maxRequestBodyBytes,
            maxConnectAttempts: options.maxAttempts,
            transport,
          });

    log.info('router started', {
      grpcPort: extproc.port,
      grpcHealthPort: health.port,
      metricsPort: metricsServer.port,
      httpPort: proxy?.port,
      tls: certDir !== undefined,
      modelServerScheme: transport.scheme,
      discovery: discovery === undefined ? 'static' : `${options.poolNamespace}/${options.poolName ?? ''}`,
    });

    return {
      service,
      ports: { grpc: extproc.port, grpcHealth: health.port, metrics: metricsServer.port, http: proxy?.port },
      async shutdown(graceMs: number): Promise<void> {
        service.startDraining();
        log.info('draining', { inFlight: service.inFlightCount(), graceMs });
        const started = performance.now();
        await Promise.all([extproc.close(graceMs), proxy?.close(graceMs)]);
        const idle = await service.whenIdle(Math.max(0, graceMs - (performance.now() - started)));
        log.info('drained', { idle, inFlight: service.inFlightCount() });
        await scraper.stop();
        await discovery?.stop();
        await kvEvents?.close();
        await tokenizer?.close();
        transport.close();
        await Promise.all([health.close(0), metricsServer.close()]);
        await certificate.close();
      },
    };
  } catch (err) {
    await scraper.stop();
    await discovery?.stop();
    await kvEvents?.close();
    await tokenizer?.close();
    transport.close();
    await Promise.all(started.map((s) => s.close().catch(() => undefined)));
    throw err;
  }
}
