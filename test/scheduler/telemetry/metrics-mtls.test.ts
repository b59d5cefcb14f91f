// The metrics port with mutual TLS, on loopback with real certificates: a cluster CA (made with openssl, as
// cert-manager's CA issuer would sign them) signs the router's serving pair and Prometheus's client pair.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMetricsServer, type MetricsServer } from '../../../scheduler/telemetry/server.ts';

const dir = mkdtempSync(join(tmpdir(), 'metrics-mtls-'));
const openssl = (...args: string[]): void => {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
};

function makeCa(name: string): void {
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
  );
}

/** A key and a certificate for `name`, signed by `signer`, with the extensions in `<name>.ext`. */
function makeLeaf(name: string, signer: string): void {
  openssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
  );
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${signer}.crt`,
    '-CAkey',
    `${signer}.key`,
    '-CAcreateserial',
    '-days',
    '1',
    '-out',
    `${name}.crt`,
    '-extfile',
    `${name}.ext`,
  );
}

let server: MetricsServer;
const registry = new Registry();

beforeAll(async () => {
  makeCa('cluster-ca');
  makeCa('other-ca');
  const write = (file: string, text: string): void => writeFileSync(join(dir, file), text);
  write('router.ext', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  write('switchyard-prometheus.ext', 'extendedKeyUsage=clientAuth\n');
  write('intruder.ext', 'extendedKeyUsage=clientAuth\n');
  write('stranger.ext', 'extendedKeyUsage=clientAuth\n');
  makeLeaf('router', 'cluster-ca');
  makeLeaf('switchyard-prometheus', 'cluster-ca');
  makeLeaf('intruder', 'cluster-ca');
  makeLeaf('stranger', 'other-ca');
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
  rmSync(dir, { recursive: true, force: true });
});

function scrape(client: string | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path: '/metrics',
        ca: readFileSync(join(dir, 'cluster-ca.crt')),
        ...(client === undefined
          ? {}
          : {
              cert: readFileSync(join(dir, `${client}.crt`)),
              key: readFileSync(join(dir, `${client}.key`)),
            }),
        timeout: 5000,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

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
