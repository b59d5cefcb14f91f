// The router in body-based-routing mode (`--body-based-routing`): one per environment, an ext_proc filter on the
// shared gateway that turns the body's `model` into the header the HTTPRoutes match, plus `GET /v1/models` (the
// merged list of every model, alias and adapter) on the HTTP port, gRPC health and Prometheus metrics.
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { serveExtProc, type ExtProcServer } from '../extproc/server.ts';
import { startHealthServer, type HealthServer } from '../health/server.ts';
import { rejectionAnswer } from '../lifecycle/rejections.ts';
import type { RouterOptions } from '../service/flags.ts';
import type { Logger } from '../service/log.ts';
import { servingCertificate, startRouterMetricsServer } from '../service/serving.ts';
import type { MetricsServer } from '../telemetry/server.ts';
import { BodyRouterStream, type BodyRoutingOutcome } from './body-router-stream.ts';
import { parseModelCatalog, type ModelCatalog } from './model-catalog.ts';

export interface RunningBodyRouter {
  readonly ports: {
    readonly grpc: number;
    readonly grpcHealth: number;
    readonly metrics: number;
    readonly http: number | undefined;
  };
  /** Loads the catalog file again now (it is also re-read every few seconds). */
  reloadCatalog(): Promise<void>;
  shutdown(graceMs: number): Promise<void>;
}

const CATALOG_RELOAD_MS = 5_000;

export async function startBodyRouter(options: RouterOptions, log: Logger): Promise<RunningBodyRouter> {
  const file = options.modelCatalog ?? '';
  // A bad catalog at start is fatal; a bad one later (a ConfigMap mid-update) keeps the last good one.
  let catalogText = await readFile(file, 'utf8');
  let catalog: ModelCatalog = parseModelCatalog(catalogText, file);
  const reloadCatalog = async (): Promise<void> => {
    try {
      const text = await readFile(file, 'utf8');
      if (text === catalogText) return;
      catalog = parseModelCatalog(text, file);
      catalogText = text;
      log.info('model catalog loaded', { names: catalog.names.size });
    } catch (err) {
      log.warn('model catalog not reloaded, keeping the last good one', { error: (err as Error).message });
    }
  };
  const reloadTimer = setInterval(() => void reloadCatalog(), CATALOG_RELOAD_MS);
  reloadTimer.unref();

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'switchyard_body_routing_requests_total',
    help: 'Requests seen by the body-based router, by the model they named (served name) and outcome.',
    labelNames: ['model', 'outcome'],
    registers: [registry],
  });
  const record = (model: string | undefined, outcome: BodyRoutingOutcome): void => {
    // Only catalog names become label values, so clients cannot grow the series.
    requests.inc({ model: model ?? '', outcome });
  };

  let draining = false;
  const host = options.listenAddress;
  const started: { close(): Promise<void> }[] = [{ close: async () => clearInterval(reloadTimer) }];
  try {
    const certificate = await servingCertificate(options, 'switchyard-body-router');
    started.push(certificate);
    const certDir = certificate.certDir;
    const extproc: ExtProcServer = await serveExtProc(
      {
        host,
        port: options.grpcPort,
        ...(certDir !== undefined ? { tls: { certDir } } : {}),
        ...(options.grpcMaxMessageBytes !== undefined
          ? { maxMessageBytes: options.grpcMaxMessageBytes }
          : {}),
        onError: (err) => log.warn(err.message),
      },
      (sink) =>
        new BodyRouterStream(
          { catalog: () => catalog, maxBodyBytes: options.maxRequestBodyBytes, record },
          sink,
        ),
    );
    started.push({ close: () => extproc.close(0) });
    const health: HealthServer = await startHealthServer({
      host,
      port: options.grpcHealthPort,
      ready: () => !draining,
    });
    started.push({ close: () => health.close(0) });
    const metricsServer: MetricsServer = await startRouterMetricsServer(options, registry, certDir);
    started.push(metricsServer);
    const created = Math.floor(Date.now() / 1000);
    const http =
      options.httpPort === undefined
        ? undefined
        : await startModelListServer(host, options.httpPort, () => catalog.modelList(created));
    if (http !== undefined) started.push(http);

    log.info('router started', {
      mode: 'body-based-routing',
      grpcPort: extproc.port,
      grpcHealthPort: health.port,
      metricsPort: metricsServer.port,
      httpPort: http?.port,
      tls: certDir !== undefined,
      names: catalog.names.size,
    });
    return {
      ports: { grpc: extproc.port, grpcHealth: health.port, metrics: metricsServer.port, http: http?.port },
      reloadCatalog,
      async shutdown(graceMs: number): Promise<void> {
        draining = true;
        clearInterval(reloadTimer);
        await extproc.close(graceMs);
        await Promise.all([health.close(0), metricsServer.close(), http?.close()]);
        await certificate.close();
      },
    };
  } catch (err) {
    await Promise.all(started.map((s) => s.close().catch(() => undefined)));
    throw err;
  }
}

/** `GET /v1/models` (the gateway routes that exact path here) and nothing else. */
async function startModelListServer(
  host: string,
  port: number,
  list: () => unknown,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0];
    const answer = (status: number, body: string): void => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(body);
    };
    if (path !== '/v1/models') {
      answer(404, rejectionAnswer('route-not-found', `no route for ${path ?? '/'}`).body);
    } else if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      answer(
        405,
        rejectionAnswer('method-not-allowed', `${request.method ?? ''} is not allowed on /v1/models`).body,
      );
    } else {
      answer(200, JSON.stringify(list()));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
