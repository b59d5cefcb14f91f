// Starts the vLLM metrics proxy: the metrics server the router uses for its own /metrics, fed by GET /metrics of
// the vLLM in the same pod.
import { modelServerTransport } from '../datalayer/model-server-transport.ts';
import type { Logger } from '../service/log.ts';
import { startMetricsServer } from '../telemetry/server.ts';
import type { MetricsProxyOptions } from './flags.ts';
import { vllmUpstream } from './vllm-upstream.ts';

export interface MetricsProxy {
  readonly port: number;
  close(): Promise<void>;
}

export async function startMetricsProxy(options: MetricsProxyOptions, log: Logger): Promise<MetricsProxy> {
  const transport = modelServerTransport(options.scheme, options.tls, {
    onReload: (file, certificates) => log.info('vLLM CA bundle reloaded', { file, certificates }),
    onReloadError: (err) =>
      log.warn('vLLM CA bundle not reloaded, keeping the last good one', { error: err.message }),
  });
  const upstream = vllmUpstream({
    port: options.vllmPort,
    transport,
    timeoutMs: options.timeoutMs,
    maxBodyBytes: options.maxBodyBytes,
  });
  const server = await startMetricsServer({
    host: options.listenAddress,
    port: options.port,
    registry: upstream.collect,
    ...(options.mutualTls === undefined ? {} : { mutualTls: options.mutualTls }),
  });
  log.info('vLLM metrics proxy listening', {
    port: server.port,
    vllmPort: options.vllmPort,
    scheme: options.scheme,
    mutualTls: options.mutualTls !== undefined,
  });
  return {
    port: server.port,
    close: async () => {
      await server.close();
      await upstream.close();
      transport.close();
    },
  };
}
