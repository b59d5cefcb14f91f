// How the router reaches model servers for every HTTP call it makes to them (/metrics, /tokenize, forwarded
// requests): plain HTTP, or HTTPS as vLLM serves it with --ssl-certfile / --ssl-keyfile. With HTTPS the
// server's certificate is verified against a CA bundle, for a fixed server name (a Service name the
// certificate lists) or else for the endpoint's IP. The bundle is re-read when it changes (cert-manager renews
// CAs in place): connections opened afterwards verify against the new bundle, open ones are kept.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { buildConnector } from 'undici';
import { reloadOnChange, type ChangeWatch } from '../reload-on-change.ts';
import { endpointKey } from './endpoint-registry.ts';

export type ModelServerScheme = 'http' | 'https';

export interface ModelServerTlsSettings {
  /** PEM bundle the servers' certificates must chain to; undefined only with insecureSkipVerify. */
  readonly caFile: string | undefined;
  /** Sent as SNI and required in the certificate; undefined: the endpoint's IP must be in it. */
  readonly serverName: string | undefined;
  /** Accept any certificate, unverified. */
  readonly insecureSkipVerify: boolean;
}

/** What an undici Agent takes as its `connect` option: connector settings, or a connector of its own. */
export type ConnectOption = Partial<buildConnector.BuildOptions> | buildConnector.connector;

export interface ModelServerTransport {
  readonly scheme: ModelServerScheme;
  /** `scheme://host:port` of an endpoint, an IPv6 address in brackets. */
  origin(address: string, port: number): string;
  /** The `connect` option of an undici Agent that dials model servers within `timeoutMs`. */
  connect(timeoutMs: number): ConnectOption;
  /** Re-reads the CA bundle now (it is also re-read when it changes, and polled). */
  reload(): void;
  /** Stops watching the CA bundle. */
  close(): void;
}

export const PLAIN_HTTP: ModelServerTransport = {
  scheme: 'http',
  // An endpoint's key is its URL authority: host:port, an IPv6 address in brackets.
  origin: (address, port) => `http://${endpointKey(address, port)}`,
  connect: (timeoutMs) => ({ timeout: timeoutMs }),
  reload: () => undefined,
  close: () => undefined,
};

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The certificates of a PEM bundle; throws, naming the file, when there is none or one does not parse. */
export function parseCaBundle(text: string, file: string): string[] {
  const pems = text.match(PEM_CERTIFICATE) ?? [];
  if (pems.length === 0) {
    throw new Error(`${file}: no PEM certificate ("-----BEGIN CERTIFICATE-----") in it`);
  }
  pems.forEach((pem, index) => {
    try {
      new X509Certificate(pem);
    } catch (err) {
      throw new Error(
        `${file}: certificate ${String(index + 1)} of ${String(pems.length)} does not parse: ${(err as Error).message}`,
        { cause: err },
      );
    }
  });
  return pems;
}

function readCaText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read it: ${(err as Error).message}`, { cause: err });
  }
}

export interface HttpsTransportHooks {
  /** How often the CA bundle is re-read besides on watch events (default 10 s). */
  readonly reloadIntervalMs?: number;
  /** A changed bundle was loaded. */
  readonly onReload?: (file: string, certificates: number) => void;
  /** A changed bundle did not load; the previous one stays in use. */
  readonly onReloadError?: (error: Error) => void;
}

class HttpsTransport implements ModelServerTransport {
  readonly scheme = 'https';
  readonly #settings: ModelServerTlsSettings;
  readonly #hooks: HttpsTransportHooks;
  #caText: string | undefined;
  /** The last content that did not parse, not parsed again on every poll. */
  #rejectedText: string | undefined;
  /** The last reload failure reported: the same one is reported once, not on every poll. */
  #reportedError: string | undefined;
  #ca: readonly string[] | undefined;
  /** Bumped with every new bundle, so that each agent's connector is rebuilt with it. */
  #generation = 0;
  readonly #changes: ChangeWatch | undefined;

  constructor(settings: ModelServerTlsSettings, hooks: HttpsTransportHooks) {
    this.#settings = settings;
    this.#hooks = hooks;
    const file = settings.caFile;
    if (file !== undefined) {
      this.#caText = readCaText(file);
      this.#ca = parseCaBundle(this.#caText, file);
      this.#changes = reloadOnChange(dirname(file), () => this.reload(), hooks.reloadIntervalMs ?? 10_000);
    }
  }

  origin(address: string, port: number): string {
    return `https://${endpointKey(address, port)}`;
  }

  connect(timeoutMs: number): ConnectOption {
    const serverName = this.#settings.serverName;
    let built: { generation: number; dial: buildConnector.connector } | undefined;
    return (options, callback) => {
      if (built === undefined || built.generation !== this.#generation) {
        built = { generation: this.#generation, dial: this.#connector(timeoutMs) };
      }
      // undici derives a server name from a host name in the URL; the configured one wins over it.
      built.dial(serverName === undefined ? options : { ...options, servername: serverName }, callback);
    };
  }

  #connector(timeoutMs: number): buildConnector.connector {
    const { serverName, insecureSkipVerify } = this.#settings;
    return buildConnector({
      timeout: timeoutMs,
      // vLLM (uvicorn) speaks HTTP/1.1 only; the proxy relays responses as HTTP/1.1 chunks.
      allowH2: false,
      rejectUnauthorized: !insecureSkipVerify,
      ...(this.#ca !== undefined ? { ca: [...this.#ca] } : {}),
      ...(serverName !== undefined ? { servername: serverName } : {}),
    });
  }

  /** Re-reads the CA bundle; switches to it when it changed and parses. */
  reload(): void {
    const file = this.#settings.caFile;
    if (file === undefined) return;
    let text: string;
    let certificates: string[];
    try {
      text = readCaText(file);
    } catch (err) {
      // Deleted, or caught between two swaps: the next change or poll tries again.
      this.#reloadFailed(err as Error);
      return;
    }
    if (text === this.#caText) {
      // Back to the bundle in use after a failure: a later failure is news again.
      this.#rejectedText = undefined;
      this.#reportedError = undefined;
      return;
    }
    if (text === this.#rejectedText) return;
    try {
      certificates = parseCaBundle(text, file);
    } catch (err) {
      this.#rejectedText = text;
      this.#reloadFailed(err as Error);
      return;
    }
    this.#caText = text;
    this.#rejectedText = undefined;
    this.#reportedError = undefined;
    this.#ca = certificates;
    this.#generation++;
    this.#hooks.onReload?.(file, certificates.length);
  }

  #reloadFailed(error: Error): void {
    if (error.message === this.#reportedError) return;
    this.#reportedError = error.message;
    this.#hooks.onReloadError?.(error);
  }

  close(): void {
    this.#changes?.close();
  }
}

/**
 * The transport for a scheme. With https the CA bundle is read at once: a missing or unparseable file throws,
 * naming it.
 */
export function modelServerTransport(
  scheme: ModelServerScheme,
  tls: ModelServerTlsSettings | undefined,
  hooks: HttpsTransportHooks = {},
): ModelServerTransport {
  if (scheme === 'http') return PLAIN_HTTP;
  return new HttpsTransport(
    tls ?? { caFile: undefined, serverName: undefined, insecureSkipVerify: false },
    hooks,
  );
}
