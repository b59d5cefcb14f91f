// token-producer backend `vllm`: a prompt's real token ids from a ready model server of the pool, through
// vLLM's POST /tokenize (`{"model", "prompt"}` for completions, `{"model", "messages"}` for chat, which
// applies the chat template with the generation prompt as a chat completion does; the answer is
// `{"tokens": [...], "count", "max_model_len"}`). Every failure (no endpoint, a refused connection, a status
// other than 200, a body without tokens, the deadline) resolves to undefined, counted by reason, and the
// caller uses the estimate: a request is never held up or failed by its tokenization.
import { Agent, request } from 'undici';
import type { Endpoint } from '../core/types.ts';
import type { ParsedRequestBody } from '../extproc/request-body.ts';
import { PLAIN_HTTP, type ModelServerTransport } from './model-server-transport.ts';

export type TokenizeFallbackReason = 'timeout' | 'error' | 'no-endpoint' | 'unsupported';

export interface PromptTokenizer {
  /** The prompt's token ids as the model server tokenizes it, or undefined: use the estimate. */
  tokenize(parsed: ParsedRequestBody, model: string): Promise<Uint32Array | undefined>;
  close(): Promise<void>;
}

export interface VllmTokenizerOptions {
  /** Endpoints that may be asked (the routable ones); one is chosen at random per call. */
  readonly endpoints: () => readonly Endpoint[];
  readonly timeoutMs: number;
  readonly onFallback?: (reason: TokenizeFallbackReason) => void;
  readonly random?: () => number;
  /** Largest answer read (default 16 MiB, about 1.5 M token ids). */
  readonly maxBodyBytes?: number;
  /** Plain HTTP (the default) or HTTPS with the model servers' certificates verified. */
  readonly transport?: ModelServerTransport;
}

function tokenizeBody(parsed: ParsedRequestBody, model: string): Record<string, unknown> | undefined {
  const json = parsed.json;
  if (Array.isArray(json['messages'])) return { model, messages: json['messages'] };
  const prompt = json['prompt'];
  if (typeof prompt === 'string') return { model, prompt };
  if (Array.isArray(prompt) && typeof prompt[0] === 'string') return { model, prompt: prompt[0] };
  // Responses and embeddings inputs: vLLM tokenizes them otherwise; the estimate stands in.
  return undefined;
}

function tokenIds(value: unknown): Uint32Array | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const tokens = (value as Record<string, unknown>)['tokens'];
  if (!Array.isArray(tokens)) return undefined;
  const ids = new Uint32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const t: unknown = tokens[i];
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > 0xffffffff) return undefined;
    ids[i] = t;
  }
  return ids;
}

export class VllmTokenizer implements PromptTokenizer {
  readonly #options: VllmTokenizerOptions;
  readonly #agent: Agent;
  readonly #transport: ModelServerTransport;
  readonly #random: () => number;

  constructor(options: VllmTokenizerOptions) {
    this.#options = options;
    this.#random = options.random ?? Math.random;
    this.#transport = options.transport ?? PLAIN_HTTP;
    this.#agent = new Agent({
      keepAliveTimeout: 30_000,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connect: this.#transport.connect(options.timeoutMs),
    });
  }

  async tokenize(parsed: ParsedRequestBody, model: string): Promise<Uint32Array | undefined> {
    const body = tokenizeBody(parsed, model);
    if (body === undefined) return this.#fallback('unsupported');
    const endpoints = this.#options.endpoints();
    const endpoint = endpoints[Math.floor(this.#random() * endpoints.length)];
    if (endpoint === undefined) return this.#fallback('no-endpoint');
    // A timer cleared when the call ends, so that no abort reaches a response already read or discarded.
    const controller = new AbortController();
    const signal = controller.signal;
    const deadline = setTimeout(() => controller.abort(), this.#options.timeoutMs);
    try {
      const res = await request(`${this.#transport.origin(endpoint.address, endpoint.port)}/tokenize`, {
        dispatcher: this.#agent,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal,
      });
      const maxBytes = this.#options.maxBodyBytes ?? 16 * 1024 * 1024;
      const length = Number(res.headers['content-length'] ?? 0);
      if (res.statusCode !== 200 || length > maxBytes) {
        // Destroying an unread body emits an abort error: nobody else listens for it.
        res.body.on('error', () => undefined).destroy();
        return this.#fallback('error');
      }
      const ids = tokenIds(await res.body.json());
      return ids ?? this.#fallback('error');
    } catch {
      return this.#fallback(signal.aborted ? 'timeout' : 'error');
    } finally {
      clearTimeout(deadline);
    }
  }

  close(): Promise<void> {
    return this.#agent.close();
  }

  #fallback(reason: TokenizeFallbackReason): undefined {
    this.#options.onFallback?.(reason);
    return undefined;
  }
}
