// The OpenAI request and response shapes the simulator speaks (/v1/completions, /v1/chat/completions), as
// vLLM's OpenAI-compatible server produces them. Parsing is strict: a bad field is a 400 naming the field.

import { estimatePromptTokens } from '../core/tokens.ts';

export type ApiKind = 'completion' | 'chat';

export interface ParsedGenerationRequest {
  readonly kind: ApiKind;
  readonly model: string;
  readonly promptTokens: Uint32Array;
  /** max_tokens / max_completion_tokens, when given. */
  readonly maxTokens: number | undefined;
  readonly stream: boolean;
  readonly includeUsage: boolean;
}

export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  constructor(status: number, type: string, message: string) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

const badRequest = (message: string): ApiError => new ApiError(400, 'BadRequestError', message);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalPositiveInteger(body: Record<string, unknown>, field: string): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw badRequest(`"${field}" must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function messageText(content: unknown, where: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (Array.isArray(content)) {
    return content
      .map((part: unknown, index) => {
        if (isRecord(part) && part['type'] === 'text' && typeof part['text'] === 'string')
          return part['text'];
        throw badRequest(`${where}[${String(index)}] must be a {"type": "text", "text": string} part`);
      })
      .join('');
  }
  throw badRequest(`${where} must be a string or an array of text parts`);
}

/** The Qwen chat template (ChatML), so chat prompts become one text the estimate tokenizer can read. */
export function renderChatPrompt(messages: unknown): string {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw badRequest('"messages" must be a non-empty array');
  }
  let text = '';
  messages.forEach((message: unknown, index) => {
    const where = `messages[${String(index)}]`;
    if (!isRecord(message) || typeof message['role'] !== 'string') {
      throw badRequest(`${where} must be an object with a string "role"`);
    }
    text += `<|im_start|>${message['role']}\n${messageText(message['content'], `${where}.content`)}<|im_end|>\n`;
  });
  return `${text}<|im_start|>assistant\n`;
}

function completionPromptTokens(prompt: unknown): Uint32Array {
  if (typeof prompt === 'string') return estimatePromptTokens(prompt);
  if (
    Array.isArray(prompt) &&
    prompt.length > 0 &&
    prompt.every((t) => Number.isInteger(t) && (t as number) >= 0)
  ) {
    return Uint32Array.from(prompt as number[]);
  }
  throw badRequest(
    '"prompt" must be a string or a non-empty array of token ids (batched prompts are not supported)',
  );
}

/** A request body that is a JSON object naming a model; anything else is a 400. */
function parseModelBody(rawBody: string): { body: Record<string, unknown>; model: string } {
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch (error) {
    throw badRequest(`request body is not valid JSON: ${(error as Error).message}`);
  }
  if (!isRecord(body)) throw badRequest('request body must be a JSON object');
  const model = body['model'];
  if (typeof model !== 'string' || model === '') throw badRequest('"model" must be a non-empty string');
  return { body, model };
}

export function parseGenerationRequest(kind: ApiKind, rawBody: string): ParsedGenerationRequest {
  const { body, model } = parseModelBody(rawBody);
  const stream = body['stream'] ?? false;
  if (typeof stream !== 'boolean') throw badRequest('"stream" must be a boolean');
  const streamOptions = body['stream_options'];
  if (streamOptions !== undefined && streamOptions !== null && !isRecord(streamOptions)) {
    throw badRequest('"stream_options" must be an object');
  }
  const includeUsage = isRecord(streamOptions) && streamOptions['include_usage'] === true;
  const promptTokens =
    kind === 'chat'
      ? estimatePromptTokens(renderChatPrompt(body['messages']))
      : completionPromptTokens(body['prompt']);
  const maxTokens =
    kind === 'chat'
      ? (optionalPositiveInteger(body, 'max_completion_tokens') ??
        optionalPositiveInteger(body, 'max_tokens'))
      : optionalPositiveInteger(body, 'max_tokens');
  return { kind, model, promptTokens, maxTokens, stream, includeUsage };
}

/**
 * vLLM's POST /tokenize: `{model, prompt}` or `{model, messages}` (the chat template applied, with the
 * assistant's generation prompt as vLLM's default add_generation_prompt) → exactly the token ids a generation
 * request with the same prompt or messages hands the engine.
 */
export function parseTokenizeRequest(rawBody: string): { model: string; tokens: Uint32Array } {
  const { body, model } = parseModelBody(rawBody);
  if (body['messages'] !== undefined) {
    return { model, tokens: estimatePromptTokens(renderChatPrompt(body['messages'])) };
  }
  return { model, tokens: completionPromptTokens(body['prompt']) };
}

export interface Usage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
  readonly prompt_tokens_details: { readonly cached_tokens: number };
}

export function usageOf(promptTokens: number, completionTokens: number, cachedTokens: number): Usage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: Math.max(0, cachedTokens) },
  };
}

export interface ResponseIdentity {
  readonly id: string;
  readonly created: number;
  readonly model: string;
}

export function fullResponse(
  kind: ApiKind,
  identity: ResponseIdentity,
  text: string,
  finishReason: string,
  usage: Usage,
): Record<string, unknown> {
  const choice =
    kind === 'chat'
      ? {
          index: 0,
          message: { role: 'assistant', content: text },
          logprobs: null,
          finish_reason: finishReason,
        }
      : { index: 0, text, logprobs: null, finish_reason: finishReason, stop_reason: null };
  return {
    id: identity.id,
    object: kind === 'chat' ? 'chat.completion' : 'text_completion',
    created: identity.created,
    model: identity.model,
    choices: [choice],
    usage,
  };
}

export function streamChunk(
  kind: ApiKind,
  identity: ResponseIdentity,
  delta: { role?: string; text?: string },
  finishReason: string | null,
): Record<string, unknown> {
  const choice =
    kind === 'chat'
      ? {
          index: 0,
          delta: {
            ...(delta.role === undefined ? {} : { role: delta.role }),
            ...(delta.text === undefined ? {} : { content: delta.text }),
          },
          logprobs: null,
          finish_reason: finishReason,
        }
      : { index: 0, text: delta.text ?? '', logprobs: null, finish_reason: finishReason, stop_reason: null };
  return {
    id: identity.id,
    object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion',
    created: identity.created,
    model: identity.model,
    choices: [choice],
  };
}

export function usageChunk(kind: ApiKind, identity: ResponseIdentity, usage: Usage): Record<string, unknown> {
  return {
    id: identity.id,
    object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion',
    created: identity.created,
    model: identity.model,
    choices: [],
    usage,
  };
}

export function errorBody(status: number, type: string, message: string): Record<string, unknown> {
  return { error: { message, type, param: null, code: status } };
}
