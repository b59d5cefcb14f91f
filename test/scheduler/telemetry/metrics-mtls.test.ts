// The metrics port with mutual TLS, on loopback with real certificates: a cluster CA (made with openssl, as
// cert-manager's CA issuer would sign them) signs the router's serving pair and Prometheus's client pair.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMetricsServer, type MetricsServer } from '../../../scheduler/telemetry/server.ts';
import { createTestPki, scrapeOverTls } from '../test-pki.ts';

const pki = createTestPki('metrics-mtls-');
const dir = pki.dir;

let server: MetricsServer;
const registry = new Registry();

beforeAll(async () => {
  pki.ca('cluster-ca');
  pki.ca('other-ca');
  pki.server('router', 'cluster-ca', ['IP:127.0.0.1', 'DNS:localhost']);
  const client = ['extendedKeyUsage=clientAuth'];
  pki.leaf('switchyard-prometheus', 'cluster-ca', client);
  pki.leaf('intruder', 'cluster-ca', client);
  pki.leaf('stranger', 'other-ca', client);
  // The router reads its pair from a directory laid out like a Kubernetes TLS Secret.
  const certDir = join(dir, 'router-tls');
  mkdirSync(certDir);
  copyFileSync(join(dir, 'router.crt'), join(certDir, 'tls.crt'));
  copyFileSync(join(dir, 'router.key'), join(certDir, 'tls.key'));
  copyFileSync(join(dir, 'cluster-ca.crt'), join(certDir, 'ca.crt'));
  registry.registerMetric(new Counter({ name: 'mtls_probe_total', help: 'probe', registers: [] }));
  server = await startMetricsServer({
    host: '127.0.0.1',
    port: 0,
    registry,
    mutualTls: {
      certDir,
      clientCaFile: join(certDir, 'ca.crt'),
      clientNames: ['switchyard-prometheus'],
    },
  });
});

afterAll(async () => {
  await server.close();
  pki.cleanup();
});

const scrape = (client: string | undefined): Promise<{ status: number; body: string }> =>
  scrapeOverTls(pki, { port: server.port, ca: 'cluster-ca', ...(client === undefined ? {} : { client }) });

describe('metrics over mutual TLS', () => {
  it('answers the allowed client certificate from the cluster CA', async () => {
    const answer = await scrape('switchyard-prometheus');
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('mtls_probe_total');
  });

  it('refuses a certificate of the same CA with another name', async () => {
    expect((await scrape('intruder')).status).toBe(403);
  });

  it('refuses clients without a certificate, or with one of another CA, at the handshake', async () => {
    await expect(scrape(undefined)).rejects.toThrow();
    await expect(scrape('stranger')).rejects.toThrow();
  });
});
