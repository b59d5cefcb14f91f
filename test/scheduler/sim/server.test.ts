import { afterEach, describe, expect, it } from 'vitest';
import { estimatePromptTokens } from '../../../scheduler/core/index.ts';
import { startSimServer, type SimServer, type SimServerOptions } from '../../../scheduler/sim/server.ts';

const servers: SimServer[] = [];

async function start(options: Partial<SimServerOptions> = {}): Promise<SimServer> {
  const server = await startSimServer({
    model: 'Qwen/Qwen2.5-0.5B-Instruct',
    profile: 'qwen2.5-0.5b-l4',
    seed: 1,
    ...options,
  });
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

function post(server: SimServer, path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

interface UsageBody {
  usage: {
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    prompt_tokens_details: { cached_tokens: number };
  };
}

function sseEvents(text: string): string[] {
  return text
    .split('\n\n')
    .filter((event) => event.startsWith('data: '))
    .map((event) => event.slice('data: '.length));
}

const longPrompt = 'You are a careful assistant that answers questions about routing. '.repeat(40);

describe('simulated vLLM server', () => {
  it('listens on loopback and answers /health and /v1/models', async () => {
    const server = await start({ servedModelNames: ['qwen-small', 'qwen-alias'] });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    const models = (await (await fetch(`${server.url}/v1/models`)).json()) as {
      data: { id: string; root: string }[];
    };
    expect(models.data.map((m) => m.id)).toEqual(['qwen-small', 'qwen-alias']);
    expect(models.data[0]?.root).toBe('Qwen/Qwen2.5-0.5B-Instruct');
  });

  it('completes without streaming, with usage and block-quantised cached tokens on a repeated prompt', async () => {
    const server = await start();
    const body = { model: 'Qwen/Qwen2.5-0.5B-Instruct', prompt: longPrompt, max_tokens: 7 };
    const first = (await (await post(server, '/v1/completions', body)).json()) as UsageBody & {
      object: string;
      choices: { text: string; finish_reason: string }[];
    };
    const promptTokens = estimatePromptTokens(longPrompt).length;
    expect(first.object).toBe('text_completion');
    expect(first.usage).toEqual({
      prompt_tokens: promptTokens,
      completion_tokens: 7,
      total_tokens: promptTokens + 7,
      prompt_tokens_details: { cached_tokens: 0 },
    });
    expect(first.choices[0]?.text.trim().split(' ')).toHaveLength(7);
    expect(first.choices[0]?.finish_reason).toBe('length');
    const second = (await (await post(server, '/v1/completions', body)).json()) as UsageBody;
    const cached = second.usage.prompt_tokens_details.cached_tokens;
    expect(cached % 16).toBe(0);
    expect(cached).toBe(Math.floor((promptTokens - 1) / 16) * 16);
  });

  it('streams chat completions as SSE with a usage chunk and [DONE]', async () => {
    const server = await start();
    const response = await post(server, '/v1/chat/completions', {
      model: 'Qwen/Qwen2.5-0.5B-Instruct',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'Name a colour.' }] },
      ],
      max_completion_tokens: 5,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const events = sseEvents(await response.text());
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map(
      (event) =>
        JSON.parse(event) as {
          object: string;
          choices: { delta: { content?: string; role?: string }; finish_reason: string | null }[];
          usage?: UsageBody['usage'];
        },
    );
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    const content = chunks.filter((chunk) => chunk.choices[0]?.delta.content);
    expect(content).toHaveLength(5);
    const usageChunk = chunks.at(-1);
    expect(usageChunk?.choices).toEqual([]);
    expect(usageChunk?.usage?.completion_tokens).toBe(5);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('length');
  });

  it('streams completions without usage when include_usage is not set', async () => {
    const server = await start();
    const response = await post(server, '/v1/completions', {
      model: 'Qwen/Qwen2.5-0.5B-Instruct',
      prompt: 'hi',
      max_tokens: 3,
      stream: true,
    });
    const events = sseEvents(await response.text());
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events
      .slice(0, -1)
      .map((event) => JSON.parse(event) as { usage?: unknown; choices: { text: string }[] });
    expect(chunks.some((chunk) => chunk.usage !== undefined)).toBe(false);
    expect(chunks.filter((chunk) => chunk.choices[0]?.text !== '')).toHaveLength(3);
  });

  it('exposes vLLM metric names, with counters that follow the traffic', async () => {
    const server = await start({ servedModelNames: ['qwen-small'] });
    await post(server, '/v1/completions', { model: 'qwen-small', prompt: longPrompt, max_tokens: 4 });
    await post(server, '/v1/completions', { model: 'qwen-small', prompt: longPrompt, max_tokens: 4 });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    for (const name of [
      'vllm:num_requests_running{model_name="qwen-small"} 0',
      'vllm:num_requests_waiting{model_name="qwen-small"} 0',
      'vllm:kv_cache_usage_perc{model_name="qwen-small"} 0',
      'vllm:cache_config_info{block_size="16",num_gpu_blocks="40000"',
      'vllm:lora_requests_info{max_lora="0",running_lora_adapters="",waiting_lora_adapters=""}',
      'vllm:generation_tokens_total{model_name="qwen-small"} 8',
      'vllm:request_success_total{model_name="qwen-small",finished_reason="length"} 2',
      'vllm:time_to_first_token_seconds_count{model_name="qwen-small"} 2',
      'vllm:time_per_output_token_seconds_bucket',
      'vllm:inter_token_latency_seconds_count{model_name="qwen-small"} 2',
      'vllm:e2e_request_latency_seconds_bucket',
    ]) {
      expect(text).toContain(name);
    }
    const value = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);
    const prompt = estimatePromptTokens(longPrompt).length;
    expect(value('vllm:prompt_tokens_total')).toBe(2 * prompt);
    expect(value('vllm:prefix_cache_queries_total')).toBe(2 * prompt);
    expect(value('vllm:prefix_cache_hits_total')).toBe(Math.floor((prompt - 1) / 16) * 16);
  });

  it('rejects unknown models with 404 and malformed requests with 400 naming the field', async () => {
    const server = await start();
    const missing = await post(server, '/v1/completions', { model: 'other', prompt: 'x', max_tokens: 1 });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toContain('other');
    const bad = await post(server, '/v1/completions', {
      model: 'Qwen/Qwen2.5-0.5B-Instruct',
      prompt: 'x',
      max_tokens: -2,
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('"max_tokens"');
    const tooLong = await post(server, '/v1/completions', {
      model: 'Qwen/Qwen2.5-0.5B-Instruct',
      prompt: 'x',
      max_tokens: 40_000,
    });
    expect(tooLong.status).toBe(400);
    expect((await fetch(`${server.url}/nowhere`)).status).toBe(404);
  });

  it('injects errors by rate and by header', async () => {
    const server = await start({ faults: { errorRate: 1, errorStatus: 503 } });
    const failing = await post(server, '/v1/completions', {
      model: 'Qwen/Qwen2.5-0.5B-Instruct',
      prompt: 'x',
      max_tokens: 1,
    });
    expect(failing.status).toBe(503);
    const healthy = await start();
    const forced = await post(
      healthy,
      '/v1/chat/completions',
      { model: 'Qwen/Qwen2.5-0.5B-Instruct', messages: [{ role: 'user', content: 'x' }] },
      { 'x-sim-error': '429' },
    );
    expect(forced.status).toBe(429);
    await expect(
      startSimServer({ model: 'm', profile: 'qwen2.5-0.5b-l4', faults: { errorRate: 2 } }),
    ).rejects.toThrow(/errorRate/);
  });

  it('applies the slowdown factor to its engine', async () => {
    const slow = await start({ faults: { slowdown: 5 } });
    expect(slow.engine.slowdown).toBe(5);
    const ok = await post(slow, '/v1/completions', {
      model: 'Qwen/Qwen2.5-0.5B-Instruct',
      prompt: 'x',
      max_tokens: 2,
    });
    expect(ok.status).toBe(200);
  });

  it('queues beyond max-num-seqs and reports the waiting request in /metrics', async () => {
    const server = await start({ engineLimits: { maxNumSeqs: 1 }, faults: { slowdown: 10 } });
    const body = { model: 'Qwen/Qwen2.5-0.5B-Instruct', prompt: 'x', max_tokens: 30 };
    const both = Promise.all([post(server, '/v1/completions', body), post(server, '/v1/completions', body)]);
    await expect
      .poll(async () =>
        /^vllm:num_requests_waiting\{[^}]*\} 1$/m.test(await (await fetch(`${server.url}/metrics`)).text()),
      )
      .toBe(true);
    expect(server.engine.runningCount).toBe(1);
    expect((await both).map((r) => r.status)).toEqual([200, 200]);
    await expect(start({ engineLimits: { numGpuBlocks: 0 } })).rejects.toThrow(/numGpuBlocks/);
  });

  it('crashes by itself at the configured time', async () => {
    const server = await start({ faults: { crashAtMs: 100 } });
    await expect
      .poll(
        async () =>
          fetch(`${server.url}/health`).then(
            () => 'up',
            () => 'down',
          ),
        { timeout: 5000 },
      )
      .toBe('down');
  });

  it('crashes after N requests: the next request and the port fail', async () => {
    const server = await start({ faults: { crashAfterRequests: 1 } });
    const ok = await post(server, '/v1/completions', {
      model: 'Qwen/Qwen2.5-0.5B-Instruct',
      prompt: 'x',
      max_tokens: 2,
    });
    expect(ok.status).toBe(200);
    await expect(
      post(server, '/v1/completions', { model: 'Qwen/Qwen2.5-0.5B-Instruct', prompt: 'x', max_tokens: 2 }),
    ).rejects.toThrow();
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
  });

  it('crash() cuts streams in flight and frees the engine', async () => {
    const server = await start({ faults: { slowdown: 20 } });
    const response = await post(server, '/v1/completions', {
      model: 'Qwen/Qwen2.5-0.5B-Instruct',
      prompt: 'x',
      max_tokens: 500,
      stream: true,
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    expect(server.engine.runningCount).toBe(1);
    server.crash();
    await expect(
      (async () => {
        for (;;) if ((await reader.read()).done) throw new Error('stream ended cleanly');
      })(),
    ).rejects.toThrow();
    expect(server.engine.runningCount).toBe(0);
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
  });

  it('aborts the engine request when the client goes away', async () => {
    const server = await start({ faults: { slowdown: 20 } });
    const controller = new AbortController();
    const response = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      body: JSON.stringify({
        model: 'Qwen/Qwen2.5-0.5B-Instruct',
        prompt: 'x',
        max_tokens: 500,
        stream: true,
      }),
      signal: controller.signal,
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    controller.abort();
    await expect.poll(() => server.engine.runningCount + server.engine.waitingCount).toBe(0);
  });
});
