// Serves metrics in the Prometheus text format on GET /metrics: the router's (port 9090 in the cluster), or what
// another source collects (the vLLM metrics proxy). Every other path is 404, every other method 405. With
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

/** One scrape's answer: the text and its media type. */
export interface Exposition {
  readonly contentType: string;
  readonly body: string;
}

/** What a failed collection says to the scraper: an HTTP status and a line of text. */
export class CollectionFailure extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Where a metrics server's text comes from: a prom-client registry, or anything else that collects it. */
export type MetricsSource = Registry | (() => Promise<Exposition>);

async function collect(source: MetricsSource): Promise<Exposition> {
  if (typeof source === 'function') return source();
  return { contentType: source.contentType, body: await source.metrics() };
}

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
  readonly registry: MetricsSource;
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
    if (path !== '/metrics') {
      response
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('not found: only /metrics is served here\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response
        .writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' })
        .end('method not allowed\n');
      return;
    }
    collect(options.registry).then(
      ({ contentType, body }) =>
        response
          .writeHead(200, { 'content-type': contentType })
          .end(request.method === 'HEAD' ? undefined : body),
      (error: unknown) =>
        response
          .writeHead(error instanceof CollectionFailure ? error.status : 500, {
            'content-type': 'text/plain',
          })
          .end(`metrics collection failed: ${error instanceof Error ? error.message : String(error)}\n`),
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
