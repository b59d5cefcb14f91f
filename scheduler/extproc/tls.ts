// TLS for the ext_proc server with the certificate and key from a mounted directory (a Kubernetes TLS
// secret: tls.crt and tls.key), reloaded when they change (see reload-on-change.ts); a new pair is only used
// once it loads as a valid pair, so a half-written update never breaks serving.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { experimental } from '@grpc/grpc-js';
import type { ServerCredentials } from '@grpc/grpc-js';
import { reloadOnChange, type ChangeWatch } from '../reload-on-change.ts';

type IdentityListener = experimental.IdentityCertificateUpdateListener;

export const CERT_FILE = 'tls.crt';
export const KEY_FILE = 'tls.key';

interface KeyPair {
  readonly certificate: Buffer;
  readonly privateKey: Buffer;
}

function readPair(certDir: string): KeyPair {
  const certPath = join(certDir, CERT_FILE);
  const keyPath = join(certDir, KEY_FILE);
  let certificate: Buffer;
  let privateKey: Buffer;
  try {
    certificate = readFileSync(certPath);
    privateKey = readFileSync(keyPath);
  } catch (error) {
    throw new Error(`TLS: cannot read ${certPath} and ${keyPath}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    createSecureContext({ cert: certificate, key: privateKey });
  } catch (error) {
    throw new Error(
      `TLS: ${certPath} and ${keyPath} are not a valid certificate and key pair: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return { certificate, privateKey };
}

/** A grpc-js certificate provider serving the identity found in `certDir`. */
export class CertDirIdentityProvider implements experimental.CertificateProvider {
  private readonly certDir: string;
  private current: KeyPair;
  private readonly listeners = new Set<IdentityListener>();
  private readonly changes: ChangeWatch;
  private readonly onReloadError: (error: Error) => void;

  constructor(
    certDir: string,
    options: { reloadIntervalMs?: number; onReloadError?: (error: Error) => void } = {},
  ) {
    this.certDir = certDir;
    this.current = readPair(certDir);
    this.onReloadError = options.onReloadError ?? (() => undefined);
    this.changes = reloadOnChange(certDir, () => this.reload(), options.reloadIntervalMs ?? 10_000);
  }

  /** Re-reads the directory; switches to the new pair when it changed and is valid. */
  reload(): void {
    let next: KeyPair;
    try {
      next = readPair(this.certDir);
    } catch (error) {
      this.onReloadError(error as Error);
      return;
    }
    if (
      next.certificate.equals(this.current.certificate) &&
      next.privateKey.equals(this.current.privateKey)
    ) {
      return;
    }
    this.current = next;
    for (const listener of this.listeners) {
      listener(next);
    }
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.listeners.add(listener);
    const current = this.current;
    process.nextTick(() => listener(current));
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.listeners.delete(listener);
  }

  addCaCertificateListener(): void {
    // This provider serves only the server identity; clients are not asked for certificates.
  }

  removeCaCertificateListener(): void {}

  close(): void {
    this.changes.close();
    this.listeners.clear();
  }
}

export function certDirCredentials(provider: CertDirIdentityProvider): ServerCredentials {
  // grpc-js passes its first argument on as the identity provider and the second as the CA provider
  // (null: no client certificates), despite the parameter names in its type declarations.
  return experimental.createCertificateProviderServerCredentials(provider, null, false);
}
