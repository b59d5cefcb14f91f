import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelCredentials, makeGenericClientConstructor, status } from '@grpc/grpc-js';
import type { Client, ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import { healthService } from '../../../scheduler/extproc/codec.ts';
import { ServingStatus } from '../../../scheduler/extproc/messages.ts';
import type {
  HealthCheckRequest,
  HealthCheckResponse,
  HealthListResponse,
} from '../../../scheduler/extproc/messages.ts';
import { startHealthServer } from '../../../scheduler/health/server.ts';
import type { HealthServer } from '../../../scheduler/health/server.ts';

const HealthClient = makeGenericClientConstructor(healthService, 'Health');

interface HealthMethods {
  Check(
    request: HealthCheckRequest,
    callback: (error: ServiceError | null, response?: HealthCheckResponse) => void,
  ): void;
  List(request: object, callback: (error: ServiceError | null, response?: HealthListResponse) => void): void;
  Watch(request: HealthCheckRequest): ClientReadableStream<HealthCheckResponse>;
}

function check(client: Client, service: string): Promise<number> {
  return new Promise((resolve, reject) => {
    (client as unknown as HealthMethods).Check({ service }, (error, response) =>
      error ? reject(error) : resolve(response?.status ?? -1),
    );
  });
}

describe('gRPC health server', () => {
  let ready = false;
  let server: HealthServer;
  let client: Client;

  beforeAll(async () => {
    server = await startHealthServer({ host: '127.0.0.1', port: 0, ready: () => ready, watchIntervalMs: 20 });
    client = new HealthClient(`127.0.0.1:${server.port}`, ChannelCredentials.createInsecure());
  });

  afterAll(async () => {
    client.close();
    await server.close(100);
  });

  it('reports liveness always and readiness only when ready, under the protocol service names', async () => {
    ready = false;
    expect(await check(client, 'liveness')).toBe(ServingStatus.SERVING);
    expect(await check(client, 'readiness')).toBe(ServingStatus.NOT_SERVING);
    expect(await check(client, 'envoy.service.ext_proc.v3.ExternalProcessor')).toBe(
      ServingStatus.NOT_SERVING,
    );
    expect(await check(client, '')).toBe(ServingStatus.NOT_SERVING);
    ready = true;
    expect(await check(client, 'readiness')).toBe(ServingStatus.SERVING);
    expect(await check(client, 'envoy.service.ext_proc.v3.ExternalProcessor')).toBe(ServingStatus.SERVING);
    expect(await check(client, '')).toBe(ServingStatus.SERVING);
  });

  it('lists every service', async () => {
    ready = true;
    const listed = await new Promise<HealthListResponse | undefined>((resolve, reject) => {
      (client as unknown as HealthMethods).List({}, (error, response) =>
        error ? reject(error) : resolve(response),
      );
    });
    expect(Object.keys(listed?.statuses ?? {}).sort()).toEqual(
      ['', 'envoy.service.ext_proc.v3.ExternalProcessor', 'liveness', 'readiness'].sort(),
    );
  });

  it('streams readiness changes to watchers', async () => {
    ready = true;
    const watch = (client as unknown as HealthMethods).Watch({ service: 'readiness' });
    const seen: number[] = [];
    watch.on('data', (response: HealthCheckResponse) => seen.push(response.status));
    const ended = new Promise<number>((resolve) =>
      watch.on('error', (error: ServiceError) => resolve(error.code)),
    );
    while (seen.length < 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    ready = false;
    while (seen.length < 2) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(seen).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    watch.cancel();
    expect(await ended).toBe(status.CANCELLED);
  });
});
