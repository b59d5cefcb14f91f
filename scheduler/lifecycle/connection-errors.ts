// Telling a refused connection (nothing of the request reached the server) from other network failures.

/** Connection-level failures that happen before any request byte is written. */
const REFUSAL_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export function isConnectionRefusal(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && REFUSAL_CODES.has(code)) {
      return true;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
