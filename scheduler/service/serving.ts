// What every router mode serves the same way: the TLS pair (mounted, or self-signed for a local run) and the
// Prometheus metrics port, plain or behind mutual TLS.
import { rm } from 'node:fs/promises';
import type { Registry } from 'prom-client';
import { startMetricsServer, type MetricsServer } from '../telemetry/server.ts';
import type { RouterOptions } from './flags.ts';
import { writeSelfSignedCertificate } from './self-signed.ts';

export interface ServingCertificate {
  /** Directory with tls.crt and tls.key; undefined when TLS is off (--secure-serving=false). */
  readonly certDir: string | undefined;
  /** Removes a self-signed pair written for this run. */
  close(): Promise<void>;
}

export async function servingCertificate(
  options: RouterOptions,
  commonName: string,
): Promise<ServingCertificate> {
  const selfSignedDir =
    options.secureServing && options.certPath === undefined
      ? await writeSelfSignedCertificate(commonName)
      : undefined;
  return {
    certDir: options.secureServing ? (options.certPath ?? selfSignedDir) : undefined,
    close: async () => {
      if (selfSignedDir !== undefined) await rm(selfSignedDir, { recursive: true, force: true });
    },
  };
}

/** The metrics port: with --metrics-client-ca, TLS with the serving pair and a client certificate required. */
export function startRouterMetricsServer(
  options: RouterOptions,
  registry: Registry,
  certDir: string | undefined,
): Promise<MetricsServer> {
  return startMetricsServer({
    host: options.listenAddress,
    port: options.metricsPort,
    registry,
    ...(options.metricsClientCa !== undefined && certDir !== undefined
      ? {
          mutualTls: {
            certDir,
            clientCaFile: options.metricsClientCa,
            clientNames: options.metricsClientNames,
          },
        }
      : {}),
  });
}
