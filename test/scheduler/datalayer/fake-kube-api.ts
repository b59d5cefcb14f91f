// An in-process HTTP server that speaks the Kubernetes list/watch protocol for namespaced collections:
// GET <collection> lists (with labelSelector / fieldSelector=metadata.name=…) and returns the current
// resourceVersion; GET <collection>?watch=true&resourceVersion=N streams newline-delimited JSON events
// (ADDED / MODIFIED / DELETED) after N, and answers 410 Gone (as an ERROR event, as the API server does)
// when N is older than the retained history. Listens on 127.0.0.1 only.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

interface StoredEvent {
  readonly rv: number;
  readonly collection: string;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: KubeObject;
  readonly previous: KubeObject | undefined;
}

interface Watcher {
  readonly collection: string;
  readonly labels: Record<string, string> | undefined;
  readonly name: string | undefined;
  readonly res: ServerResponse;
  /** Receives nothing any more (see stallWatches). */
  stalled?: boolean;
}

function parseLabelSelector(s: string | null): Record<string, string> | undefined {
  if (s === null || s === '') {
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const part of s.split(',')) {
    const [k, v] = part.split(/==?/);
    if (k !== undefined) {
      out[k] = v ?? '';
    }
  }
  return out;
}

function parseNameSelector(s: string | null): string | undefined {
  const m = s === null ? null : /^metadata\.name=(.+)$/.exec(s);
  return m?.[1];
}

export class FakeKubeApi {
  readonly #server: Server;
  readonly #objects = new Map<string, Map<string, KubeObject>>();
  #events: StoredEvent[] = [];
  #rv = 100;
  /** Events at or below this resourceVersion were compacted away. */
  #compactedRv = 0;
  readonly #watchers = new Set<Watcher>();
  /** Requests seen, for assertions ("GET /api/v1/namespaces/ns/pods?watch=true…"). */
  readonly requests: string[] = [];
  /** Collections whose requests answer 404 (a CRD that is not installed). */
  readonly missing = new Set<string>();

  /** `initialResourceVersion` plays a restarted API server whose history before that point is gone. */
  constructor(options: { initialResourceVersion?: number } = {}) {
    this.#server = createServer((req, res) => this.#handle(req, res));
    if (options.initialResourceVersion !== undefined) {
      this.#rv = options.initialResourceVersion;
      this.#compactedRv = options.initialResourceVersion;
    }
  }

  async start(port = 0): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(port, '127.0.0.1', resolve));
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: `http://127.0.0.1:${this.port}`, skipTLSVerify: true }],
      users: [{ name: 'fake', token: 'test-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake', namespace: 'default' }],
      currentContext: 'fake',
    });
    return kc;
  }

  /** A kubeconfig file's text pointing at this server, for a router started as its own process. */
  kubeconfigText(namespace: string): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: fake, cluster: {server: "http://127.0.0.1:${String(this.port)}", insecure-skip-tls-verify: true}}]`,
      'users: [{name: fake, user: {token: test}}]',
      `contexts: [{name: fake, context: {cluster: fake, user: fake, namespace: ${namespace}}}]`,
      'current-context: fake',
    ].join('\n');
  }

  async close(): Promise<void> {
    for (const w of this.#watchers) {
      w.res.destroy();
    }
    this.#watchers.clear();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Creates or replaces an object (ADDED or MODIFIED). */
  apply(collection: string, object: KubeObject): void {
    let coll = this.#objects.get(collection);
    if (coll === undefined) {
      coll = new Map();
      this.#objects.set(collection, coll);
    }
    const previous = coll.get(object.metadata.name);
    const stored: KubeObject = structuredClone(object);
    stored.metadata.resourceVersion = String(++this.#rv);
    coll.set(object.metadata.name, stored);
    this.#emit({ rv: this.#rv, collection, type: previous ? 'MODIFIED' : 'ADDED', object: stored, previous });
  }

  delete(collection: string, name: string): void {
    const coll = this.#objects.get(collection);
    const previous = coll?.get(name);
    if (coll === undefined || previous === undefined) {
      return;
    }
    coll.delete(name);
    const gone: KubeObject = structuredClone(previous);
    gone.metadata.resourceVersion = String(++this.#rv);
    this.#emit({ rv: this.#rv, collection, type: 'DELETED', object: gone, previous });
  }

  /** Ends every open watch, as the API server does when a watch times out. */
  endWatches(): void {
    for (const w of this.#watchers) {
      w.res.end();
    }
    this.#watchers.clear();
  }

  /**
   * Open watches stop receiving anything while their connections stay open, as when a proxy or the API
   * server hangs; watches opened later work.
   */
  stallWatches(): void {
    for (const w of this.#watchers) {
      w.stalled = true;
    }
  }

  /** Forgets the event history, so resuming from any earlier resourceVersion gets 410 Gone. */
  compact(): void {
    this.#compactedRv = this.#rv;
    this.#events = [];
  }

  watchCount(collection?: string): number {
    return [...this.#watchers].filter((w) => collection === undefined || w.collection === collection).length;
  }

  #emit(event: StoredEvent): void {
    this.#events.push(event);
    for (const w of this.#watchers) {
      this.#send(w, event);
    }
  }

  #matches(w: Pick<Watcher, 'labels' | 'name'>, o: KubeObject | undefined): boolean {
    if (o === undefined) {
      return false;
    }
    if (w.name !== undefined && o.metadata.name !== w.name) {
      return false;
    }
    const labels = (o.metadata['labels'] ?? {}) as Record<string, string>;
    return Object.entries(w.labels ?? {}).every(([k, v]) => labels[k] === v);
  }

  #send(w: Watcher, e: StoredEvent): void {
    if (e.collection !== w.collection || w.stalled === true) {
      return;
    }
    const now = this.#matches(w, e.type === 'DELETED' ? undefined : e.object);
    const before = this.#matches(w, e.previous);
    let type: string;
    if (e.type === 'DELETED') {
      if (!before) {
        return;
      }
      type = 'DELETED';
    } else if (now && before) {
      type = 'MODIFIED';
    } else if (now) {
      type = 'ADDED';
    } else if (before) {
      type = 'DELETED';
    } else {
      return;
    }
    w.res.write(JSON.stringify({ type, object: e.object }) + '\n');
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    this.requests.push(`${req.method ?? ''} ${url.pathname}${url.search}`);
    const collection = url.pathname;
    if (req.method !== 'GET' || this.missing.has(collection)) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          reason: 'NotFound',
          code: 404,
        }),
      );
      return;
    }
    const labels = parseLabelSelector(url.searchParams.get('labelSelector'));
    const name = parseNameSelector(url.searchParams.get('fieldSelector'));
    const filter = { labels, name };
    if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') {
      const from = Number(url.searchParams.get('resourceVersion') ?? '0');
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.flushHeaders();
      if (from > 0 && from < this.#compactedRv) {
        res.end(
          JSON.stringify({
            type: 'ERROR',
            object: {
              kind: 'Status',
              apiVersion: 'v1',
              status: 'Failure',
              message: `too old resource version: ${from} (${this.#compactedRv})`,
              reason: 'Expired',
              code: 410,
            },
          }) + '\n',
        );
        return;
      }
      const watcher: Watcher = { collection, ...filter, res };
      for (const e of this.#events) {
        if (e.rv > from) {
          this.#send(watcher, e);
        }
      }
      this.#watchers.add(watcher);
      res.on('close', () => this.#watchers.delete(watcher));
      return;
    }
    const items = [...(this.#objects.get(collection)?.values() ?? [])].filter((o) =>
      this.#matches(filter, o),
    );
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        metadata: { resourceVersion: String(this.#rv) },
        items,
      }),
    );
  }
}
