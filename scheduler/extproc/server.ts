// The Envoy external-processing gRPC server (port 9002 in the cluster): one bidirectional stream per HTTP
// request, handled by ExtProcStream.
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { estimatePromptTokens } from '../core/index.ts';
import type { RoutingService } from '../routing-service.ts';
import type { RouterMetrics } from '../telemetry/metrics.ts';
import { externalProcessorService } from './codec.ts';
import type { ProcessingRequest, ProcessingResponse } from './messages.ts';
import { ExtProcStream } from './request-stream.ts';
import type { ExtProcDeps } from './request-stream.ts';
import { CertDirIdentityProvider, certDirCredentials } from './tls.ts';

export interface ExtProcServerOptions {
  readonly host: string;
  readonly port: number;
  readonly service: RoutingService;
  /** Serve TLS with tls.crt / tls.key from this directory, reloaded on change. */
  readonly tls?: { readonly certDir: string; readonly reloadIntervalMs?: number };
  /** Largest gRPC message accepted or sent (default 16 MiB; Envoy's body chunks are far smaller). */
  readonly maxMessageBytes?: number;
  /** Largest request body buffered for routing (default 32 MiB); larger bodies get 413. */
  readonly maxBodyBytes?: number;
  readonly metrics?: RouterMetrics;
  /** Routing ids in use, shared with the HTTP proxy (one set per router). */
  readonly activeIds?: Set<string>;
  /** Reports problems for the log: a TLS reload that found no valid pair, an unexpected failure on a stream. */
  readonly onError?: (error: Error) => void;
}

export interface ExtProcServer {
  readonly port: number;
  /** ext_proc streams currently open. */
  openStreams(): number;
  /** Stops accepting streams, lets open ones finish for up to `graceMs`, then cancels the rest. */
  close(graceMs: number): Promise<void>;
}

const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;

export async function startExtProcServer(options: ExtProcServerOptions): Promise<ExtProcServer> {
  const deps: ExtProcDeps = {
    service: options.service,
    metrics: options.metrics,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    tokenize: estimatePromptTokens,
    random: Math.random,
    activeIds: options.activeIds ?? new Set(),
    ...(options.onError !== undefined ? { reportError: options.onError } : {}),
  };
  return serveExtProc(options, (sink) => new ExtProcStream(deps, sink));
}

/** What one ext_proc stream needs from its handler. */
export interface ExtProcHandler {
  handle(message: ProcessingRequest): void;
  close(how: 'ended' | 'cancelled' | 'error'): void;
}

/** The gRPC side every ext_proc server shares: limits, keepalive, TLS, stream lifecycle and draining. */
export async function serveExtProc(
  options: Pick<ExtProcServerOptions, 'host' | 'port' | 'tls' | 'maxMessageBytes' | 'onError'>,
  createHandler: (sink: { send(response: ProcessingResponse): void; end(): void }) => ExtProcHandler,
): Promise<ExtProcServer> {
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const server = new Server({
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
    // Envoy keeps its ext_proc connections open for a long time: probe idle ones so dead peers are noticed.
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    // Envoy may ping every few seconds while streams are open; do not treat that as abuse.
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  });
  const open = new Set<ExtProcHandler>();

  server.addService(externalProcessorService, {
    Process: (call: ServerDuplexStream<ProcessingRequest, ProcessingResponse>) => {
      let ended = false;
      const stream = createHandler({
        send: (response) => {
          if (!ended) {
            call.write(response);
          }
        },
        end: () => {
          if (!ended) {
            ended = true;
            call.end();
          }
        },
      });
      open.add(stream);
      const close = (how: 'ended' | 'cancelled' | 'error'): void => {
        stream.close(how);
        open.delete(stream);
      };
      // grpc-js reports a cancel (RST_STREAM) as 'end' followed, a few ticks later, by 'cancelled'; a clean
      // half-close is 'end' alone, and after our status is out grpc-js may still emit 'cancelled'. So the
      // stream is only treated as ended cleanly once the status went out ('finish') without a cancel first.
      let finished = false;
      call.on('data', (message: ProcessingRequest) => stream.handle(message));
      call.on('end', () => {
        setImmediate(() => {
          if (!ended) {
            ended = true;
            call.end();
          }
        });
      });
      call.on('finish', () => {
        finished = true;
        close('ended');
      });
      call.on('cancelled', () => {
        ended = true;
        if (!finished) {
          close('cancelled');
        }
      });
      call.on('error', () => {
        ended = true;
        close('error');
      });
      call.on('close', () => close(finished ? 'ended' : 'cancelled'));
    },
  });

  let provider: CertDirIdentityProvider | undefined;
  let credentials = ServerCredentials.createInsecure();
  if (options.tls !== undefined) {
    provider = new CertDirIdentityProvider(options.tls.certDir, {
      ...(options.tls.reloadIntervalMs !== undefined
        ? { reloadIntervalMs: options.tls.reloadIntervalMs }
        : {}),
      ...(options.onError !== undefined ? { onReloadError: options.onError } : {}),
    });
    credentials = certDirCredentials(provider);
  }

  const address = options.host.includes(':')
    ? `[${options.host}]:${options.port}`
    : `${options.host}:${options.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, credentials, (error, boundPort) =>
      error ? reject(error) : resolve(boundPort),
    );
  }).catch((error: unknown) => {
    provider?.close();
    throw new Error(`ext_proc server: cannot listen on ${address}: ${(error as Error).message}`, {
      cause: error,
    });
  });

  let closing: Promise<void> | undefined;
  return {
    port,
    openStreams: () => open.size,
    close(graceMs: number): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        let done = false;
        const finish = (): void => {
          if (done) {
            return;
          }
          done = true;
          clearTimeout(timer);
          for (const stream of open) {
            stream.close('cancelled');
          }
          open.clear();
          provider?.close();
          resolve();
        };
        // forceShutdown cancels every open stream at once; grpc-js may report the end of tryShutdown much
        // later (after its session timers), so the grace period alone bounds how long closing takes.
        const timer = setTimeout(() => {
          server.forceShutdown();
          finish();
        }, graceMs);
        server.tryShutdown(finish);
      });
      return closing;
    },
  };
}
