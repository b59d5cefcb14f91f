// Serves the router's metrics in the Prometheus text format on GET /metrics (port 9090 in the cluster). With
// `mutualTls`, the port serves TLS with the router's serving pair and only answers clients that present a
// certificate from the given CA (and, when names are listed, with one of those common names), the way the
// platform's Prometheus scrapes with its client certificate from the cluster PKI.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { Registry } from 'prom-client';
import { CERT_FILE, KEY_FILE } from '../extproc/tls.ts';

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

export interface MetricsMutualTls {
  /** Directory with tls.crt and tls.key (the router's serving pair), re-read when it changes. */
  readonly certDir: string;
  /** PEM file of the CA that signs allowed client certificates. */
  readonly clientCaFile: string;
  /** Allowed client common names; empty allows any certificate the CA signed. */
  readonly clientNames: readonly string[];
  /** How often the pair and the CA are re-read (cert-manager renews them in place). */
  readonly reloadIntervalMs?: number;
}

function tlsMaterial(tls: MetricsMutualTls): { cert: Buffer; key: Buffer; ca: Buffer } {
  return {
    cert: readFileSync(join(tls.certDir, CERT_FILE)),
    key: readFileSync(join(tls.certDir, KEY_FILE)),
    ca: readFileSync(tls.clientCaFile),
  };
}

export async function startMetricsServer(options: {
  readonly host: string;
  readonly port: number;
  readonly registry: Registry;
  readonly mutualTls?: MetricsMutualTls;
}): Promise<MetricsServer> {
  const allowed = new Set(options.mutualTls?.clientNames ?? []);
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    if (options.mutualTls !== undefined && allowed.size > 0) {
      const subject = (request.socket as TLSSocket).getPeerCertificate().subject as
        Record<string, string | string[]> | undefined;
      const commonName = subject?.['CN'];
      const names = Array.isArray(commonName) ? commonName : commonName === undefined ? [] : [commonName];
      if (!names.some((name) => allowed.has(name))) {
        response.writeHead(403, { 'content-type': 'text/plain' }).end('client certificate not allowed\n');
        return;
      }
    }
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    options.registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
      (error: unknown) =>
        response
          .writeHead(500, { 'content-type': 'text/plain' })
          .end(`metrics collection failed: ${String(error)}\n`),
    );
  };
  const tls = options.mutualTls;
  const server =
    tls === undefined
      ? createServer(handle)
      : createHttpsServer({ ...tlsMaterial(tls), requestCert: true, rejectUnauthorized: true }, handle);
  let reload: NodeJS.Timeout | undefined;
  if (tls !== undefined && 'setSecureContext' in server) {
    const httpsServer = server;
    reload = setInterval(() => {
      try {
        httpsServer.setSecureContext(tlsMaterial(tls));
      } catch {
        // A half-written renewal: keep serving the previous pair until the next attempt.
      }
    }, tls.reloadIntervalMs ?? 60_000);
    reload.unref();
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        if (reload !== undefined) clearInterval(reload);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
