// Parsing OpenAI-style request bodies (completions, chat completions, responses; embeddings share the
// `input` field) into what routing needs, and rewriting the model name. Shapes are recognised by field, not
// by path, so a gateway that rewrites paths does not break parsing.

export class RequestBodyError extends Error {
  readonly status: 400 | 413;
  constructor(status: 400 | 413, message: string) {
    super(message);
    this.name = 'RequestBodyError';
    this.status = status;
  }
}

export interface ParsedRequestBody {
  readonly model: string;
  readonly stream: boolean;
  /** Prompt token ids when the client sent ids (completions `prompt: number[]`). */
  readonly promptTokenIds?: Uint32Array;
  /** Prompt text in a stable serialisation (what the prefix index hashes when no ids were sent). */
  readonly promptText: string;
  readonly maxOutputTokens?: number;
  readonly json: Record<string, unknown>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeJsonError(error: unknown, body: Buffer): string {
  const message = error instanceof Error ? error.message : String(error);
  return `request body is not valid JSON (${body.length} bytes): ${message}`;
}

export function parseRequestBody(body: Buffer): ParsedRequestBody {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new RequestBodyError(400, describeJsonError(error, body));
  }
  if (!isRecord(json)) {
    throw new RequestBodyError(400, 'request body must be a JSON object');
  }
  const model = json['model'];
  if (model !== undefined && typeof model !== 'string') {
    throw new RequestBodyError(400, `field "model" must be a string, got ${typeof model}`);
  }
  const stream = json['stream'];
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') {
    throw new RequestBodyError(400, `field "stream" must be a boolean, got ${typeof stream}`);
  }
  const maxOutputTokens = firstNonNegativeInteger(json, [
    'max_tokens',
    'max_completion_tokens',
    'max_output_tokens',
  ]);
  const prompt = extractPrompt(json);
  return {
    model: model ?? '',
    stream: stream === true,
    promptText: prompt.text,
    ...(prompt.tokenIds !== undefined ? { promptTokenIds: prompt.tokenIds } : {}),
    ...(maxOutputTokens !== undefined ? { maxOutputTokens } : {}),
    json,
  };
}

function firstNonNegativeInteger(
  json: Record<string, unknown>,
  fields: readonly string[],
): number | undefined {
  for (const field of fields) {
    const value = json[field];
    if (value === undefined || value === null) {
      continue;
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new RequestBodyError(400, `field "${field}" must be a non-negative integer`);
    }
    return value;
  }
  return undefined;
}

interface ExtractedPrompt {
  readonly text: string;
  readonly tokenIds?: Uint32Array;
}

function extractPrompt(json: Record<string, unknown>): ExtractedPrompt {
  const messages = json['messages'];
  if (Array.isArray(messages)) {
    return { text: messagesText(messages) };
  }
  const prompt = json['prompt'];
  if (prompt !== undefined) {
    return promptOf(prompt, 'prompt');
  }
  const input = json['input'];
  const instructions = typeof json['instructions'] === 'string' ? json['instructions'] : '';
  if (typeof input === 'string') {
    return { text: instructions + input };
  }
  if (Array.isArray(input)) {
    if (input.every((item) => typeof item === 'number')) {
      return promptOf(input, 'input');
    }
    return { text: instructions + messagesText(input) };
  }
  return { text: instructions };
}

function promptOf(prompt: unknown, field: string): ExtractedPrompt {
  if (typeof prompt === 'string') {
    return { text: prompt };
  }
  if (Array.isArray(prompt)) {
    if (prompt.length > 0 && prompt.every((item) => typeof item === 'number')) {
      return { text: '', tokenIds: Uint32Array.from(prompt as number[]) };
    }
    // A batch: the first prompt decides placement, as each prompt of a batch shares the endpoint.
    const first: unknown = prompt[0];
    if (first === undefined) {
      return { text: '' };
    }
    if (typeof first === 'string' || Array.isArray(first)) {
      return promptOf(first, field);
    }
  }
  throw new RequestBodyError(400, `field "${field}" must be a string, an array of strings or of token ids`);
}

/** Chat messages or Responses-API input items: role and text of each, in order. */
function messagesText(items: readonly unknown[]): string {
  let text = '';
  for (const item of items) {
    if (typeof item === 'string') {
      text += item + '\n';
      continue;
    }
    if (!isRecord(item)) {
      continue;
    }
    const role = typeof item['role'] === 'string' ? item['role'] : '';
    text += `<${role}>` + contentText(item['content']) + '\n';
  }
  return text;
}

function contentText(content: unknown): string {
  if (typeof content === 'string') {
    return content;
  }
  if (!Array.isArray(content)) {
    return '';
  }
  let text = '';
  for (const part of content) {
    if (isRecord(part) && typeof part['text'] === 'string') {
      text += part['text'];
    }
  }
  return text;
}

/**
 * Whether a streamed chat or completions request leaves usage out of its stream: OpenAI servers send the usage
 * event (token counts, cached tokens) only when `stream_options.include_usage` is true.
 */
export function streamsWithoutUsage(parsed: ParsedRequestBody): boolean {
  const json = parsed.json;
  if (!parsed.stream || (json['messages'] === undefined && json['prompt'] === undefined)) return false;
  const options = json['stream_options'];
  return !(isRecord(options) && options['include_usage'] === true);
}

/**
 * The body re-serialised with another model name and/or `stream_options.include_usage` set (the client's other
 * stream options kept); other fields keep their order and values.
 */
export function withEdits(
  parsed: ParsedRequestBody,
  edits: { readonly model?: string; readonly includeUsage?: boolean },
): Buffer {
  const json: Record<string, unknown> = { ...parsed.json };
  if (edits.model !== undefined) json['model'] = edits.model;
  if (edits.includeUsage === true) {
    const options = json['stream_options'];
    json['stream_options'] = { ...(isRecord(options) ? options : {}), include_usage: true };
  }
  return Buffer.from(JSON.stringify(json), 'utf8');
}
