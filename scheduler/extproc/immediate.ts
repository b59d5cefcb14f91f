// Frames a rejection of the shared table (lifecycle/rejections.ts) as an ext_proc ImmediateResponse, as
// llm-d's BuildErrResponse does: the status, an OpenAI-style JSON error body and, for drops, the drop-reason
// header.
import type { RejectionAnswer } from '../lifecycle/rejections.ts';
import { setHeader } from './headers.ts';
import type { ProcessingResponse } from './messages.ts';

export function immediateResponse(answer: RejectionAnswer): ProcessingResponse {
  const setHeaders = [setHeader('content-type', 'application/json')];
  for (const [name, value] of Object.entries(answer.headers)) {
    setHeaders.push(setHeader(name, value));
  }
  return {
    immediateResponse: {
      status: { code: answer.status },
      headers: { setHeaders },
      body: Buffer.from(answer.body, 'utf8'),
      details: answer.headers['x-llm-d-request-dropped-reason'] ?? `router_${answer.status}`,
    },
  };
}
