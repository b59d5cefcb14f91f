// The router in body-based-routing mode, on loopback: a real gRPC ext_proc stream per request (as the gateway's
// filter opens it), the catalog file it reads and re-reads, and GET /v1/models on its HTTP port.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBodyRouter } from '../../../scheduler/bbr/body-router-app.ts';
import { parseModelCatalog } from '../../../scheduler/bbr/model-catalog.ts';
import { parseRouterArgs } from '../../../scheduler/service/flags.ts';
import { startLoopbackBodyRouter } from '../service/loopback-router.ts';
import { connectExtProc, EnvoyStream, mutatedHeader, streamedChunks } from '../extproc/envoy-client.ts';

const CATALOG = `
models:
  - name: meta-llama/Llama-3.1-8B-Instruct
    aliases: [llama-3.1-8b]
    adapters: []
  - name: Qwen/Qwen2.5-0.5B-Instruct
    aliases: []
    adapters: [qwen-sql]
clientObjectives: [batch]
`;

let dir: string;
let file: string;
let router: RunningBodyRouter;
let client: Client;
const logs: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-bbr-'));
  file = join(dir, 'models.yaml');
  writeFileSync(file, CATALOG);
  router = await startLoopbackBodyRouter(file, (line) => logs.push(line));
  client = connectExtProc(router.ports.grpc);
});

afterAll(async () => {
  client.close();
  await router.shutdown(100);
  rmSync(dir, { recursive: true, force: true });
});

async function route(path: string, body: string): Promise<EnvoyStream> {
  const stream = new EnvoyStream(client);
  stream.requestHeaders({ ':path': path, ':method': 'POST', 'content-type': 'application/json' }, false);
  stream.requestBody(Buffer.from(body), true);
  // The header answer (or an immediate response); a routed body follows in streamed chunks.
  await stream.waitFor(1);
  return stream;
}

const chat = (model: string): string =>
  JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }], max_tokens: 4 });

describe('body-based routing on the shared endpoint', () => {
  it("names the model's served name in a header for a served name, an alias and an adapter, body intact", async () => {
    for (const [model, servedName] of [
      ['meta-llama/Llama-3.1-8B-Instruct', 'meta-llama/Llama-3.1-8B-Instruct'],
      ['llama-3.1-8b', 'meta-llama/Llama-3.1-8B-Instruct'],
      ['qwen-sql', 'Qwen/Qwen2.5-0.5B-Instruct'],
    ] as const) {
      const body = chat(model);
      const stream = await route('/v1/chat/completions', body);
      await stream.waitFor(2);
      const [headers] = stream.received;
      expect(mutatedHeader(headers, 'x-gateway-model-name')).toBe(servedName);
      // The gateway must match its routes again, now with the header.
      expect(headers?.requestHeaders?.response?.clearRouteCache).toBe(true);
      const chunks = streamedChunks(stream.received, 'requestBody');
      expect(Buffer.concat(chunks.map((c) => c.body)).toString()).toBe(body);
      expect(chunks.at(-1)?.endOfStream).toBe(true);
      stream.end();
    }
  });

  it('answers a model the environment does not serve with 404, and a body without one with 400', async () => {
    const unknown = await route('/v1/chat/completions', chat('gpt-4o'));
    const answer = unknown.received[0]?.immediateResponse;
    expect(answer?.status?.code).toBe(404);
    expect(JSON.parse(Buffer.from(answer?.body ?? []).toString())).toMatchObject({
      error: { type: 'not_found_error', code: 'model_not_found' },
    });
    const missing = await route('/v1/completions', JSON.stringify({ prompt: 'hi' }));
    expect(missing.received[0]?.immediateResponse?.status?.code).toBe(400);
    const broken = await route('/v1/completions', '{"model": ');
    expect(broken.received[0]?.immediateResponse?.status?.code).toBe(400);
  });

  it("streams a model's own path through without reading the body or setting the header", async () => {
    const stream = new EnvoyStream(client);
    stream.requestHeaders({ ':path': '/llm/llama-8b/v1/chat/completions', ':method': 'POST' }, false);
    await stream.waitFor(1);
    expect(mutatedHeader(stream.received[0], 'x-gateway-model-name')).toBeUndefined();
    // Each chunk comes back as it arrives: nothing waits for the end of the body.
    stream.requestBody(Buffer.from('not json, '), false);
    await stream.waitFor(2);
    stream.requestBody(Buffer.from('and never parsed'), true);
    await stream.waitFor(3);
    expect(Buffer.concat(streamedChunks(stream.received, 'requestBody').map((c) => c.body)).toString()).toBe(
      'not json, and never parsed',
    );
    stream.end();
  });

  it('lists every served name, alias and adapter on GET /v1/models', async () => {
    const response = await fetch(`http://127.0.0.1:${router.ports.http}/v1/models`);
    expect(response.status).toBe(200);
    const list = (await response.json()) as { object: string; data: { id: string; parent: string | null }[] };
    expect(list.object).toBe('list');
    expect(list.data.map((entry) => [entry.id, entry.parent])).toEqual([
      ['meta-llama/Llama-3.1-8B-Instruct', null],
      ['llama-3.1-8b', 'meta-llama/Llama-3.1-8B-Instruct'],
      ['Qwen/Qwen2.5-0.5B-Instruct', null],
      ['qwen-sql', 'Qwen/Qwen2.5-0.5B-Instruct'],
    ]);
    expect((await fetch(`http://127.0.0.1:${router.ports.http}/v1/chat/completions`)).status).toBe(404);
  });

  it('routes a model added to the catalog without a restart, and keeps the last good catalog on a bad one', async () => {
    writeFileSync(file, CATALOG.replace('models:\n', 'models:\n  - name: mistral\n'));
    await router.reloadCatalog();
    const added = await route('/v1/chat/completions', chat('mistral'));
    expect(mutatedHeader(added.received[0], 'x-gateway-model-name')).toBe('mistral');
    writeFileSync(file, 'models: [{name: a}, {name: a}]\n');
    await router.reloadCatalog();
    expect(logs.some((line) => line.includes('keeping the last good one'))).toBe(true);
    const still = await route('/v1/chat/completions', chat('mistral'));
    expect(mutatedHeader(still.received[0], 'x-gateway-model-name')).toBe('mistral');
  });
});

describe('the headers only the platform may set', () => {
  const attack = {
    'x-gateway-destination-endpoint': '10.0.0.9:8000',
    'x-gateway-destination-endpoint-subset': '10.0.0.9:8000',
    'x-llm-d-model-name-rewrite': 'meta-llama/Llama-3.1-8B-Instruct',
    'x-gateway-model-name': 'meta-llama/Llama-3.1-8B-Instruct',
    'x-llm-d-inference-fairness-id': 'someone-else',
  };

  it('are removed from a shared-endpoint request, with a priority the client may not choose', async () => {
    const stream = new EnvoyStream(client);
    stream.requestHeaders(
      {
        ':path': '/v1/chat/completions',
        ':method': 'POST',
        ...attack,
        'x-llm-d-inference-objective': 'premium',
      },
      false,
    );
    stream.requestBody(Buffer.from(chat('qwen-sql')), true);
    const [headers] = await stream.waitFor(1);
    const mutation = headers?.requestHeaders?.response?.headerMutation;
    expect([...(mutation?.removeHeaders ?? [])].sort()).toEqual(
      [...Object.keys(attack), 'x-llm-d-inference-objective'].sort(),
    );
    // The routing header is the router's own value, not the client's.
    expect(mutatedHeader(headers, 'x-gateway-model-name')).toBe('Qwen/Qwen2.5-0.5B-Instruct');
    stream.end();
  });

  it('keep an objective clients may choose, and are removed on every other path too', async () => {
    const own = new EnvoyStream(client);
    own.requestHeaders(
      {
        ':path': '/llm/llama-8b/v1/chat/completions',
        ':method': 'POST',
        ...attack,
        'x-llm-d-inference-objective': 'batch',
      },
      false,
    );
    const [answer] = await own.waitFor(1);
    expect([...(answer?.requestHeaders?.response?.headerMutation?.removeHeaders ?? [])].sort()).toEqual(
      Object.keys(attack).sort(),
    );
    expect(answer?.requestHeaders?.response?.clearRouteCache).toBe(true);
    own.end();
    const get = new EnvoyStream(client);
    get.requestHeaders({ ':path': '/v1/models', ':method': 'GET', 'x-gateway-model-name': 'x' }, true);
    const [listed] = await get.waitFor(1);
    expect(listed?.requestHeaders?.response?.headerMutation?.removeHeaders).toEqual(['x-gateway-model-name']);
    get.end();
  });
});

describe('the model catalog', () => {
  it('rejects a name two models claim', () => {
    expect(() =>
      parseModelCatalog('models: [{name: a, aliases: [b]}, {name: c, adapters: [b]}]', 'models.yaml'),
    ).toThrow('models.yaml: models[1].adapters: "b" is also a name of model "a"');
  });

  it('needs --model-catalog and no pool in body-based-routing mode', () => {
    expect(() => parseRouterArgs(['node', 'router', '--body-based-routing'], {})).toThrow(
      '--body-based-routing needs --model-catalog',
    );
    expect(() =>
      parseRouterArgs(
        ['node', 'router', '--body-based-routing', '--model-catalog', 'f', '--pool-name', 'p'],
        {},
      ),
    ).toThrow('give no --pool-name or --static-endpoints');
  });
});
