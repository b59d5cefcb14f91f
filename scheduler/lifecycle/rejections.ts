// The one table of answers the router gives itself instead of a model server's: each reason maps to the
// HTTP status, the OpenAI error `type` and `code`, the error code of `llm_d_epp_request_error_total`, and
// whether the answer carries `x-llm-d-request-dropped-reason`. Both faces (ext_proc ImmediateResponse and
// the HTTP proxy) frame these same values, so a client sees the same error whichever way it came in.
import type { DropReason } from '../core/types.ts';
import type { RequestErrorCode } from '../telemetry/metrics.ts';

export type RejectionReason =
  | DropReason
  | 'invalid-request'
  | 'model-missing'
  | 'model-not-found'
  | 'rate-limited'
  | 'route-not-found'
  | 'method-not-allowed'
  | 'payload-too-large'
  | 'gateway-misconfigured'
  | 'internal'
  | 'upstream-failed';

export interface RejectionSpec {
  readonly status: number;
  /** OpenAI's error.type. */
  readonly type: string;
  /** OpenAI's error.code. */
  readonly code: string;
  /** error_code label of llm_d_epp_request_error_total. */
  readonly errorCode: RequestErrorCode;
  /** Sent as x-llm-d-request-dropped-reason (router drops, as llm-d names them). */
  readonly dropped: boolean;
  /** Message used when the caller gives none. */
  readonly message: string;
}

const drop = (status: 429 | 503, message: string, code: DropReason): RejectionSpec => ({
  status,
  type: status === 429 ? 'rate_limit_error' : 'service_unavailable',
  code,
  errorCode: status === 429 ? 'ResourceExhausted' : 'ServiceUnavailable',
  dropped: true,
  message,
});

export const REJECTIONS: Readonly<Record<RejectionReason, RejectionSpec>> = {
  'invalid-request': {
    status: 400,
    type: 'invalid_request_error',
    code: 'invalid_request',
    errorCode: 'BadRequest',
    dropped: false,
    message: 'the request body is not a valid request',
  },
  'model-missing': {
    status: 400,
    type: 'invalid_request_error',
    code: 'model_missing',
    errorCode: 'BadRequest',
    dropped: false,
    message: 'model not found in request body',
  },
  'model-not-found': {
    status: 404,
    type: 'not_found_error',
    code: 'model_not_found',
    errorCode: 'NotFound',
    dropped: false,
    message: 'the model does not exist',
  },
  'route-not-found': {
    status: 404,
    type: 'not_found_error',
    code: 'not_found',
    errorCode: 'NotFound',
    dropped: false,
    message: 'no such route',
  },
  'method-not-allowed': {
    status: 405,
    type: 'invalid_request_error',
    code: 'method_not_allowed',
    errorCode: 'BadRequest',
    dropped: false,
    message: 'method not allowed',
  },
  'payload-too-large': {
    status: 413,
    type: 'invalid_request_error',
    code: 'request_too_large',
    errorCode: 'PayloadTooLarge',
    dropped: false,
    message: "the request body exceeds the router's limit",
  },
  // The model's own request-rate limit (route.rateLimit), not a drop by the scheduler.
  'rate-limited': {
    status: 429,
    type: 'rate_limit_error',
    code: 'rate_limit_exceeded',
    errorCode: 'ResourceExhausted',
    dropped: false,
    message: "the model's request-rate limit is reached",
  },
  'rejected-saturated': drop(429, 'the pool is saturated; request shed', 'rejected-saturated'),
  'rejected-queue-full': drop(429, 'the flow-control queue is full', 'rejected-queue-full'),
  'rejected-ttl-expired': drop(
    429,
    'the request waited in the flow-control queue longer than its time to live',
    'rejected-ttl-expired',
  ),
  'rejected-no-endpoints': drop(503, 'no ready model server endpoints', 'rejected-no-endpoints'),
  'rejected-shutting-down': drop(503, 'the router is shutting down', 'rejected-shutting-down'),
  'gateway-misconfigured': {
    status: 500,
    type: 'server_error',
    code: 'gateway_misconfigured',
    errorCode: 'Internal',
    dropped: false,
    message: 'the gateway is misconfigured',
  },
  internal: {
    status: 500,
    type: 'server_error',
    code: 'internal_error',
    errorCode: 'Internal',
    dropped: false,
    message: 'internal error in the router',
  },
  'upstream-failed': {
    status: 502,
    type: 'upstream_error',
    code: 'upstream_error',
    errorCode: 'ModelServerError',
    dropped: false,
    message: 'the model server failed',
  },
};

/** A rejection ready to be framed by a face: status, headers and the OpenAI error body. */
export interface RejectionAnswer {
  readonly reason: RejectionReason;
  readonly status: number;
  readonly errorCode: RequestErrorCode;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export const DROPPED_REASON_HEADER = 'x-llm-d-request-dropped-reason';

export function rejectionAnswer(reason: RejectionReason, message?: string): RejectionAnswer {
  const spec = REJECTIONS[reason];
  const body = JSON.stringify({
    error: { message: message ?? spec.message, type: spec.type, param: null, code: spec.code },
  });
  return {
    reason,
    status: spec.status,
    errorCode: spec.errorCode,
    headers: spec.dropped ? { [DROPPED_REASON_HEADER]: reason } : {},
    body,
  };
}
