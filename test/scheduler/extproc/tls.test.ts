import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelCredentials } from '@grpc/grpc-js';
import { startExtProcServer } from '../../../scheduler/extproc/server.ts';
import type { ExtProcServer } from '../../../scheduler/extproc/server.ts';
import { EnvoyStream, connectExtProc, mutatedHeader } from './envoy-client.ts';
import { routingFixture } from './routing-fixture.ts';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A self-signed certificate for 127.0.0.1, written as tls.crt / tls.key the way kubelet updates a secret. */
function writeSelfSigned(dir: string): Buffer {
  const staging = mkdtempSync(join(dir, '.staging-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(staging, 'tls.key'),
      '-out',
      join(staging, 'tls.crt'),
      '-days',
      '1',
      '-subj',
      '/CN=router',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  renameSync(join(staging, 'tls.key'), join(dir, 'tls.key'));
  renameSync(join(staging, 'tls.crt'), join(dir, 'tls.crt'));
  rmSync(staging, { recursive: true });
  return readFileSync(join(dir, 'tls.crt'));
}

async function routes(port: number, trusted: Buffer): Promise<boolean> {
  const client = connectExtProc(port, ChannelCredentials.createSsl(trusted), {
    // A fresh connection per check, so the handshake sees the certificate served now.
    'grpc.use_local_subchannel_pool': 1,
    // Verify the certificate for a host name (TLS server names must not be IP addresses).
    'grpc.ssl_target_name_override': 'localhost',
  });
  try {
    const stream = new EnvoyStream(client);
    stream.requestHeaders({ ':method': 'GET', ':path': '/v1/models' }, true);
    const outcome = await Promise.race([
      stream.waitFor(1, 3000).then(() => 'ok'),
      stream.ended.then(() => 'closed'),
    ]);
    if (outcome !== 'ok') {
      return false;
    }
    expect(mutatedHeader(stream.received[0], 'x-gateway-destination-endpoint')).toBe('10.0.0.1:8000');
    stream.end();
    return true;
  } finally {
    client.close();
  }
}

describe.skipIf(!hasOpenssl())('ext_proc server over TLS', () => {
  let dir: string;
  let server: ExtProcServer;
  let firstCert: Buffer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'extproc-tls-'));
    firstCert = writeSelfSigned(dir);
    server = await startExtProcServer({
      host: '127.0.0.1',
      port: 0,
      service: routingFixture({ endpoints: ['10.0.0.1:8000'] }),
      tls: { certDir: dir, reloadIntervalMs: 100 },
    });
  });

  afterAll(async () => {
    await server.close(100);
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves with the certificate from the directory and switches when it is replaced', async () => {
    expect(await routes(server.port, firstCert)).toBe(true);
    const secondCert = writeSelfSigned(dir);
    let switched = false;
    const deadline = Date.now() + 5000;
    while (!switched && Date.now() < deadline) {
      switched = await routes(server.port, secondCert);
    }
    expect(switched).toBe(true);
    expect(await routes(server.port, firstCert)).toBe(false);
  });

  it('refuses to start when the directory holds no valid pair', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'extproc-tls-empty-'));
    await expect(
      startExtProcServer({
        host: '127.0.0.1',
        port: 0,
        service: routingFixture({ endpoints: [] }),
        tls: { certDir: empty },
      }),
    ).rejects.toThrow(/TLS: cannot read .*tls\.crt/);
    rmSync(empty, { recursive: true });
  });
});
