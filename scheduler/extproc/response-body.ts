// Reading the upstream response on its way back: token usage from a JSON body or from server-sent events
// (chat/completions chunks, and the Responses API `response.completed` event); restoring the client-facing
// model name when the request's model was rewritten, and removing the usage event the router asked for.

export interface Usage {
  readonly promptTokens?: number;
  readonly completionTokens?: number;
  readonly cachedTokens?: number;
}

function numberAt(record: Record<string, unknown> | undefined, key: string): number | undefined {
  const value = record?.[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function recordAt(
  record: Record<string, unknown> | undefined,
  key: string,
): Record<string, unknown> | undefined {
  const value = record?.[key];
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The OpenAI `usage` block (chat/completions names or Responses-API names) of a parsed JSON document. */
export function usageOf(document: unknown): Usage | undefined {
  if (typeof document !== 'object' || document === null) {
    return undefined;
  }
  const root = document as Record<string, unknown>;
  const usage = recordAt(root, 'usage') ?? recordAt(recordAt(root, 'response'), 'usage');
  if (usage === undefined) {
    return undefined;
  }
  const promptTokens = numberAt(usage, 'prompt_tokens') ?? numberAt(usage, 'input_tokens');
  const completionTokens = numberAt(usage, 'completion_tokens') ?? numberAt(usage, 'output_tokens');
  const details = recordAt(usage, 'prompt_tokens_details') ?? recordAt(usage, 'input_tokens_details');
  const cachedTokens = numberAt(details, 'cached_tokens');
  return {
    ...(promptTokens !== undefined ? { promptTokens } : {}),
    ...(completionTokens !== undefined ? { completionTokens } : {}),
    ...(cachedTokens !== undefined ? { cachedTokens } : {}),
  };
}

/** Largest non-streaming body kept for usage parsing; bigger bodies are still echoed, just not parsed. */
const MAX_JSON_BYTES = 16 * 1024 * 1024;
/**
 * Longest server-sent-events line (in UTF-16 code units) held while waiting for its newline. A usage event is a
 * few hundred bytes; a longer line is not worth buffering, so it is skipped (and still echoed unchanged).
 */
export const MAX_EVENT_LINE_CHARS = 1024 * 1024;

/**
 * The unfinished last line of a text stream, kept as pieces so that a long line costs linear time (joining
 * `pending + chunk` on every chunk would copy the line again and again), and capped at `limit` characters.
 */
class PendingLine {
  private readonly limit: number;
  private pieces: string[] = [];
  private length = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get size(): number {
    return this.length;
  }

  /** Appends text without a newline; returns false (and forgets the line) once it passes the limit. */
  append(text: string): boolean {
    if (text.length === 0) {
      return true;
    }
    this.pieces.push(text);
    this.length += text.length;
    return this.length <= this.limit;
  }

  /** The held text followed by `tail`, and empties the buffer. */
  take(tail = ''): string {
    const text = this.pieces.length === 0 ? tail : this.pieces.join('') + tail;
    this.pieces = [];
    this.length = 0;
    return text;
  }
}

/**
 * Watches response body chunks. For server-sent events it scans complete lines as they arrive and only
 * parses `data:` lines that mention "usage"; for JSON it keeps the body and parses it once at the end.
 */
export class UsageReader {
  private readonly streaming: boolean;
  private readonly pendingLine = new PendingLine(MAX_EVENT_LINE_CHARS);
  /** The current line passed MAX_EVENT_LINE_CHARS: drop everything up to its newline. */
  private skippingLine = false;
  private readonly decoder = new TextDecoder();
  private jsonChunks: Buffer[] = [];
  private jsonBytes = 0;
  private found: Usage | undefined;

  constructor(streaming: boolean) {
    this.streaming = streaming;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) {
      return;
    }
    if (!this.streaming) {
      this.jsonBytes += chunk.length;
      if (this.jsonBytes <= MAX_JSON_BYTES) {
        this.jsonChunks.push(chunk);
      } else {
        this.jsonChunks = [];
      }
      return;
    }
    this.pushText(this.decoder.decode(chunk, { stream: true }));
  }

  /** Characters held for an unfinished event line or JSON bytes held for parsing (bounded either way). */
  bufferedSize(): number {
    return this.streaming ? this.pendingLine.size : this.jsonChunks.length === 0 ? 0 : this.jsonBytes;
  }

  private pushText(text: string): void {
    const lastNewline = text.lastIndexOf('\n');
    if (lastNewline < 0) {
      if (!this.skippingLine && !this.pendingLine.append(text)) {
        this.pendingLine.take();
        this.skippingLine = true;
      }
      return;
    }
    let complete: string;
    if (this.skippingLine) {
      // The skipped line ends at the first newline; what follows it is scanned as usual.
      complete = text.slice(text.indexOf('\n') + 1, lastNewline);
      this.skippingLine = false;
    } else {
      complete = this.pendingLine.take(text.slice(0, lastNewline));
    }
    this.scanLines(complete);
    const rest = text.slice(lastNewline + 1);
    if (!this.pendingLine.append(rest)) {
      this.pendingLine.take();
      this.skippingLine = true;
    }
  }

  finish(): Usage | undefined {
    if (this.streaming) {
      this.pushText(this.decoder.decode());
      if (!this.skippingLine) {
        this.scanLines(this.pendingLine.take());
      }
      this.pendingLine.take();
      this.skippingLine = false;
    } else if (this.jsonChunks.length > 0 && this.jsonBytes <= MAX_JSON_BYTES) {
      try {
        this.found = usageOf(JSON.parse(Buffer.concat(this.jsonChunks).toString('utf8'))) ?? this.found;
      } catch {
        // Not JSON (an upstream error page, for example): no usage to report.
      }
      this.jsonChunks = [];
    }
    return this.found;
  }

  private scanLines(text: string): void {
    if (!text.includes('"usage"')) {
      return;
    }
    for (const line of text.split('\n')) {
      if (!line.startsWith('data:') || !line.includes('"usage"')) {
        continue;
      }
      try {
        const usage = usageOf(JSON.parse(line.slice(5)));
        if (usage !== undefined && Object.keys(usage).length > 0) {
          this.found = usage;
        }
      } catch {
        // A malformed event line: ignore it, the stream itself is echoed unchanged.
      }
    }
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whether an event's data is the usage-only chunk of a stream (`"choices": []` with a usage block). */
function isUsageEvent(data: string): boolean {
  try {
    const event: unknown = JSON.parse(data);
    if (typeof event !== 'object' || event === null) return false;
    const record = event as Record<string, unknown>;
    const choices = record['choices'];
    return Array.isArray(choices) && choices.length === 0 && recordAt(record, 'usage') !== undefined;
  } catch {
    return false;
  }
}

/**
 * Edits the response on its way to the client:
 * - `model`: replaces `"model": "<served>"` with the client-facing name (the request's model was rewritten);
 * - `dropUsageEvents`: removes the usage-only event (and the blank line that ends it) from a stream whose usage
 *   the router asked for and the client did not.
 * Server-sent events are handled line by line: an incomplete trailing line is held back until the next chunk,
 * so a name split across chunks is still found.
 */
export class ResponseRewriter {
  private readonly pattern: RegExp | undefined;
  private readonly replacement: string;
  private readonly dropUsageEvents: boolean;
  private readonly lineByLine: boolean;
  private readonly pending = new PendingLine(MAX_EVENT_LINE_CHARS);
  private nonStreamingText: string[] = [];
  private readonly decoder = new TextDecoder();
  /** A usage event was dropped: the blank line that ends it goes too. */
  private dropBlankLine = false;

  constructor(options: {
    readonly model?: { readonly served: string; readonly client: string };
    readonly dropUsageEvents?: boolean;
    readonly streaming: boolean;
  }) {
    const model = options.model;
    this.pattern =
      model === undefined
        ? undefined
        : new RegExp(`("model"\\s*:\\s*)${escapeRegExp(JSON.stringify(model.served))}`, 'g');
    this.replacement = model === undefined ? '' : `$1${JSON.stringify(model.client).replaceAll('$', '$$$$')}`;
    this.lineByLine = options.streaming;
    this.dropUsageEvents = options.streaming && options.dropUsageEvents === true;
  }

  /**
   * Returns the bytes that can be sent now. Non-streaming bodies are held until `end`; an event line longer
   * than MAX_EVENT_LINE_CHARS is let through in pieces (a name split across two pieces stays unchanged).
   */
  push(chunk: Buffer): Buffer {
    const text = this.decoder.decode(chunk, { stream: true });
    if (!this.lineByLine) {
      this.nonStreamingText.push(text);
      return Buffer.alloc(0);
    }
    const lastNewline = text.lastIndexOf('\n');
    if (lastNewline < 0) {
      return this.pending.append(text) ? Buffer.alloc(0) : this.rewrite(this.pending.take());
    }
    const complete = this.pending.take(text.slice(0, lastNewline + 1));
    return this.pending.append(text.slice(lastNewline + 1))
      ? this.rewrite(complete)
      : this.rewrite(complete + this.pending.take());
  }

  end(): Buffer {
    const tail = this.decoder.decode();
    const text = this.lineByLine ? this.pending.take(tail) : this.nonStreamingText.join('') + tail;
    this.nonStreamingText = [];
    return this.rewrite(text);
  }

  private rewrite(text: string): Buffer {
    const kept = this.dropUsageEvents ? this.withoutUsageEvents(text) : text;
    return Buffer.from(
      this.pattern === undefined ? kept : kept.replace(this.pattern, this.replacement),
      'utf8',
    );
  }

  private withoutUsageEvents(text: string): string {
    if (!this.dropBlankLine && !text.includes('"usage"')) return text;
    let kept = '';
    let start = 0;
    while (start < text.length) {
      const newline = text.indexOf('\n', start);
      const end = newline < 0 ? text.length : newline + 1;
      const line = text.slice(start, end);
      start = end;
      const bare = line.endsWith('\r\n') ? line.slice(0, -2) : line.endsWith('\n') ? line.slice(0, -1) : line;
      if (this.dropBlankLine) {
        this.dropBlankLine = false;
        if (bare === '') continue;
      }
      if (bare.startsWith('data:') && bare.includes('"usage"') && isUsageEvent(bare.slice(5))) {
        this.dropBlankLine = true;
        continue;
      }
      kept += line;
    }
    return kept;
  }
}
