// OpenAI-style error bodies: {"error": {"message", "type", "param", "code"}}.
import type { ServerResponse } from 'node:http';

const TYPE_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  413: 'invalid_request_error',
  429: 'rate_limit_error',
  500: 'server_error',
  502: 'upstream_error',
  503: 'service_unavailable',
  504: 'upstream_error',
};

export function openAIErrorBody(status: number, message: string, code: string | null = null): string {
  return JSON.stringify({
    error: { message, type: TYPE_BY_STATUS[status] ?? 'server_error', param: null, code },
  });
}

/** Answers with an OpenAI error body; extra headers (e.g. the drop reason) are added as given. */
export function sendOpenAIError(
  res: ServerResponse,
  status: number,
  message: string,
  code: string | null = null,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = openAIErrorBody(status, message, code);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
