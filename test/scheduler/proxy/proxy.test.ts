import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, MODEL, startStack, type Stack } from './stack.ts';
import { defined } from '../datalayer/defined.ts';

let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('HTTP proxy in front of simulated vLLM replicas', () => {
  it('relays non-streaming completions and chat completions with usage', async () => {
    stack = await startStack({ replicas: 2 });
    const res = await post(`${stack.url}/v1/chat/completions`, {
      model: MODEL,
      messages: [{ role: 'user', content: 'Hello there, how are you?' }],
      max_tokens: 8,
    });
    expect(res.status).toBe(200);
    const served = res.headers.get('x-gateway-destination-endpoint-served');
    expect(stack.sims.map((s) => `127.0.0.1:${s.port}`)).toContain(served);
    const json = (await res.json()) as { choices: unknown[]; usage: { completion_tokens: number } };
    expect(json.choices).toHaveLength(1);
    expect(json.usage.completion_tokens).toBe(8);

    const completion = await post(`${stack.url}/v1/completions`, {
      model: MODEL,
      prompt: 'Once upon',
      max_tokens: 4,
    });
    expect(completion.status).toBe(200);
    expect(
      ((await completion.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens,
    ).toBe(4);
    expect(stack.service.inFlightCount()).toBe(0);
  });

  it('streams server-sent events as they are produced', async () => {
    stack = await startStack({ replicas: 1, slowdown: 4 });
    const res = await post(`${stack.url}/v1/chat/completions`, {
      model: MODEL,
      messages: [{ role: 'user', content: 'Count slowly' }],
      max_tokens: 24,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = defined(res.body).getReader();
    const arrivals: number[] = [];
    let text = '';
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        break;
      }
      arrivals.push(performance.now());
      text += decoder.decode(value, { stream: true });
    }
    // Tokens arrive over time, not in one buffered burst.
    expect(arrivals.length).toBeGreaterThan(3);
    expect((arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThan(20);
    const events = text.split('\n').filter((l) => l.startsWith('data: '));
    expect(events.at(-1)).toBe('data: [DONE]');
    const usageEvent = events.find((e) => e.includes('"usage":{'));
    expect(usageEvent).toBeDefined();
    expect(stack.service.inFlightCount()).toBe(0);
  });

  it("measures time to first token from the request's arrival, as the client sees it", async () => {
    // vLLM sends its response headers with the first token; the wait before them is the model's prefill.
    stack = await startStack({ replicas: 1, slowdown: 40 });
    const sentAt = performance.now();
    const res = await post(`${stack.url}/v1/chat/completions`, {
      model: MODEL,
      messages: [{ role: 'user', content: 'Tell me a long story about a lighthouse keeper. '.repeat(20) }],
      max_tokens: 4,
      stream: true,
      stream_options: { include_usage: true },
    });
    const reader = defined(res.body).getReader();
    await reader.read();
    const clientTtftSeconds = (performance.now() - sentAt) / 1000;
    while (!(await reader.read()).done);
    const text = await stack.metrics.registry.metrics();
    const sum = Number(
      /llm_d_epp_request_ttft_seconds_sum\{[^}]*streaming="true"[^}]*\} (\S+)/.exec(text)?.[1],
    );
    expect(clientTtftSeconds).toBeGreaterThan(0.1);
    expect(sum).toBeGreaterThan(clientTtftSeconds * 0.8);
    expect(sum).toBeLessThanOrEqual(clientTtftSeconds);
    // The streaming time per output token needs the first token's time, so the proxy now records it too.
    expect(text).toMatch(/llm_d_epp_request_streaming_tpot_seconds_count\{[^}]*\} 1/);
  });

  it('fails over to another replica when the chosen one refuses connections', async () => {
    stack = await startStack({ replicas: 2, policy: 'round-robin' });
    const [dead, alive] = stack.sims;
    stack.sims.splice(0, 1);
    defined(dead).crash();
    for (let i = 0; i < 6; i++) {
      const res = await post(`${stack.url}/v1/completions`, {
        model: MODEL,
        prompt: `request ${i}`,
        max_tokens: 2,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-gateway-destination-endpoint-served')).toBe(
        `127.0.0.1:${defined(alive).port}`,
      );
      await res.arrayBuffer();
    }
    expect(stack.service.inFlightCount()).toBe(0);
  });

  it('answers 503 with an OpenAI error when every endpoint refuses', async () => {
    stack = await startStack({ replicas: 1 });
    defined(stack.sims[0]).crash();
    stack.sims.length = 0;
    const res = await post(`${stack.url}/v1/completions`, { model: MODEL, prompt: 'x', max_tokens: 2 });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { message: string; type: string } };
    expect(body.error.type).toBe('service_unavailable');
    expect(body.error.message).toContain('refused');
    expect(stack.service.inFlightCount()).toBe(0);
  });

  it('aborts the upstream request when the client disconnects mid-stream', async () => {
    stack = await startStack({ replicas: 1, slowdown: 20 });
    const sim = defined(stack.sims[0]);
    const proxyPort = stack.proxy.port;
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: proxyPort,
          method: 'POST',
          path: '/v1/completions',
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          res.once('data', () => {
            // First token arrived: hang up.
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', () => undefined);
      req.end(JSON.stringify({ model: MODEL, prompt: 'a long story', max_tokens: 2000, stream: true }));
      setTimeout(() => reject(new Error('no first token')), 10_000);
    });
    await eventually(() => expect(defined(stack).service.inFlightCount()).toBe(0));
    await eventually(() => expect(defined(stack).proxy.activeRequests()).toBe(0));
    // The simulated engine saw the disconnect and dropped the sequence.
    await eventually(async () => {
      const metrics = await (await fetch(`${sim.url}/metrics`)).text();
      expect(metrics).toMatch(/^vllm:num_requests_running\{[^}]*\} 0$/m);
    });
  });

  it('rejects malformed JSON, a missing model and non-object bodies with 400', async () => {
    stack = await startStack({ replicas: 1 });
    for (const body of ['{"model": "x", ', '[1,2,3]', JSON.stringify({ prompt: 'no model' })]) {
      const res = await post(`${stack.url}/v1/completions`, body);
      expect(res.status).toBe(400);
      const json = (await res.json()) as { error: { type: string; message: string } };
      expect(json.error.type).toBe('invalid_request_error');
      expect(json.error.message.length).toBeGreaterThan(0);
    }
    expect(stack.service.inFlightCount()).toBe(0);
  });

  it('rejects oversize bodies with 413 and keeps serving', async () => {
    stack = await startStack({ replicas: 1, proxy: { maxBodyBytes: 64 * 1024 } });
    const huge = { model: MODEL, prompt: 'x'.repeat(200 * 1024), max_tokens: 1 };
    const res = await post(`${stack.url}/v1/completions`, huge);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('request_too_large');

    // Chunked upload without content-length: caught while reading.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: defined(stack).proxy.port,
          method: 'POST',
          path: '/v1/completions',
          headers: { 'content-type': 'application/json' },
        },
        (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 100; i++) {
        req.write('x'.repeat(1024));
      }
      req.end();
    });
    expect(chunked).toBe(413);

    const ok = await post(`${stack.url}/v1/completions`, { model: MODEL, prompt: 'small', max_tokens: 1 });
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
    expect(stack.service.inFlightCount()).toBe(0);
  });

  it('passes upstream errors through and counts them as finished', async () => {
    stack = await startStack({ replicas: 1, faults: [{ errorRate: 1, errorStatus: 500 }] });
    const res = await post(`${stack.url}/v1/completions`, { model: MODEL, prompt: 'x', max_tokens: 2 });
    expect(res.status).toBe(500);
    await res.arrayBuffer();
    expect(stack.service.inFlightCount()).toBe(0);
  });

  it('answers 404 for unknown models and routes, 405 for wrong methods, and lists models', async () => {
    stack = await startStack({ replicas: 1, servedModels: [MODEL] });
    const unknown = await post(`${stack.url}/v1/completions`, { model: 'nope', prompt: 'x' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('model_not_found');
    expect((await fetch(`${stack.url}/v2/whatever`)).status).toBe(404);
    expect((await fetch(`${stack.url}/v1/completions`)).status).toBe(405);
    const models = (await (await fetch(`${stack.url}/v1/models`)).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toEqual([MODEL]);
  });

  it('forwards /v1/models to a model server when no list is configured', async () => {
    stack = await startStack({ replicas: 1 });
    const models = (await (await fetch(`${stack.url}/v1/models`)).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toContain(MODEL);
  });

  it('survives a burst of mixed good and bad requests without leaking in-flight counts', async () => {
    stack = await startStack({ replicas: 3, policy: 'switchyard' });
    stack.scraper.start();
    const controllers: AbortController[] = [];
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < 60; i++) {
      const kind = i % 5;
      if (kind === 0) {
        jobs.push(post(`${stack.url}/v1/completions`, '{bad json').then((r) => r.arrayBuffer()));
      } else if (kind === 1) {
        const c = new AbortController();
        controllers.push(c);
        jobs.push(
          fetch(`${stack.url}/v1/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ model: MODEL, prompt: `cancel ${i}`, max_tokens: 500, stream: true }),
            signal: c.signal,
          })
            .then((r) => r.arrayBuffer())
            .catch(() => undefined),
        );
      } else {
        jobs.push(
          post(`${stack.url}/v1/chat/completions`, {
            model: MODEL,
            messages: [
              { role: 'system', content: 'shared system prompt '.repeat(20) },
              { role: 'user', content: `q${i}` },
            ],
            max_tokens: 4,
            stream: kind === 2,
          }).then((r) => r.arrayBuffer()),
        );
      }
    }
    setTimeout(() => controllers.forEach((c) => c.abort()), 30);
    await Promise.all(jobs);
    await eventually(() => expect(defined(stack).service.inFlightCount()).toBe(0));
    await eventually(() => expect(defined(stack).proxy.activeRequests()).toBe(0));
    const health = await fetch(`${stack.url}/healthz`);
    expect(health.status).toBe(200);
  });
});
