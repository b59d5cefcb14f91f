// Telling a refused connection (nothing of the request reached the server) from other network failures.

/** Connection-level failures that happen before any request byte is written. */
const REFUSAL_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Whether `err` or one of its causes has a string code that `matches`. */
function hasCode(err: unknown, matches: (code: string) => boolean): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && matches(code)) {
      return true;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

export function isConnectionRefusal(err: unknown): boolean {
  return hasCode(err, (code) => REFUSAL_CODES.has(code));
}

/**
 * A failed TLS handshake: Node's and OpenSSL's own codes (ERR_TLS_CERT_ALTNAME_INVALID,
 * ERR_SSL_WRONG_VERSION_NUMBER, EPROTO), and X.509 verification results (UNABLE_TO_VERIFY_LEAF_SIGNATURE,
 * SELF_SIGNED_CERT_IN_CHAIN, CERT_HAS_EXPIRED, …).
 */
const TLS_FAILURE_CODE =
  /^(ERR_TLS_|ERR_SSL_|EPROTO$|UNABLE_TO_)|CERT|CRL|SELF_SIGNED|INVALID_CA|INVALID_PURPOSE|PATH_LENGTH|HOSTNAME_MISMATCH/;

export function isTlsFailure(err: unknown): boolean {
  return hasCode(err, (code) => TLS_FAILURE_CODE.test(code));
}
