// Outlier ejection from observed outcomes, as Envoy's outlier detection does it: an endpoint whose requests
// fail `consecutiveFailures` times in a row (refused connections, 5xx answers, resets) is ejected for a time
// that doubles with each ejection in a row (base … max). When the time is over the endpoint is on probation:
// it takes one request at a time (the recovery probe); a success makes it healthy again, a failure ejects it
// at once for the next, longer period. The routing service reports an answer's success at its first bytes. A
// failing replica finishes requests fast, so without this it looks idle to every load scorer and attracts the
// traffic. Pure: time comes from the caller.
import type { Endpoint } from './types.ts';

export type EndpointOutcome = 'success' | 'connect-failure' | 'server-error' | 'reset';

export interface OutlierConfig {
  /** Failures in a row that eject an endpoint (default 3). */
  readonly consecutiveFailures: number;
  /** First ejection time (default 2 s); doubles with each ejection in a row. */
  readonly baseEjectionMs: number;
  /** Longest ejection time (default 30 s). */
  readonly maxEjectionMs: number;
}

export const DEFAULT_OUTLIER_CONFIG: OutlierConfig = {
  consecutiveFailures: 3,
  baseEjectionMs: 2_000,
  maxEjectionMs: 30_000,
};

export type HealthEvent =
  | {
      readonly kind: 'ejected';
      readonly key: string;
      readonly forMs: number;
      readonly outcome: EndpointOutcome;
    }
  | { readonly kind: 'recovered'; readonly key: string };

interface Health {
  failures: number;
  /** Ejections in a row without a success in between (0 = healthy). */
  ejections: number;
  ejectedUntilMs: number;
  /** Request id of the recovery probe in flight, and when it was sent. */
  probe: string | undefined;
  probeSentMs: number;
}

export class OutlierDetector {
  readonly #config: OutlierConfig;
  readonly #health = new Map<string, Health>();

  constructor(config: Partial<OutlierConfig> = {}) {
    this.#config = { ...DEFAULT_OUTLIER_CONFIG, ...config };
  }

  /** Records what happened to a request (or a connection attempt) on `key`. */
  record(key: string, outcome: EndpointOutcome, nowMs: number, requestId?: string): HealthEvent | undefined {
    const health = this.#health.get(key);
    if (outcome === 'success') {
      if (health === undefined) return undefined;
      this.#health.delete(key);
      return health.ejections > 0 ? { kind: 'recovered', key } : undefined;
    }
    const h = health ?? { failures: 0, ejections: 0, ejectedUntilMs: 0, probe: undefined, probeSentMs: 0 };
    if (health === undefined) this.#health.set(key, h);
    if (requestId !== undefined && h.probe === requestId) h.probe = undefined;
    if (h.ejections > 0 && nowMs < h.ejectedUntilMs) return undefined; // already ejected
    h.failures++;
    // On probation (ejected before, time over) one failure is enough.
    if (h.ejections === 0 && h.failures < this.#config.consecutiveFailures) return undefined;
    const forMs = Math.min(this.#config.maxEjectionMs, this.#config.baseEjectionMs * 2 ** h.ejections);
    h.ejections++;
    h.failures = 0;
    h.ejectedUntilMs = nowMs + forMs;
    h.probe = undefined;
    return { kind: 'ejected', key, forMs, outcome };
  }

  /** A request was sent to `key`: on probation it is the recovery probe, and no other goes there meanwhile. */
  picked(key: string, requestId: string, nowMs: number): void {
    const h = this.#health.get(key);
    if (h !== undefined && h.ejections > 0 && nowMs >= h.ejectedUntilMs) {
      h.probe = requestId;
      h.probeSentMs = nowMs;
    }
  }

  /** A request on `key` ended without telling anything about the endpoint (cancelled, rejected upstream). */
  released(key: string, requestId: string): void {
    const h = this.#health.get(key);
    if (h !== undefined && h.probe === requestId) h.probe = undefined;
  }

  /** Whether new requests may go to `key` now. */
  routable(key: string, nowMs: number): boolean {
    const h = this.#health.get(key);
    if (h === undefined || h.ejections === 0) return true;
    if (nowMs < h.ejectedUntilMs) return false;
    // A probe that never reported back (lost completion) does not block the endpoint for ever.
    return h.probe === undefined || nowMs - h.probeSentMs > this.#config.maxEjectionMs;
  }

  /** The endpoints that may take new requests; the same array when none is excluded. */
  filter(endpoints: readonly Endpoint[], nowMs: number): readonly Endpoint[] {
    if (this.#health.size === 0) return endpoints;
    let kept: Endpoint[] | undefined;
    for (let i = 0; i < endpoints.length; i++) {
      const e = endpoints[i];
      if (e === undefined) continue;
      const ok = this.routable(e.key, nowMs);
      if (!ok && kept === undefined) kept = endpoints.slice(0, i);
      else if (ok && kept !== undefined) kept.push(e);
    }
    return kept ?? endpoints;
  }

  /** Keys ejected right now (not counting endpoints on probation). */
  ejected(nowMs: number): string[] {
    const keys: string[] = [];
    for (const [key, h] of this.#health) if (h.ejections > 0 && nowMs < h.ejectedUntilMs) keys.push(key);
    return keys.sort();
  }

  /** Drops the state of endpoints that left the pool, so it stays bounded under pod churn. */
  retain(keys: ReadonlySet<string>): void {
    for (const key of [...this.#health.keys()]) if (!keys.has(key)) this.#health.delete(key);
  }
}
