// Throwaway certificate authorities and certificates made with openssl in a temporary directory, the way
// cert-manager's CA issuer signs them: P-256 keys, a CA valid for two days, leaves for one.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface Leaf {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface TestPki {
  readonly dir: string;
  /** A self-signed CA; returns the path of its certificate (PEM). */
  ca(name: string): string;
  /**
   * A key and certificate for `name` signed by the CA `signer`, with these X.509 v3 extension lines, e.g.
   * `subjectAltName=DNS:vllm.ns.svc` and `extendedKeyUsage=serverAuth`.
   */
  leaf(name: string, signer: string, extensions: readonly string[]): Leaf;
  /** A server certificate for these subject alternative names (`DNS:…`, `IP:…`). */
  server(name: string, signer: string, altNames: readonly string[]): Leaf;
  cleanup(): void;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export function createTestPki(prefix = 'test-pki-'): TestPki {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const leaf = (name: string, signer: string, extensions: readonly string[]): Leaf => {
    writeFileSync(join(dir, `${name}.ext`), extensions.map((line) => `${line}\n`).join(''));
    openssl('req', ...EC_KEY, '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
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
    return { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
  };
  return {
    dir,
    ca(name) {
      openssl(
        'req',
        '-x509',
        ...EC_KEY,
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.crt`,
      );
      return join(dir, `${name}.crt`);
    },
    leaf,
    server: (name, signer, altNames) =>
      leaf(name, signer, [`subjectAltName=${altNames.join(',')}`, 'extendedKeyUsage=serverAuth']),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * GET /metrics from 127.0.0.1:port over HTTPS, verifying the server against the PKI's CA `ca` (and `servername`,
 * when given), presenting the client pair `client` of the PKI when given.
 */
export function scrapeOverTls(
  pki: TestPki,
  options: {
    readonly port: number;
    readonly ca: string;
    readonly client?: string;
    readonly servername?: string;
  },
): Promise<{ status: number; body: string }> {
  const { client } = options;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: options.port,
        path: '/metrics',
        ...(options.servername === undefined ? {} : { servername: options.servername }),
        ca: readFileSync(join(pki.dir, `${options.ca}.crt`)),
        ...(client === undefined
          ? {}
          : {
              cert: readFileSync(join(pki.dir, `${client}.crt`)),
              key: readFileSync(join(pki.dir, `${client}.key`)),
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
