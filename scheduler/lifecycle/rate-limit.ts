// A model's request-rate limit, enforced by its router on both faces: a token bucket refilled at a steady rate
// up to a burst. The router is where every request of the model passes and is parsed, so a request that is
// refused here never reaches a model server (and malformed requests never spend a token).

export interface RateLimit {
  /** Sustained requests per second this router admits. */
  readonly requestsPerSecond: number;
  /** Requests it admits at once after a quiet period. */
  readonly burst: number;
}

export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #updatedAt: number;

  constructor(limit: RateLimit, now: () => number = () => performance.now()) {
    if (!(limit.requestsPerSecond > 0) || !(limit.burst >= 1)) {
      throw new Error('a rate limit needs requestsPerSecond > 0 and burst >= 1');
    }
    this.#rate = limit.requestsPerSecond / 1000;
    this.#burst = limit.burst;
    this.#now = now;
    this.#tokens = limit.burst;
    this.#updatedAt = now();
  }

  /** Takes one token: undefined when admitted, else the whole seconds until one is available (Retry-After). */
  take(): number | undefined {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#updatedAt) * this.#rate);
    this.#updatedAt = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - this.#tokens) / this.#rate / 1000));
  }
}
