// The composition root turns a scheduler configuration with a `flowControl` section into queueing adapters.
// The only endpoint accepts connections and never answers, so its metrics never arrive and the pool counts
// as saturated: with flow control a request waits and expires with 429, where without it the request would
// be sent and hang. (An endpoint that refuses connections is ejected instead: 503 rejected-no-endpoints.)
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRouterArgs } from '../../../scheduler/service/flags.ts';
import { jsonLogger } from '../../../scheduler/service/log.ts';
import { startRouter, type RunningRouter } from '../../../scheduler/service/router-app.ts';
import { until } from '../extproc/envoy-client.ts';
import { LOOPBACK_FLAGS } from './router-process.ts';

const CONFIG = `
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: active-request-scorer
- type: utilization-detector
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: active-request-scorer
flowControl: { maxQueuedRequests: 10, requestTtl: 1500ms, fairness: round-robin }
`;

/** A loopback server that accepts connections and never answers. */
async function silentServer(): Promise<{ port: number; close: () => void }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

describe('router composition root with flow control', () => {
  let router: RunningRouter | undefined;
  let silent: { port: number; close: () => void } | undefined;

  afterEach(async () => {
    await router?.shutdown(100);
    router = undefined;
    silent?.close();
  });

  it('queues requests while the pool is saturated and expires them with 429 after the TTL', async () => {
    const options = parseRouterArgs(
      [
        'node',
        'router',
        ...LOOPBACK_FLAGS,
        '--secure-serving=false',
        '--static-endpoints',
        `127.0.0.1:${(silent = await silentServer()).port}`,
        '--config-text',
        CONFIG,
      ],
      {},
    );
    const lines: string[] = [];
    router = await startRouter(
      options,
      jsonLogger((line) => lines.push(line)),
    );
    const running = router;
    const answer = fetch(`http://127.0.0.1:${String(running.ports.http)}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', prompt: 'hello' }),
    });
    await until(() => running.service.queuedCount() === 1);
    const exposition = await (
      await fetch(`http://127.0.0.1:${String(running.ports.metrics)}/metrics`)
    ).text();
    expect(exposition).toContain('llm_d_epp_flow_control_queue_size{name="static"} 1');
    const response = await answer;
    expect(response.status).toBe(429);
    expect(response.headers.get('x-llm-d-request-dropped-reason')).toBe('rejected-ttl-expired');
    expect(await response.json()).toMatchObject({ error: { code: 'rejected-ttl-expired' } });
    expect(router.service.queuedCount()).toBe(0);
    expect(router.service.inFlightCount()).toBe(0);
  });
});
