// An ext_proc server on loopback in front of a routing fixture, with a connected client: what the ext_proc
// tests start per case. stopFixtureServers() closes every one started since the last call (an afterEach).
import type { Client } from '@grpc/grpc-js';
import { startExtProcServer, type ExtProcServer } from '../../../scheduler/extproc/server.ts';
import { RouterMetrics } from '../../../scheduler/telemetry/metrics.ts';
import { connectExtProc } from './envoy-client.ts';
import { routingFixture, type RoutingFixture } from './routing-fixture.ts';

export interface FixtureServer {
  readonly server: ExtProcServer;
  readonly client: Client;
  readonly service: RoutingFixture;
  readonly metrics: RouterMetrics;
}

const running: FixtureServer[] = [];

export async function startFixtureServer(
  options: Parameters<typeof routingFixture>[0],
  settings: { readonly poolName?: string; readonly maxBodyBytes?: number } = {},
): Promise<FixtureServer> {
  const service = routingFixture(options);
  const metrics = new RouterMetrics({
    poolName: settings.poolName ?? 'test-pool',
    endpoints: service.endpoints,
  });
  const server = await startExtProcServer({
    host: '127.0.0.1',
    port: 0,
    service,
    metrics,
    ...(settings.maxBodyBytes !== undefined ? { maxBodyBytes: settings.maxBodyBytes } : {}),
  });
  const entry = { server, client: connectExtProc(server.port), service, metrics };
  running.push(entry);
  return entry;
}

export async function stopFixtureServers(): Promise<void> {
  for (const entry of running.splice(0)) {
    entry.client.close();
    await entry.server.close(100);
  }
}
