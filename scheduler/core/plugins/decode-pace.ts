// The pool's decode pace: what a request's time per output token should be, given what loaded its endpoint while
// it decoded. An engine's step takes longer the more sequences it runs, the longer their contexts, and the more
// prefill it mixes in (chunked prefill shares steps with decoding); an engine that is slow takes longer for the
// same load. The router sees each request's decode window (first token → completion) and, over that window, its
// own record of the endpoint: the requests in flight there, their prompt tokens, and the prefill work of the
// requests whose first token came back there. A linear model fitted over the whole pool's requests says what the
// load explains; an endpoint whose requests keep taking longer than that is slow, not busy.
//
// The fit is a non-negative ridge regression over exponentially weighted sums (the last `windowRequests` samples
// count most), solved on demand: five features, so a 5 × 5 system.

/** What the router records per endpoint, integrated over time so any window's mean can be taken. */
export interface EndpointLoad {
  atMs: number;
  inFlight: number;
  promptTokens: number;
  /** ∫ inFlight dt and ∫ promptTokens dt (ms). */
  inFlightMs: number;
  promptTokenMs: number;
  /** Prefill work of requests whose first token came back here: uncached tokens, and attention (tokens × context). */
  prefilledTokens: number;
  prefilledAttention: number;
}

export function newEndpointLoad(nowMs: number): EndpointLoad {
  return {
    atMs: nowMs,
    inFlight: 0,
    promptTokens: 0,
    inFlightMs: 0,
    promptTokenMs: 0,
    prefilledTokens: 0,
    prefilledAttention: 0,
  };
}

/** Integrates the load up to `nowMs` (events may arrive slightly out of order; time never runs back). */
export function advanceLoad(load: EndpointLoad, nowMs: number): void {
  const dt = nowMs - load.atMs;
  if (dt <= 0) return;
  load.inFlightMs += load.inFlight * dt;
  load.promptTokenMs += load.promptTokens * dt;
  load.atMs = nowMs;
}

/** A snapshot of the integrals at a request's first token. */
export interface LoadMark {
  readonly inFlightMs: number;
  readonly promptTokenMs: number;
  readonly prefilledTokens: number;
  readonly prefilledAttention: number;
}

export function markLoad(load: EndpointLoad): LoadMark {
  return {
    inFlightMs: load.inFlightMs,
    promptTokenMs: load.promptTokenMs,
    prefilledTokens: load.prefilledTokens,
    prefilledAttention: load.prefilledAttention,
  };
}

export const PACE_FEATURES = 5;

/**
 * Features of a decode window from `mark` to now over `intervals` (output tokens − 1): intercept, mean requests in
 * flight, mean prompt tokens in flight (per 10⁵), prefill tokens (per 10³) and prefill attention (per 10⁸) per
 * output token. The scales only keep the numbers near each other; the fit does not depend on them.
 */
export function paceFeatures(
  load: EndpointLoad,
  mark: LoadMark,
  durationMs: number,
  intervals: number,
): Float64Array {
  const ms = Math.max(durationMs, 1e-6);
  return Float64Array.of(
    1,
    (load.inFlightMs - mark.inFlightMs) / ms,
    (load.promptTokenMs - mark.promptTokenMs) / ms / 1e5,
    (load.prefilledTokens - mark.prefilledTokens) / intervals / 1e3,
    (load.prefilledAttention - mark.prefilledAttention) / intervals / 1e8,
  );
}

/** Exponentially weighted, non-negative ridge regression of y on x (x[0] = 1, the intercept, is not shrunk). */
export class WeightedRidge {
  private readonly xx: Float64Array;
  private readonly xy: Float64Array;
  private sumW = 0;
  private sumWy = 0;
  private count = 0;
  private solved: Float64Array | undefined;
  private readonly previous: Float64Array;
  private readonly keep: number;
  private readonly size: number;
  /** Shrinkage of each coefficient, as a share of its feature's weighted sum of squares. */
  private readonly ridge: number;

  constructor(size: number, windowSamples: number, ridge = 1e-3) {
    this.size = size;
    this.ridge = ridge;
    this.xx = new Float64Array(size * size);
    this.xy = new Float64Array(size);
    this.previous = new Float64Array(size);
    this.keep = 1 - 1 / windowSamples;
  }

  get samples(): number {
    return this.count;
  }

  add(x: Float64Array, y: number): void {
    const n = this.size;
    for (let i = 0; i < n * n; i++) this.xx[i] = (this.xx[i] as number) * this.keep;
    for (let i = 0; i < n; i++) {
      const xi = x[i] as number;
      this.xy[i] = (this.xy[i] as number) * this.keep + xi * y;
      for (let j = 0; j < n; j++) this.xx[i * n + j] = (this.xx[i * n + j] as number) + xi * (x[j] as number);
    }
    this.sumW = this.sumW * this.keep + 1;
    this.sumWy = this.sumWy * this.keep + y;
    this.count++;
    this.solved = undefined;
  }

  /** The weighted mean of y. */
  mean(): number {
    return this.sumW > 0 ? this.sumWy / this.sumW : 0;
  }

  predict(x: Float64Array): number {
    const w = this.coefficients();
    let y = 0;
    for (let i = 0; i < this.size; i++) y += (w[i] as number) * (x[i] as number);
    return y;
  }

  /**
   * The least-squares coefficients, none negative (more load never makes a step faster; a fit left free explains a
   * slow endpoint by whatever feature happens to be lower there). Projected Gauss–Seidel on the normal equations
   * XᵀX w = Xᵀy, started from the previous solution.
   */
  coefficients(): Float64Array {
    if (this.solved !== undefined) return this.solved;
    const n = this.size;
    const w = this.previous;
    for (let sweep = 0; sweep < 100; sweep++) {
      let moved = 0;
      for (let j = 0; j < n; j++) {
        const diagonal = this.xx[j * n + j] as number;
        const a = diagonal * (1 + (j === 0 ? 0 : this.ridge)) + 1e-12;
        let r = this.xy[j] as number;
        for (let k = 0; k < n; k++) if (k !== j) r -= (this.xx[j * n + k] as number) * (w[k] as number);
        const next = Math.max(0, r / a);
        moved = Math.max(moved, Math.abs(next - (w[j] as number)) * Math.sqrt(diagonal));
        w[j] = next;
      }
      if (moved <= 1e-9 * Math.max(1, Math.abs(this.sumWy))) break;
    }
    this.solved = Float64Array.from(w);
    return this.solved;
  }
}
