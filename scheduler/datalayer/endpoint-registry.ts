// The router's view of the pool: the targets discovery found, joined with what the scraper last read from each.
// Readers get an immutable snapshot that is rebuilt only after a change, so the request path never copies.
import type { Endpoint, EndpointMetrics } from '../core/types.ts';

/** A routable target as discovery sees it, before metrics are attached. */
export interface EndpointTarget {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly labels: Readonly<Record<string, string>>;
}

export type TargetsListener = (targets: readonly EndpointTarget[]) => void;

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ak = Object.keys(a);
  if (ak.length !== Object.keys(b).length) {
    return false;
  }
  return ak.every((k) => a[k] === b[k]);
}

export function endpointKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export class EndpointRegistry {
  #targets = new Map<string, EndpointTarget>();
  readonly #metrics = new Map<string, EndpointMetrics>();
  #snapshot: readonly Endpoint[] | undefined = [];
  #synced = false;
  readonly #listeners: TargetsListener[] = [];

  /** Replaces the target set. Metrics of targets that remain are kept; those of removed targets are dropped. */
  setTargets(targets: readonly EndpointTarget[]): void {
    const next = new Map<string, EndpointTarget>();
    for (const t of targets) {
      next.set(t.key, t);
    }
    let changed = next.size !== this.#targets.size;
    if (!changed) {
      for (const [key, t] of next) {
        const old = this.#targets.get(key);
        if (old === undefined || !sameLabels(old.labels, t.labels)) {
          changed = true;
          break;
        }
      }
    }
    if (!changed) {
      return;
    }
    this.#targets = next;
    for (const key of [...this.#metrics.keys()]) {
      if (!next.has(key)) {
        this.#metrics.delete(key);
      }
    }
    this.#snapshot = undefined;
    const list = [...next.values()];
    for (const listener of this.#listeners) {
      listener(list);
    }
  }

  /** Records the latest scrape of one target; ignored when the target is no longer known. */
  setMetrics(key: string, metrics: EndpointMetrics): void {
    if (!this.#targets.has(key)) {
      return;
    }
    this.#metrics.set(key, metrics);
    this.#snapshot = undefined;
  }

  metricsOf(key: string): EndpointMetrics | undefined {
    return this.#metrics.get(key);
  }

  targets(): readonly EndpointTarget[] {
    return [...this.#targets.values()];
  }

  /** The current endpoints, sorted by key so that every consumer sees a stable order. */
  snapshot(): readonly Endpoint[] {
    if (this.#snapshot === undefined) {
      const list: Endpoint[] = [];
      for (const t of this.#targets.values()) {
        list.push({ ...t, metrics: this.#metrics.get(t.key) });
      }
      list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      this.#snapshot = Object.freeze(list);
    }
    return this.#snapshot;
  }

  /** Marks the initial discovery as done (the pool and its pods were listed at least once). */
  markSynced(): void {
    this.#synced = true;
  }

  synced(): boolean {
    return this.#synced;
  }

  onTargetsChanged(listener: TargetsListener): void {
    this.#listeners.push(listener);
  }
}
