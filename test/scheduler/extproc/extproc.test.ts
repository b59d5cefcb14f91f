import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ChannelCredentials, Client } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { startExtProcServer } from '../../../scheduler/extproc/server.ts';
import type { ProcessingResponse } from '../../../scheduler/extproc/messages.ts';
import { RouterMetrics } from '../../../scheduler/telemetry/metrics.ts';
import {
  EnvoyStream,
  connectExtProc,
  mutatedHeader,
  streamedChunks,
  subsetHint,
  until,
} from './envoy-client.ts';
import { startFixtureServer, stopFixtureServers, type FixtureServer } from './fixture-server.ts';
import { routingFixture } from './routing-fixture.ts';

const ENDPOINTS = ['10.0.0.1:8000', '10.0.0.2:8000', '10.0.0.3:8000'];
const POST_HEADERS = {
  ':method': 'POST',
  ':path': '/v1/chat/completions',
  'content-type': 'application/json',
};

const start = (options: Parameters<typeof startFixtureServer>[0], maxBodyBytes?: number) =>
  startFixtureServer(options, maxBodyBytes === undefined ? {} : { maxBodyBytes });

afterEach(stopFixtureServers);

function chatBody(model: string, extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({ model, messages: [{ role: 'user', content: 'Say hello to the router.' }], ...extra }),
  );
}

function immediateStatus(response: ProcessingResponse | undefined): number | undefined {
  return response?.immediateResponse?.status.code;
}

function immediateError(response: ProcessingResponse | undefined): { message: string; code: string | null } {
  const body = Buffer.from(response?.immediateResponse?.body ?? []).toString('utf8');
  return (JSON.parse(body) as { error: { message: string; code: string | null } }).error;
}

describe('ext_proc server, request path', () => {
  it('picks at once for a request without a body', async () => {
    const { client, service } = await start({ endpoints: ENDPOINTS });
    const stream = new EnvoyStream(client);
    stream.requestHeaders({ ':method': 'GET', ':path': '/v1/models' }, true);
    const [response] = await stream.waitFor(1);
    const destination = mutatedHeader(response, 'x-gateway-destination-endpoint');
    expect(ENDPOINTS).toContain(destination);
    expect(response?.requestHeaders?.response?.clearRouteCache).toBe(true);
    const lb = response?.dynamicMetadata?.fields?.['envoy.lb']?.structValue?.fields;
    expect(lb?.['x-gateway-destination-endpoint']?.stringValue).toBe(destination);
    stream.end();
    expect((await stream.ended).code).toBe(0);
    expect(service.inFlight()).toBe(0);
  });

  it('buffers a body split over many chunks and echoes it back after the routing headers', async () => {
    const { client, service } = await start({ endpoints: ENDPOINTS });
    const body = chatBody('qwen', { max_tokens: 50, padding: 'x'.repeat(9_000) });
    const stream = new EnvoyStream(client);
    stream.requestHeaders({ ...POST_HEADERS, 'x-request-id': 'many-chunks' }, false);
    const pieces = 40;
    const size = Math.ceil(body.length / pieces);
    for (let i = 0; i < pieces; i++) {
      stream.requestBody(body.subarray(i * size, (i + 1) * size), false);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stream.received).toHaveLength(0);
    stream.requestBody(Buffer.alloc(0), true);
    const responses = await stream.waitFor(2);
    expect(responses[0]?.requestHeaders).toBeDefined();
    expect(ENDPOINTS).toContain(mutatedHeader(responses[0], 'x-gateway-destination-endpoint'));
    expect(mutatedHeader(responses[0], 'content-length')).toBe(String(body.length));
    const chunks = streamedChunks(stream.received, 'requestBody');
    expect(Buffer.concat(chunks.map((chunk) => chunk.body)).equals(body)).toBe(true);
    expect(chunks.at(-1)?.endOfStream).toBe(true);
    expect(service.inFlight()).toBe(1);
    stream.end();
    await stream.ended;
    await until(() => service.inFlight() === 0);
  });

  it('echoes a very large body in chunks of at most 62,000 bytes', async () => {
    const { client } = await start({ endpoints: ENDPOINTS });
    const body = chatBody('qwen', { padding: 'y'.repeat(1_500_000) });
    const stream = new EnvoyStream(client);
    stream.requestHeaders(POST_HEADERS, false);
    for (let offset = 0; offset < body.length; offset += 16_384) {
      stream.requestBody(body.subarray(offset, offset + 16_384), offset + 16_384 >= body.length);
    }
    const expectedChunks = Math.ceil(body.length / 62_000);
    await stream.waitFor(1 + expectedChunks);
    const chunks = streamedChunks(stream.received, 'requestBody');
    expect(chunks).toHaveLength(expectedChunks);
    expect(chunks.every((chunk) => chunk.body.length <= 62_000)).toBe(true);
    expect(chunks.filter((chunk) => chunk.endOfStream)).toHaveLength(1);
    expect(Buffer.concat(chunks.map((chunk) => chunk.body)).equals(body)).toBe(true);
    stream.end();
    await stream.ended;
  });

  it('rewrites the model in the forwarded body and restores it in the response', async () => {
    const { client, service } = await start({ endpoints: ENDPOINTS, rewrites: { chat: 'qwen-2' } });
    const stream = new EnvoyStream(client);
    stream.requestHeaders(POST_HEADERS, false);
    stream.requestBody(chatBody('chat'), true);
    const responses = await stream.waitFor(2);
    const forwarded = Buffer.concat(streamedChunks(responses, 'requestBody').map((chunk) => chunk.body));
    expect((JSON.parse(forwarded.toString()) as { model: string }).model).toBe('qwen-2');
    expect(mutatedHeader(responses[0], 'content-length')).toBe(String(forwarded.length));
    stream.responseHeaders({ ':status': '200', 'content-type': 'application/json' }, false);
    const upstream = JSON.stringify({
      id: 'x',
      model: 'qwen-2',
      usage: { prompt_tokens: 12, completion_tokens: 3 },
    });
    stream.responseBody(Buffer.from(upstream.slice(0, 10)), false);
    stream.responseBody(Buffer.from(upstream.slice(10)), true);
    await until(() => streamedChunks(stream.received, 'responseBody').some((chunk) => chunk.endOfStream));
    const echoed = Buffer.concat(streamedChunks(stream.received, 'responseBody').map((chunk) => chunk.body));
    expect(JSON.parse(echoed.toString())).toMatchObject({ model: 'chat', usage: { prompt_tokens: 12 } });
    expect(service.inFlight()).toBe(0);
    stream.end();
    await stream.ended;
  });

  it('routes when request trailers end the body', async () => {
    const { client } = await start({ endpoints: ENDPOINTS });
    const body = chatBody('qwen');
    const stream = new EnvoyStream(client);
    stream.requestHeaders(POST_HEADERS, false);
    stream.requestBody(body, false);
    stream.call.write({ requestTrailers: { trailers: { headers: [] } } });
    const responses = await stream.waitFor(3);
    expect(responses[0]?.requestHeaders).toBeDefined();
    const chunks = streamedChunks(responses, 'requestBody');
    expect(Buffer.concat(chunks.map((chunk) => chunk.body)).equals(body)).toBe(true);
    expect(chunks.at(-1)?.endOfStream).toBe(false);
    expect(responses[2]?.requestTrailers).toBeDefined();
    stream.end();
    await stream.ended;
  });

  it('honours the subset hint, and answers 503 when no endpoint of the subset is ready', async () => {
    const { client } = await start({ endpoints: ENDPOINTS });
    for (let i = 0; i < 5; i++) {
      const stream = new EnvoyStream(client);
      stream.requestHeaders(POST_HEADERS, false, subsetHint(['10.0.0.3:8000']));
      stream.requestBody(chatBody('qwen'), true);
      const [headers] = await stream.waitFor(1);
      expect(mutatedHeader(headers, 'x-gateway-destination-endpoint')).toBe('10.0.0.3:8000');
      stream.end();
      await stream.ended;
    }
    const outside = new EnvoyStream(client);
    outside.requestHeaders(POST_HEADERS, false, subsetHint(['10.9.9.9:8000']));
    outside.requestBody(chatBody('qwen'), true);
    const [rejected] = await outside.waitFor(1);
    expect(immediateStatus(rejected)).toBe(503);
    expect(mutatedHeader(rejected, 'x-llm-d-request-dropped-reason')).toBe('rejected-no-endpoints');
    expect((await outside.ended).code).toBe(0);
  });
});

describe('ext_proc server, errors', () => {
  it('survives undecodable messages and keeps serving', async () => {
    const { server, client, service } = await start({ endpoints: ENDPOINTS });
    const raw = new Client(`127.0.0.1:${server.port}`, ChannelCredentials.createInsecure());
    const call = raw.makeBidiStreamRequest(
      '/envoy.service.ext_proc.v3.ExternalProcessor/Process',
      (bytes: Buffer) => bytes,
      (bytes: Buffer) => bytes,
    );
    const status = new Promise<number>((resolve) =>
      call.on('error', (error: ServiceError) => resolve(error.code)),
    );
    call.on('data', () => undefined);
    call.write(Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0x0f]));
    expect(await status).not.toBe(0);
    raw.close();
    const stream = new EnvoyStream(client);
    stream.requestHeaders(POST_HEADERS, false);
    stream.requestBody(chatBody('qwen'), true);
    const [response] = await stream.waitFor(1);
    expect(ENDPOINTS).toContain(mutatedHeader(response, 'x-gateway-destination-endpoint'));
    stream.end();
    await stream.ended;
    await until(() => service.inFlight() === 0 && server.openStreams() === 0);
  });

  it('answers 400 for malformed JSON and for a body without a model', async () => {
    const { client, service } = await start({ endpoints: ENDPOINTS });
    const bad = new EnvoyStream(client);
    bad.requestHeaders(POST_HEADERS, false);
    bad.requestBody(Buffer.from('{"model": "qwen", "messages": ['), true);
    const [badResponse] = await bad.waitFor(1);
    expect(immediateStatus(badResponse)).toBe(400);
    expect(immediateError(badResponse).message).toMatch(/not valid JSON/);
    expect((await bad.ended).code).toBe(0);

    const noModel = new EnvoyStream(client);
    noModel.requestHeaders(POST_HEADERS, false);
    noModel.requestBody(Buffer.from(JSON.stringify({ prompt: 'hi' })), true);
    const [noModelResponse] = await noModel.waitFor(1);
    expect(immediateStatus(noModelResponse)).toBe(400);
    expect(immediateError(noModelResponse).message).toBe('model not found in request body');
    expect(service.inFlight()).toBe(0);
  });

  it('answers 500 with an explanation when the gateway does not stream bodies in full duplex', async () => {
    const { client } = await start({ endpoints: ENDPOINTS });
    const stream = new EnvoyStream(client);
    stream.call.write({
      requestHeaders: { headers: { headers: [] }, endOfStream: false },
      protocolConfig: { requestBodyMode: 2, responseBodyMode: 2 },
    });
    const [response] = await stream.waitFor(1);
    expect(immediateStatus(response)).toBe(500);
    expect(immediateError(response).message).toMatch(/must be FULL_DUPLEX_STREAMED \(got 2\)/);
  });

  it('answers 404 for a model the pool does not serve', async () => {
    const { client } = await start({ endpoints: ENDPOINTS, servedModels: ['qwen'] });
    const stream = new EnvoyStream(client);
    stream.requestHeaders(POST_HEADERS, false);
    stream.requestBody(chatBody('llama'), true);
    const [response] = await stream.waitFor(1);
    expect(immediateStatus(response)).toBe(404);
    expect(immediateError(response).code).toBe('model_not_found');
  });

  it('answers 413 when the body exceeds the limit', async () => {
    const { client } = await start({ endpoints: ENDPOINTS }, 1024);
    const stream = new EnvoyStream(client);
    stream.requestHeaders(POST_HEADERS, false);
    stream.requestBody(Buffer.alloc(800, 32), false);
    stream.requestBody(Buffer.alloc(800, 32), false);
    const [response] = await stream.waitFor(1);
    expect(immediateStatus(response)).toBe(413);
  });

  it('sheds sheddable requests with 429 when the pool is saturated, and admits the rest', async () => {
    const { client, service, metrics } = await start({
      endpoints: ENDPOINTS,
      objectives: { batch: -10, premium: 100 },
      load: { waitingRequests: 50, kvCacheUsage: 0.99 },
    });
    const sheddable = new EnvoyStream(client);
    sheddable.requestHeaders({ ...POST_HEADERS, 'x-gateway-inference-objective': 'batch' }, false);
    sheddable.requestBody(chatBody('qwen'), true);
    const [shed] = await sheddable.waitFor(1);
    expect(immediateStatus(shed)).toBe(429);
    expect(mutatedHeader(shed, 'x-llm-d-request-dropped-reason')).toBe('rejected-saturated');

    const premium = new EnvoyStream(client);
    premium.requestHeaders({ ...POST_HEADERS, 'x-llm-d-inference-objective': 'premium' }, false);
    premium.requestBody(chatBody('qwen'), true);
    const [admitted] = await premium.waitFor(1);
    expect(ENDPOINTS).toContain(mutatedHeader(admitted, 'x-gateway-destination-endpoint'));
    premium.end();
    await premium.ended;
    await until(() => service.inFlight() === 0);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/llm_d_epp_request_error_total\{[^}]*error_code="ResourceExhausted"[^}]*\} 1/);
    expect(text).toMatch(/llm_d_epp_request_total\{[^}]*priority="100"[^}]*\} 1/);
  });

  it('answers 503 when the pool has no endpoints, with or without a body', async () => {
    const { client } = await start({ endpoints: [] });
    const withBody = new EnvoyStream(client);
    withBody.requestHeaders(POST_HEADERS, false);
    withBody.requestBody(chatBody('qwen'), true);
    const [first] = await withBody.waitFor(1);
    expect(immediateStatus(first)).toBe(503);
    expect(mutatedHeader(first, 'x-llm-d-request-dropped-reason')).toBe('rejected-no-endpoints');
    const withoutBody = new EnvoyStream(client);
    withoutBody.requestHeaders({ ':method': 'GET', ':path': '/v1/models' }, true);
    const [second] = await withoutBody.waitFor(1);
    expect(immediateStatus(second)).toBe(503);
  });
});

/** Sends `pieces` as the upstream response body (the last one ends it) and returns what the router echoed. */
async function relayResponseBody(stream: EnvoyStream, pieces: readonly string[]): Promise<Buffer> {
  for (const [i, piece] of pieces.entries()) stream.responseBody(Buffer.from(piece), i === pieces.length - 1);
  await until(() => streamedChunks(stream.received, 'responseBody').some((chunk) => chunk.endOfStream));
  return Buffer.concat(streamedChunks(stream.received, 'responseBody').map((chunk) => chunk.body));
}

describe('ext_proc server, response path and clean-up', () => {
  it('echoes a streaming response and reports its usage and serving endpoint once', async () => {
    const { client, service, metrics } = await start({ endpoints: ENDPOINTS });
    const stream = new EnvoyStream(client);
    stream.requestHeaders({ ...POST_HEADERS, 'x-request-id': 'sse-1' }, false);
    stream.requestBody(chatBody('qwen', { stream: true, stream_options: { include_usage: true } }), true);
    const [headers] = await stream.waitFor(2);
    const picked = mutatedHeader(headers, 'x-gateway-destination-endpoint');
    const served = ENDPOINTS.find((key) => key !== picked) ?? '';
    stream.responseHeaders({ ':status': '200', 'content-type': 'text/event-stream' }, false, served);
    const events = [
      'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n',
      'data: {"choices":[{"delta":{"content":"lo"}}]}\n\n',
      'data: {"choices":[],"usage":{"prompt_tokens":20,"completion_tokens":2,',
      '"prompt_tokens_details":{"cached_tokens":16}}}\n\ndata: [DONE]\n\n',
    ];
    const echoed = await relayResponseBody(stream, events);
    expect(echoed.toString()).toBe(events.join(''));
    expect(stream.received.some((response) => response.responseHeaders !== undefined)).toBe(true);
    stream.end();
    await stream.ended;
    expect(service.firstTokens).toEqual(['sse-1']);
    expect(service.completions.get('sse-1')).toEqual([
      {
        ok: true,
        outcome: 'success',
        promptTokens: 20,
        completionTokens: 2,
        cachedTokens: 16,
        servedBy: served,
      },
    ]);
    expect(service.inFlight()).toBe(0);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/llm_d_epp_request_ttft_seconds_count\{[^}]*streaming="true"[^}]*\} 1/);
    expect(text).toMatch(/llm_d_epp_request_cached_tokens_sum\{[^}]*\} 16/);
    expect(text).toMatch(/llm_d_epp_request_ntpot_seconds_count\{[^}]*\} 1/);
    expect(text).toMatch(/llm_d_epp_request_streaming_tpot_seconds_count\{[^}]*\} 1/);
  });

  it('asks for the usage of a stream whose client did not, reads it, and keeps it out of the echo', async () => {
    const { client, service } = await start({ endpoints: ENDPOINTS });
    const stream = new EnvoyStream(client);
    stream.requestHeaders({ ...POST_HEADERS, 'x-request-id': 'sse-2' }, false);
    stream.requestBody(chatBody('qwen', { stream: true }), true);
    const responses = await stream.waitFor(2);
    const forwarded = Buffer.concat(streamedChunks(responses, 'requestBody').map((chunk) => chunk.body));
    expect(JSON.parse(forwarded.toString())).toMatchObject({
      model: 'qwen',
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(mutatedHeader(responses[0], 'content-length')).toBe(String(forwarded.length));
    stream.responseHeaders({ ':status': '200', 'content-type': 'text/event-stream' }, false);
    const events = [
      'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n',
      'data: {"choices":[],"usage":{"prompt_tokens":20,"completion_tokens":2,',
      '"prompt_tokens_details":{"cached_tokens":16}}}\n',
      '\ndata: [DONE]\n\n',
    ];
    const echoed = await relayResponseBody(stream, events);
    expect(echoed.toString()).toBe('data: {"choices":[{"delta":{"content":"Hel"}}]}\n\ndata: [DONE]\n\n');
    stream.end();
    await stream.ended;
    expect(service.completions.get('sse-2')).toEqual([
      {
        ok: true,
        outcome: 'success',
        promptTokens: 20,
        completionTokens: 2,
        cachedTokens: 16,
      },
    ]);
  });

  it('counts an upstream error status as a failed completion', async () => {
    const { client, service } = await start({ endpoints: ENDPOINTS });
    const stream = new EnvoyStream(client);
    stream.requestHeaders({ ...POST_HEADERS, 'x-request-id': 'upstream-500' }, false);
    stream.requestBody(chatBody('qwen'), true);
    await stream.waitFor(2);
    stream.responseHeaders({ ':status': '500', 'content-type': 'application/json' }, false);
    stream.responseBody(Buffer.from('{"error":{"message":"boom"}}'), true);
    await until(() => service.completions.has('upstream-500'));
    expect(service.completions.get('upstream-500')).toEqual([{ ok: false, outcome: 'server-error' }]);
    // An error's body is not a first token: the health scorer would count the failure as a success.
    expect(service.firstTokens).not.toContain('upstream-500');
    stream.end();
    await stream.ended;
  });

  it('releases the in-flight request when the gateway cancels midway', async () => {
    const { client, service, server } = await start({ endpoints: ENDPOINTS });
    const streams = Array.from({ length: 8 }, () => new EnvoyStream(client));
    for (const [i, stream] of streams.entries()) {
      stream.requestHeaders({ ...POST_HEADERS, 'x-request-id': `cancel-${i}` }, false);
      stream.requestBody(chatBody('qwen', { stream: true }), true);
    }
    await Promise.all(streams.map((stream) => stream.waitFor(2)));
    expect(service.inFlight()).toBe(8);
    for (const stream of streams.slice(0, 4)) {
      stream.responseHeaders({ ':status': '200', 'content-type': 'text/event-stream' }, false);
      stream.responseBody(Buffer.from('data: {"choices":[]}\n\n'), false);
    }
    await Promise.all(streams.slice(0, 4).map((stream) => stream.waitFor(4)));
    for (const stream of streams) {
      stream.cancel();
    }
    await until(() => service.inFlight() === 0 && server.openStreams() === 0);
    for (let i = 0; i < 8; i++) {
      expect(service.completions.get(`cancel-${i}`)).toEqual([{ ok: false }]);
    }
    // A stream cancelled while its body is still buffering was never routed and leaves nothing behind.
    const early = new EnvoyStream(client);
    early.requestHeaders(POST_HEADERS, false);
    early.requestBody(Buffer.from('{"model":'), false);
    await new Promise((resolve) => setTimeout(resolve, 20));
    early.cancel();
    await until(() => server.openStreams() === 0);
    expect(service.inFlight()).toBe(0);
  });

  it('keeps request ids unique when clients reuse x-request-id', async () => {
    const { client, service } = await start({ endpoints: ENDPOINTS });
    const streams = [new EnvoyStream(client), new EnvoyStream(client)];
    for (const stream of streams) {
      stream.requestHeaders({ ...POST_HEADERS, 'x-request-id': 'same' }, false);
      stream.requestBody(chatBody('qwen'), true);
    }
    await Promise.all(streams.map((stream) => stream.waitFor(2)));
    expect(service.inFlight()).toBe(2);
    for (const stream of streams) {
      stream.end();
    }
    await until(() => service.inFlight() === 0);
  });
});

describe('ext_proc server, shutdown', () => {
  let entry: FixtureServer;
  beforeAll(async () => {
    const service = routingFixture({ endpoints: ENDPOINTS });
    const server = await startExtProcServer({ host: '127.0.0.1', port: 0, service });
    entry = {
      server,
      client: connectExtProc(server.port),
      service,
      metrics: new RouterMetrics({ poolName: 'p' }),
    };
  });
  afterAll(() => entry.client.close());

  it('cancels streams still open after the grace period and releases their requests', async () => {
    const stream = new EnvoyStream(entry.client);
    stream.requestHeaders(POST_HEADERS, false);
    stream.requestBody(chatBody('qwen'), true);
    await stream.waitFor(2);
    expect(entry.service.inFlight()).toBe(1);
    await entry.server.close(50);
    await stream.ended;
    expect(entry.service.inFlight()).toBe(0);
  });
});
