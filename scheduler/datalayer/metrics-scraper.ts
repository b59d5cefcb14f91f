// Polls every known endpoint's /metrics off the request path and stores the parsed values in the registry.
// One timer drives all endpoints; an endpoint whose previous scrape is still running is skipped for that tick,
// so a slow server never piles up requests. A failed scrape keeps the last good values with their original
// scrape time: the core sees them age and treats the endpoint as stale once they pass its threshold.
// Every scrape has one deadline for all of it (connect, headers, body) and a cap on the body size, and the
// body is filtered line by line as it arrives: a huge or drip-fed /metrics fails its scrape instead of
// holding memory, the event loop or the endpoint's scrape slot.
import { Agent, request } from 'undici';
import { isConnectionRefusal, isTlsFailure } from '../lifecycle/connection-errors.ts';
import type { EndpointRegistry } from './endpoint-registry.ts';
import { PLAIN_HTTP, type ModelServerTransport } from './model-server-transport.ts';
import { extractVllmMetrics, WANTED_VLLM_SERIES } from './vllm-metrics.ts';
import { parsePrometheusText, WantedLines } from './prometheus-text.ts';

export interface MetricsScraperOptions {
  readonly registry: EndpointRegistry;
  /** Time between scrapes of one endpoint (llm-d: --refresh-metrics-interval, default 50 ms). */
  readonly intervalMs: number;
  /** Deadline of one whole scrape (connect, headers and body); defaults to max(intervalMs, 1000). */
  readonly timeoutMs?: number;
  /** Largest body read (default 8 MiB); a larger body fails the scrape. */
  readonly maxBodyBytes?: number;
  /** Age after which an endpoint's metrics count as stale (llm-d: --metrics-staleness-threshold, 2 s). */
  readonly stalenessMs: number;
  readonly path?: string;
  /** Plain HTTP (the default) or HTTPS with the model servers' certificates verified. */
  readonly transport?: ModelServerTransport;
  /** Clock used for scrapedAtMs; must be the one the scheduler compares against. */
  readonly now: () => number;
  /** Called when an endpoint turns stale or fresh again, and on every failed scrape. */
  readonly onEvent?: (event: ScrapeEvent) => void;
}

export type ScrapeEvent =
  | {
      readonly kind: 'error';
      readonly key: string;
      readonly message: string;
      /** The connection was refused (nothing listens): the endpoint is likely down. */
      readonly refused: boolean;
      /** The TLS handshake failed (certificate not trusted or for another name, or no TLS at all). */
      readonly tls: boolean;
    }
  | { readonly kind: 'stale'; readonly key: string; readonly ageMs: number }
  | { readonly kind: 'fresh'; readonly key: string };

export interface ScrapeStats {
  readonly scrapes: number;
  readonly errors: number;
}

export class MetricsScraper {
  readonly #opts: MetricsScraperOptions;
  readonly #agent: Agent;
  readonly #transport: ModelServerTransport;
  readonly #inFlight = new Set<string>();
  readonly #stale = new Set<string>();
  /** Stale endpoints that were reported through onEvent, so that their recovery is reported too. */
  readonly #reportedStale = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #scrapes = 0;
  #errors = 0;
  readonly #pending = new Set<Promise<void>>();
  readonly #timeoutMs: number;
  readonly #maxBodyBytes: number;

  constructor(opts: MetricsScraperOptions) {
    this.#opts = opts;
    const timeout = opts.timeoutMs ?? Math.max(opts.intervalMs, 1000);
    this.#timeoutMs = timeout;
    this.#maxBodyBytes = opts.maxBodyBytes ?? 8 * 1024 * 1024;
    this.#transport = opts.transport ?? PLAIN_HTTP;
    this.#agent = new Agent({
      keepAliveTimeout: 30_000,
      connections: 1,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      connect: this.#transport.connect(timeout),
    });
  }

  start(): void {
    if (this.#timer !== undefined) {
      return;
    }
    this.tick();
    this.#timer = setInterval(() => this.tick(), this.#opts.intervalMs);
    this.#timer.unref();
  }

  /** Stops polling and waits for scrapes in progress to end. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    await Promise.allSettled([...this.#pending]);
    await this.#agent.close();
  }

  /** Scrapes every endpoint once (skipping those still being scraped); resolves when these scrapes end. */
  tick(): Promise<void> {
    const started: Promise<void>[] = [];
    for (const target of this.#opts.registry.targets()) {
      if (this.#inFlight.has(target.key)) {
        continue;
      }
      this.#inFlight.add(target.key);
      const p = this.#scrape(target.key, target.address, target.port).finally(() => {
        this.#inFlight.delete(target.key);
        this.#pending.delete(p);
      });
      this.#pending.add(p);
      started.push(p);
    }
    // Judged once this round's scrapes ended, so a healthy endpoint is not called stale while being scraped.
    return Promise.all(started).then(() => this.#checkStaleness());
  }

  stats(): ScrapeStats {
    return { scrapes: this.#scrapes, errors: this.#errors };
  }

  /** Keys of endpoints whose last good scrape is older than the staleness threshold (or never happened). */
  staleEndpoints(): string[] {
    this.#checkStaleness();
    return [...this.#stale].sort();
  }

  async #scrape(key: string, address: string, port: number): Promise<void> {
    this.#scrapes++;
    const controller = new AbortController();
    const deadline = setTimeout(() => {
      controller.abort(new Error(`GET /metrics took longer than ${this.#timeoutMs} ms`));
    }, this.#timeoutMs);
    try {
      const res = await request(`${this.#transport.origin(address, port)}${this.#opts.path ?? '/metrics'}`, {
        dispatcher: this.#agent,
        method: 'GET',
        headers: { accept: 'text/plain' },
        signal: controller.signal,
      });
      if (res.statusCode !== 200) {
        res.body.destroy();
        throw new Error(`GET /metrics returned HTTP ${res.statusCode}`);
      }
      const lines = new WantedLines(WANTED_VLLM_SERIES);
      let bytes = 0;
      try {
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          bytes += chunk.length;
          if (bytes > this.#maxBodyBytes) {
            throw new Error(`GET /metrics body exceeds ${this.#maxBodyBytes} bytes`);
          }
          lines.push(chunk);
        }
      } finally {
        // Ends the response early when the loop stopped on an error (the connection is not reused).
        res.body.destroy();
      }
      const samples = parsePrometheusText(lines.finish());
      this.#opts.registry.setMetrics(key, extractVllmMetrics(samples, this.#opts.now()));
      this.#stale.delete(key);
      if (this.#reportedStale.delete(key)) {
        this.#opts.onEvent?.({ kind: 'fresh', key });
      }
    } catch (err) {
      this.#errors++;
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : err;
      this.#opts.onEvent?.({
        kind: 'error',
        key,
        message: reason instanceof Error ? reason.message : String(reason),
        refused: isConnectionRefusal(err),
        tls: isTlsFailure(err),
      });
    } finally {
      clearTimeout(deadline);
    }
  }

  #checkStaleness(): void {
    const now = this.#opts.now();
    const known = new Set<string>();
    for (const target of this.#opts.registry.targets()) {
      known.add(target.key);
      const metrics = this.#opts.registry.metricsOf(target.key);
      const age = metrics === undefined ? Number.POSITIVE_INFINITY : now - metrics.scrapedAtMs;
      if (age > this.#opts.stalenessMs && !this.#stale.has(target.key)) {
        // A target that was never scraped successfully is only reported once it had time to be scraped.
        if (metrics !== undefined) {
          this.#reportedStale.add(target.key);
          this.#opts.onEvent?.({ kind: 'stale', key: target.key, ageMs: age });
        }
        this.#stale.add(target.key);
      }
    }
    for (const key of [...this.#stale]) {
      if (!known.has(key)) {
        this.#stale.delete(key);
        this.#reportedStale.delete(key);
      }
    }
  }
}
