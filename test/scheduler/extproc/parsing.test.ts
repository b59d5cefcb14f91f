import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { splitBody } from '../../../scheduler/extproc/chunks.ts';
import { parseRequestBody, streamsWithoutUsage, withEdits } from '../../../scheduler/extproc/request-body.ts';
import type { RequestBodyError } from '../../../scheduler/extproc/request-body.ts';
import { ResponseRewriter, UsageReader, usageOf } from '../../../scheduler/extproc/response-body.ts';

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

describe('request body parsing', () => {
  it('reads model, stream flag, prompt and output limit of the three OpenAI APIs', () => {
    const chat = parseRequestBody(
      json({
        model: 'm',
        stream: true,
        max_completion_tokens: 64,
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: [{ type: 'text', text: 'Hi' }] },
        ],
      }),
    );
    expect(chat).toMatchObject({ model: 'm', stream: true, maxOutputTokens: 64 });
    expect(chat.promptText).toBe('<system>Be brief.\n<user>Hi\n');

    const completion = parseRequestBody(json({ model: 'm', prompt: 'Once upon', max_tokens: 5 }));
    expect(completion).toMatchObject({ stream: false, promptText: 'Once upon', maxOutputTokens: 5 });

    const ids = parseRequestBody(json({ model: 'm', prompt: [1, 2, 3] }));
    expect(Array.from(ids.promptTokenIds ?? [])).toEqual([1, 2, 3]);

    const responses = parseRequestBody(
      json({ model: 'm', instructions: 'Sys. ', input: 'Question', max_output_tokens: 9 }),
    );
    expect(responses).toMatchObject({ promptText: 'Sys. Question', maxOutputTokens: 9 });
  });

  it('rejects what is not a request with 400 and says why', () => {
    const failure = (body: string): RequestBodyError => {
      try {
        parseRequestBody(Buffer.from(body));
      } catch (error) {
        return error as RequestBodyError;
      }
      throw new Error('expected a failure');
    };
    expect(failure('{"model":').message).toMatch(/^request body is not valid JSON \(9 bytes\)/);
    expect(failure('[1,2]').message).toBe('request body must be a JSON object');
    expect(failure('{"model": 3}').message).toBe('field "model" must be a string, got number');
    expect(failure('{"model": "m", "max_tokens": -1}').message).toBe(
      'field "max_tokens" must be a non-negative integer',
    );
    expect(failure('{"model": "m", "prompt": {}}').status).toBe(400);
  });

  it('rewrites only the model field', () => {
    const parsed = parseRequestBody(json({ model: 'alias', prompt: 'x', temperature: 0 }));
    expect(JSON.parse(withEdits(parsed, { model: 'target' }).toString())).toEqual({
      model: 'target',
      prompt: 'x',
      temperature: 0,
    });
  });
});

describe('response usage', () => {
  it('reads chat/completions and Responses-API usage blocks', () => {
    expect(
      usageOf({
        usage: { prompt_tokens: 3, completion_tokens: 4, prompt_tokens_details: { cached_tokens: 2 } },
      }),
    ).toEqual({
      promptTokens: 3,
      completionTokens: 4,
      cachedTokens: 2,
    });
    expect(
      usageOf({
        type: 'response.completed',
        response: {
          usage: { input_tokens: 7, output_tokens: 1, input_tokens_details: { cached_tokens: 0 } },
        },
      }),
    ).toEqual({ promptTokens: 7, completionTokens: 1, cachedTokens: 0 });
  });

  it('finds usage in server-sent events however the stream is cut into chunks', () => {
    const events =
      'data: {"choices":[{"delta":{"content":"a"}}]}\n\n' +
      'data: {"choices":[],"usage":{"prompt_tokens":11,"completion_tokens":1}}\n\ndata: [DONE]\n\n';
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: events.length - 1 }), { maxLength: 6 }), (cuts) => {
        const reader = new UsageReader(true);
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        let start = 0;
        for (const point of [...points, events.length]) {
          reader.push(Buffer.from(events.slice(start, point)));
          start = point;
        }
        expect(reader.finish()).toEqual({ promptTokens: 11, completionTokens: 1 });
      }),
    );
  });

  it('restores the client-facing model name in events split anywhere', () => {
    const events = 'data: {"model":"served-7b","x":1}\n\ndata: {"model": "served-7b"}\n\n';
    fc.assert(
      fc.property(fc.integer({ min: 1, max: events.length - 1 }), (cut) => {
        const restorer = new ResponseRewriter({
          model: { served: 'served-7b', client: 'alias' },
          streaming: true,
        });
        const out = Buffer.concat([
          restorer.push(Buffer.from(events.slice(0, cut))),
          restorer.push(Buffer.from(events.slice(cut))),
          restorer.end(),
        ]).toString();
        expect(out).toBe('data: {"model":"alias","x":1}\n\ndata: {"model": "alias"}\n\n');
      }),
    );
  });

  it('removes the usage event the router asked for, split anywhere, and keeps every other event', () => {
    const events =
      'data: {"choices":[{"index":0,"text":"a"}],"usage":null}\n\n' +
      'data: {"choices":[{"index":0,"text":"b","finish_reason":"length"}]}\r\n\r\n' +
      'data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":0}}}\n\n' +
      'data: [DONE]\n\n';
    const expected =
      'data: {"choices":[{"index":0,"text":"a"}],"usage":null}\n\n' +
      'data: {"choices":[{"index":0,"text":"b","finish_reason":"length"}]}\r\n\r\n' +
      'data: [DONE]\n\n';
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: events.length - 1 }),
        fc.integer({ min: 1, max: events.length - 1 }),
        (a, b) => {
          const [first, second] = a < b ? [a, b] : [b, a];
          const rewriter = new ResponseRewriter({ dropUsageEvents: true, streaming: true });
          const reader = new UsageReader(true);
          const out: Buffer[] = [];
          for (const piece of [events.slice(0, first), events.slice(first, second), events.slice(second)]) {
            reader.push(Buffer.from(piece));
            out.push(rewriter.push(Buffer.from(piece)));
          }
          out.push(rewriter.end());
          expect(Buffer.concat(out).toString()).toBe(expected);
          // The router still reads the usage it asked for.
          expect(reader.finish()).toEqual({ promptTokens: 7, completionTokens: 2, cachedTokens: 0 });
        },
      ),
    );
  });

  it('leaves a non-streamed body and a stream whose client asked for usage as they are', () => {
    const body = '{"choices":[],"usage":{"prompt_tokens":1}}';
    const json = new ResponseRewriter({ dropUsageEvents: true, streaming: false });
    expect(Buffer.concat([json.push(Buffer.from(body)), json.end()]).toString()).toBe(body);
    const stream = 'data: {"choices":[],"usage":{"prompt_tokens":1}}\n\ndata: [DONE]\n\n';
    const kept = new ResponseRewriter({ dropUsageEvents: false, streaming: true });
    expect(Buffer.concat([kept.push(Buffer.from(stream)), kept.end()]).toString()).toBe(stream);
  });
});

describe('usage for streamed requests', () => {
  const parse = (json: Record<string, unknown>) => parseRequestBody(Buffer.from(JSON.stringify(json)));

  it('is asked for when a streamed chat or completions request does not ask itself', () => {
    expect(streamsWithoutUsage(parse({ model: 'm', prompt: 'x', stream: true }))).toBe(true);
    expect(streamsWithoutUsage(parse({ model: 'm', messages: [], stream: true }))).toBe(true);
    expect(
      streamsWithoutUsage(
        parse({ model: 'm', prompt: 'x', stream: true, stream_options: { include_usage: false } }),
      ),
    ).toBe(true);
    expect(
      streamsWithoutUsage(
        parse({ model: 'm', prompt: 'x', stream: true, stream_options: { include_usage: true } }),
      ),
    ).toBe(false);
    // Not streamed (usage is in the body), or not chat/completions (the Responses API always reports usage).
    expect(streamsWithoutUsage(parse({ model: 'm', prompt: 'x' }))).toBe(false);
    expect(streamsWithoutUsage(parse({ model: 'm', input: 'x', stream: true }))).toBe(false);
  });

  it("sets include_usage, keeping the client's other stream options and fields, with or without a new model", () => {
    const parsed = parse({
      model: 'alias',
      prompt: 'x',
      stream: true,
      stream_options: { continuous_usage_stats: true },
      max_tokens: 5,
    });
    expect(JSON.parse(withEdits(parsed, { includeUsage: true }).toString())).toEqual({
      model: 'alias',
      prompt: 'x',
      stream: true,
      stream_options: { continuous_usage_stats: true, include_usage: true },
      max_tokens: 5,
    });
    expect(JSON.parse(withEdits(parsed, { model: 'served', includeUsage: true }).toString())).toMatchObject({
      model: 'served',
      stream_options: { continuous_usage_stats: true, include_usage: true },
    });
  });
});

describe('body chunking', () => {
  it('splits into views of at most the limit that add up to the body', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300_000 }), (length) => {
        const body = Buffer.alloc(length, 7);
        const chunks = splitBody(body);
        expect(chunks.every((chunk) => chunk.length <= 62_000)).toBe(true);
        expect(chunks.reduce((sum, chunk) => sum + chunk.length, 0)).toBe(length);
        expect(chunks).toHaveLength(Math.max(1, Math.ceil(length / 62_000)));
      }),
    );
  });
});
