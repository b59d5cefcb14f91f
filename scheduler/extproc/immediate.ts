// Answers the router gives itself instead of routing (llm-d's BuildErrResponse): an ImmediateResponse with
// an OpenAI-style JSON error body and, for shedding and missing endpoints, the drop-reason header.
import { HEADER, setHeader } from './headers.ts';
import type { ProcessingResponse } from './messages.ts';

const ERROR_TYPE: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  404: 'not_found_error',
  413: 'invalid_request_error',
  429: 'rate_limit_exceeded',
  500: 'internal_error',
  503: 'service_unavailable',
};

export function immediateResponse(
  status: number,
  message: string,
  options: { readonly code?: string; readonly droppedReason?: string } = {},
): ProcessingResponse {
  const error = { message, type: ERROR_TYPE[status] ?? 'error', code: options.code ?? null };
  const setHeaders = [setHeader('content-type', 'application/json')];
  if (options.droppedReason !== undefined) {
    setHeaders.push(setHeader(HEADER.droppedReason, options.droppedReason));
  }
  return {
    immediateResponse: {
      status: { code: status },
      headers: { setHeaders },
      body: Buffer.from(JSON.stringify({ error }), 'utf8'),
      details: options.droppedReason ?? `router_${status}`,
    },
  };
}
