// Prefill/decode disaggregation on the ext_proc face, over a real gRPC stream on loopback: the header response
// names the prefill pod in x-prefiller-host-port, and otherwise removes whatever the client put there.
import { afterEach, describe, expect, it } from 'vitest';
import type { ProcessingResponse } from '../../../scheduler/extproc/messages.ts';
import { PD_NON_CACHED_TOKENS, pdConfig, tokenPrompt } from '../pd-config.ts';
import { EnvoyStream, mutatedHeader, until } from './envoy-client.ts';
import { startFixtureServer, stopFixtureServers } from './fixture-server.ts';
import type { FixtureOptions } from './routing-fixture.ts';

const HEADER = 'x-prefiller-host-port';
const DECODE_A = '10.0.0.1:8000';
const DECODE_B = '10.0.0.2:8000';
const DECODE = [DECODE_A, DECODE_B];
const PREFILL = '10.0.0.3:8000';
const ROLE = 'llm-d.ai/role';

function pdOptions(prefill: string = PREFILL): FixtureOptions {
  return {
    endpoints: [...DECODE, prefill],
    labels: {
      [DECODE_A]: { [ROLE]: 'decode' },
      [DECODE_B]: { [ROLE]: 'decode' },
      [prefill]: { [ROLE]: 'prefill' },
    },
    config: pdConfig,
  };
}

const start = (options: FixtureOptions) => startFixtureServer(options, { poolName: 'pd-pool' });

afterEach(stopFixtureServers);

/** Sends one completions request with a prompt of `tokens` token ids; resolves with the header response. */
async function route(
  stream: EnvoyStream,
  tokens: number,
  clientHeaders: Record<string, string> = {},
): Promise<ProcessingResponse | undefined> {
  stream.requestHeaders(
    { ':method': 'POST', ':path': '/v1/completions', 'content-type': 'application/json', ...clientHeaders },
    false,
  );
  stream.requestBody(
    Buffer.from(JSON.stringify({ model: 'qwen', prompt: tokenPrompt(tokens), max_tokens: 4 })),
    true,
  );
  const [response] = await stream.waitFor(1);
  return response;
}

function removed(response: ProcessingResponse | undefined): readonly string[] {
  return response?.requestHeaders?.response?.headerMutation?.removeHeaders ?? [];
}

/** Ends the exchange the way Envoy does after the upstream answered. */
async function answer(stream: EnvoyStream): Promise<void> {
  stream.responseHeaders({ ':status': '200', 'content-type': 'application/json' }, false);
  stream.responseBody(Buffer.from('{"usage":{"prompt_tokens":20,"completion_tokens":4}}'), true);
  await until(() =>
    stream.received.some((r) => r.responseBody?.response?.bodyMutation?.streamedResponse?.endOfStream),
  );
  stream.end();
  await stream.ended;
}

describe('ext_proc with a disagg-profile-handler', () => {
  it('names the prefill pod for a long uncached prompt, and holds the request on both pods until it ends', async () => {
    const { client, service, metrics } = await start(pdOptions());
    const stream = new EnvoyStream(client);
    const response = await route(stream, 200);
    expect(DECODE).toContain(mutatedHeader(response, 'x-gateway-destination-endpoint'));
    expect(mutatedHeader(response, HEADER)).toBe(PREFILL);
    expect(removed(response)).not.toContain(HEADER);
    expect(service.inFlight()).toBe(2);
    await answer(stream);
    await until(() => service.inFlight() === 0);
    expect(await metrics.registry.metrics()).toContain(
      'llm_d_epp_disagg_decision_total{model_name="qwen",decision_type="prefill-decode"} 1',
    );
  });

  it('removes the header for a prompt one token short of nonCachedTokens, and sets it at nonCachedTokens', async () => {
    const { client, metrics } = await start(pdOptions());
    const short = new EnvoyStream(client);
    const shortResponse = await route(short, PD_NON_CACHED_TOKENS - 1);
    expect(mutatedHeader(shortResponse, HEADER)).toBeUndefined();
    expect(removed(shortResponse)).toEqual([HEADER]);
    await answer(short);
    const enough = new EnvoyStream(client);
    expect(mutatedHeader(await route(enough, PD_NON_CACHED_TOKENS), HEADER)).toBe(PREFILL);
    await answer(enough);
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      'llm_d_epp_disagg_decision_total{model_name="qwen",decision_type="decode-only"} 1',
    );
    expect(text).toContain(
      'llm_d_epp_disagg_decision_total{model_name="qwen",decision_type="prefill-decode"} 1',
    );
  });

  it('never lets the client choose the prefill host: its header is removed or overwritten', async () => {
    const { client } = await start(pdOptions());
    const spoofed = { [HEADER]: '203.0.113.9:8000' };
    const short = new EnvoyStream(client);
    const shortResponse = await route(short, 4, spoofed);
    expect(mutatedHeader(shortResponse, HEADER)).toBeUndefined();
    expect(removed(shortResponse)).toEqual([HEADER]);
    await answer(short);

    const long = new EnvoyStream(client);
    const longResponse = await route(long, 300, spoofed);
    const option = longResponse?.requestHeaders?.response?.headerMutation?.setHeaders?.find(
      (entry) => entry.header.key === HEADER,
    );
    expect(mutatedHeader(longResponse, HEADER)).toBe(PREFILL);
    expect(option?.appendAction).toBe(2); // OVERWRITE_IF_EXISTS_OR_ADD: the client's value goes
    await answer(long);
  });

  it('writes an IPv6 prefill address in brackets', async () => {
    const { client } = await start(pdOptions('[fd00::3]:8000'));
    const stream = new EnvoyStream(client);
    expect(mutatedHeader(await route(stream, 200), HEADER)).toBe('[fd00::3]:8000');
    await answer(stream);
  });
});

describe('ext_proc without disaggregation', () => {
  it('removes a client-supplied x-prefiller-host-port, with or without a body, and counts no decision', async () => {
    const { client, metrics } = await start({ endpoints: DECODE });
    const withBody = new EnvoyStream(client);
    const response = await route(withBody, 300, { [HEADER]: '203.0.113.9:8000' });
    expect(DECODE).toContain(mutatedHeader(response, 'x-gateway-destination-endpoint'));
    expect(removed(response)).toEqual([HEADER]);
    await answer(withBody);

    const withoutBody = new EnvoyStream(client);
    withoutBody.requestHeaders(
      { ':method': 'GET', ':path': '/v1/models', [HEADER]: '203.0.113.9:8000' },
      true,
    );
    const [bodiless] = await withoutBody.waitFor(1);
    expect(removed(bodiless)).toEqual([HEADER]);
    expect(mutatedHeader(bodiless, HEADER)).toBeUndefined();
    withoutBody.end();
    await withoutBody.ended;
    expect(await metrics.registry.metrics()).not.toMatch(/llm_d_epp_disagg_decision_total\{/);
  });
});
