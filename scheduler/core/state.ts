// Local accounting the scheduler keeps per endpoint: what it sent there and has not seen complete yet.
import type { Endpoint } from './types.ts';

export interface InFlightRecord {
  readonly requestId: string;
  readonly endpointKey: string;
  readonly pickedAtMs: number;
  readonly promptTokens: number;
  /** Prompt tokens the index expected the endpoint to have to compute. */
  readonly uncachedTokens: number;
  /** Output tokens expected (the request's max tokens, or the scorer's default). */
  readonly outputTokens: number;
  /** Block hashes of the prompt (empty when no plugin needs the prefix index). */
  readonly hashes: Float64Array;
  /** Leading blocks the index expected the endpoint to hold at pick time. */
  readonly predictedBlocks: number;
  active: boolean;
  /** On a decode endpoint's record: the same request's record on its prefill endpoint, released with it. */
  readonly prefill?: InFlightRecord | undefined;
}

export interface EndpointState {
  readonly id: number;
  readonly key: string;
  /** Last sweep (or creation) that saw the endpoint in the snapshot given to the scheduler. */
  lastSeenMs: number;
  /** In-flight records in pick order; completed ones are removed lazily. */
  records: InFlightRecord[];
  inFlightRequests: number;
  inFlightPromptTokens: number;
  inFlightUncachedTokens: number;
  inFlightOutputTokens: number;
  /** Bumped on every add and release; keys the memo of queuedUncachedTokens. */
  version: number;
  queuedMemo: { version: number; scrapedAtMs: number; waiting: number; tokens: number } | undefined;
  sinceScrapeMemo: { version: number; scrapedAtMs: number; tokens: number } | undefined;
}

/** Estimated prompt tokens still to be prefilled on an endpoint: requests picked after the last scrape, plus
 * as many of the earlier ones as the scrape reported waiting (the most recent are the ones still queued). */
export function queuedUncachedTokens(state: EndpointState, endpoint: Endpoint): number {
  const metrics = endpoint.metrics;
  if (metrics === undefined) return state.inFlightUncachedTokens;
  const memo = state.queuedMemo;
  if (
    memo !== undefined &&
    memo.version === state.version &&
    memo.scrapedAtMs === metrics.scrapedAtMs &&
    memo.waiting === metrics.waitingRequests
  ) {
    return memo.tokens;
  }
  let waiting = metrics.waitingRequests;
  let total = 0;
  const records = state.records;
  for (let i = records.length - 1; i >= 0; i--) {
    const record = records[i];
    if (record === undefined || !record.active) continue;
    if (record.pickedAtMs > metrics.scrapedAtMs) total += record.uncachedTokens;
    else if (waiting > 0) {
      total += record.uncachedTokens;
      waiting--;
    } else break;
  }
  state.queuedMemo = {
    version: state.version,
    scrapedAtMs: metrics.scrapedAtMs,
    waiting: metrics.waitingRequests,
    tokens: total,
  };
  return total;
}

/** Requests picked for this endpoint after its metrics were scraped and still in flight. */
export function picksSinceScrape(state: EndpointState, endpoint: Endpoint): number {
  const scrapedAt = endpoint.metrics?.scrapedAtMs ?? Number.NEGATIVE_INFINITY;
  let count = 0;
  const records = state.records;
  for (let i = records.length - 1; i >= 0; i--) {
    const record = records[i];
    if (record === undefined || record.pickedAtMs <= scrapedAt) break;
    if (record.active) count++;
  }
  return count;
}

/** Requests waiting at the endpoint as the router sees them: the last scrape's count plus its picks since. */
export function waitingRequestsSeen(state: EndpointState | undefined, endpoint: Endpoint): number {
  const scraped = endpoint.metrics?.waitingRequests ?? 0;
  return state === undefined ? scraped : scraped + picksSinceScrape(state, endpoint);
}

/** Uncached prompt tokens of the requests picked for this endpoint after its last scrape, still in flight. */
export function uncachedTokensSinceScrape(state: EndpointState, endpoint: Endpoint): number {
  const scrapedAt = endpoint.metrics?.scrapedAtMs ?? Number.NEGATIVE_INFINITY;
  const memo = state.sinceScrapeMemo;
  if (memo !== undefined && memo.version === state.version && memo.scrapedAtMs === scrapedAt)
    return memo.tokens;
  let tokens = 0;
  const records = state.records;
  for (let i = records.length - 1; i >= 0; i--) {
    const record = records[i];
    if (record === undefined || record.pickedAtMs <= scrapedAt) break;
    if (record.active) tokens += record.uncachedTokens;
  }
  state.sinceScrapeMemo = { version: state.version, scrapedAtMs: scrapedAt, tokens };
  return tokens;
}

export function addRecord(state: EndpointState, record: InFlightRecord): void {
  state.records.push(record);
  state.version++;
  state.inFlightRequests++;
  state.inFlightPromptTokens += record.promptTokens;
  state.inFlightUncachedTokens += record.uncachedTokens;
  state.inFlightOutputTokens += record.outputTokens;
}

export function releaseRecord(state: EndpointState, record: InFlightRecord): void {
  if (!record.active) return;
  record.active = false;
  state.version++;
  state.inFlightRequests = Math.max(0, state.inFlightRequests - 1);
  state.inFlightPromptTokens = Math.max(0, state.inFlightPromptTokens - record.promptTokens);
  state.inFlightUncachedTokens = Math.max(0, state.inFlightUncachedTokens - record.uncachedTokens);
  state.inFlightOutputTokens = Math.max(0, state.inFlightOutputTokens - record.outputTokens);
  if (state.records.length > 32 && state.inFlightRequests * 2 < state.records.length) {
    state.records = state.records.filter((r) => r.active);
  }
}
