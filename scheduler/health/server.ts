// gRPC health (grpc.health.v1) on its own port (9003 in the cluster), with the service names the endpoint
// picker protocol mandates: `liveness` is SERVING while the process runs; `readiness`,
// `envoy.service.ext_proc.v3.ExternalProcessor` and "" are SERVING only while the router is ready (endpoints
// synced, not draining). As in llm-d without leader election, any other name gets the readiness answer.
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { ServerUnaryCall, ServerWritableStream, sendUnaryData } from '@grpc/grpc-js';
import { EXT_PROC_SERVICE_NAME, healthService } from '../extproc/codec.ts';
import { ServingStatus } from '../extproc/messages.ts';
import type {
  HealthCheckRequest,
  HealthCheckResponse,
  HealthListResponse,
  ServingStatusValue,
} from '../extproc/messages.ts';

export const HEALTH_SERVICE_NAMES = ['liveness', 'readiness', EXT_PROC_SERVICE_NAME, ''] as const;

export interface HealthServerOptions {
  readonly host: string;
  readonly port: number;
  /** True once discovery has synced and the router is not draining. */
  readonly ready: () => boolean;
  /** How often Watch streams re-check readiness (default 1000 ms). */
  readonly watchIntervalMs?: number;
}

export interface HealthServer {
  readonly port: number;
  close(graceMs: number): Promise<void>;
}

export function servingStatus(service: string, ready: boolean): ServingStatusValue {
  if (service === 'liveness') {
    return ServingStatus.SERVING;
  }
  return ready ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
}

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const server = new Server();
  const watchers = new Set<() => void>();
  const statusOf = (service: string | null | undefined): ServingStatusValue =>
    servingStatus(service ?? '', safeReady(options.ready));

  server.addService(healthService, {
    Check: (
      call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
      callback: sendUnaryData<HealthCheckResponse>,
    ) => {
      callback(null, { status: statusOf(call.request.service) });
    },
    Watch: (call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
      let last: ServingStatusValue | undefined;
      const check = (): void => {
        const current = statusOf(call.request.service);
        if (current !== last) {
          last = current;
          call.write({ status: current });
        }
      };
      const timer = setInterval(check, options.watchIntervalMs ?? 1000);
      const endWatch = (): void => {
        clearInterval(timer);
        call.end();
      };
      const stop = (): void => {
        clearInterval(timer);
        watchers.delete(endWatch);
      };
      watchers.add(endWatch);
      call.on('cancelled', stop);
      call.on('error', stop);
      check();
    },
    List: (
      _call: ServerUnaryCall<Record<string, never>, HealthListResponse>,
      callback: sendUnaryData<HealthListResponse>,
    ) => {
      const statuses: Record<string, HealthCheckResponse> = {};
      for (const name of HEALTH_SERVICE_NAMES) {
        statuses[name] = { status: statusOf(name) };
      }
      callback(null, { statuses });
    },
  });

  const address = options.host.includes(':')
    ? `[${options.host}]:${options.port}`
    : `${options.host}:${options.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (error, boundPort) =>
      error
        ? reject(new Error(`health server: cannot listen on ${address}: ${error.message}`, { cause: error }))
        : resolve(boundPort),
    );
  });

  let closing: Promise<void> | undefined;
  return {
    port,
    close(graceMs: number): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        for (const endWatch of watchers) {
          endWatch();
        }
        watchers.clear();
        // After the grace period open calls are cancelled; grpc-js may confirm the shutdown much later.
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return closing;
    },
  };
}

function safeReady(ready: () => boolean): boolean {
  try {
    return ready();
  } catch {
    return false;
  }
}
