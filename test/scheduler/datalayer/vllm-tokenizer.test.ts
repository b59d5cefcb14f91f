// token-producer backend vllm against real HTTP servers: the simulator's /tokenize, and servers that fail,
// stall or answer nonsense (each falls back to the estimate, counted by reason).
import { createServer, type Server } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import type { Endpoint } from '../../../scheduler/core/index.ts';
import { estimatePromptTokens } from '../../../scheduler/core/index.ts';
import { VllmTokenizer, type TokenizeFallbackReason } from '../../../scheduler/datalayer/vllm-tokenizer.ts';
import { parseRequestBody } from '../../../scheduler/extproc/request-body.ts';
import { renderChatPrompt } from '../../../scheduler/sim/openai.ts';
import { startSimServer } from '../../../scheduler/sim/server.ts';

const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';
const servers: { close(): Promise<void> | void }[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

const endpointAt = (port: number): Endpoint => ({
  key: `127.0.0.1:${String(port)}`,
  address: '127.0.0.1',
  port,
  labels: {},
  metrics: undefined,
});

async function fakeServer(handler: Parameters<typeof createServer>[1]): Promise<number> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push({ close: () => new Promise<void>((r) => server.close(() => r())) });
  server.on('connection', (s) => servers.push({ close: () => void s.destroy() }));
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

function tokenizer(endpoints: Endpoint[], fallbacks: TokenizeFallbackReason[], timeoutMs = 200) {
  const t = new VllmTokenizer({
    endpoints: () => endpoints,
    timeoutMs,
    onFallback: (r) => fallbacks.push(r),
  });
  servers.push(t);
  return t;
}

const body = (json: unknown) => parseRequestBody(Buffer.from(JSON.stringify(json)));

describe('vLLM tokenizer (token-producer backend vllm)', () => {
  it("returns the simulator's engine tokens for completions and for chat (its chat template applied)", async () => {
    const sim = await startSimServer({ model: MODEL, profile: 'qwen2.5-0.5b-l4', port: 0 });
    servers.push(sim);
    const fallbacks: TokenizeFallbackReason[] = [];
    const t = tokenizer([endpointAt(sim.port)], fallbacks);
    const messages = [{ role: 'user', content: 'hello there' }];
    expect(await t.tokenize(body({ model: MODEL, prompt: 'hello there' }), MODEL)).toEqual(
      estimatePromptTokens('hello there'),
    );
    expect(await t.tokenize(body({ model: MODEL, messages }), MODEL)).toEqual(
      estimatePromptTokens(renderChatPrompt(messages)),
    );
    expect(fallbacks).toEqual([]);
  });

  it('falls back on a timeout, an error status, a bad answer, no endpoint and an unsupported shape', async () => {
    const stalled = await fakeServer(() => undefined);
    const failing = await fakeServer((_req, res) => res.writeHead(500).end('{}'));
    const nonsense = await fakeServer((_req, res) => res.writeHead(200).end('{"tokens": ["a"]}'));
    const fallbacks: TokenizeFallbackReason[] = [];
    const prompt = body({ model: MODEL, prompt: 'hi' });
    const started = performance.now();
    expect(await tokenizer([endpointAt(stalled)], fallbacks, 100).tokenize(prompt, MODEL)).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await tokenizer([endpointAt(failing)], fallbacks).tokenize(prompt, MODEL)).toBeUndefined();
    expect(await tokenizer([endpointAt(nonsense)], fallbacks).tokenize(prompt, MODEL)).toBeUndefined();
    expect(await tokenizer([], fallbacks).tokenize(prompt, MODEL)).toBeUndefined();
    expect(
      await tokenizer([endpointAt(failing)], fallbacks).tokenize(body({ model: MODEL, input: 'x' }), MODEL),
    ).toBeUndefined();
    expect(fallbacks).toEqual(['timeout', 'error', 'error', 'no-endpoint', 'unsupported']);
  });
});
