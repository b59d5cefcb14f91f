// Frames a rejection of the shared table (lifecycle/rejections.ts) as an HTTP answer with an OpenAI error
// body: {"error": {"message", "type", "param", "code"}}.
import type { ServerResponse } from 'node:http';

/** Answers with a JSON error body; extra headers (e.g. the drop reason) are added as given. */
export function sendOpenAIError(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
