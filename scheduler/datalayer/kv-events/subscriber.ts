// The socket side of KV-cache events, per-pod dial mode: one ZMQ SUB socket (topic filter `kv@`) connected to
// `tcp://<endpoint address>:<port>` for each endpoint of the pool, where vLLM's publisher binds (`tcp://*:5557`).
// Messages go to the KvEventFeed attributed to the endpoint whose socket received them. ZMQ reconnects by
// itself after the publisher restarts; a dropped connection resets the endpoint (events may have been lost
// while it was down), and so does its leaving the pool, which also closes the socket. Every router replica
// dials every endpoint, so all of them see all events (active-active).
//
// `zeromq` is a native addon: it is loaded with a dynamic import when a subscriber starts, so a router that
// does not use --kv-events-port runs without it (the bundle keeps it external).
import type * as Zmq from 'zeromq';
import type { KvEventFeed } from './index-feed.ts';

/** An endpoint to dial: its key (as the feed and the scheduler know it) and address. */
export interface KvEventSource {
  readonly key: string;
  readonly address: string;
}

export interface KvEventSubscriberOptions {
  readonly feed: KvEventFeed;
  /** The publishers' port on every endpoint (vLLM's kv-events endpoint, e.g. 5557). */
  readonly port: number;
  /** The subscriber's socket failed in a way worth a log line. */
  readonly onError?: (message: string, endpointKey: string) => void;
  /** Time between reconnection attempts (ZMQ_RECONNECT_IVL, default 100 ms; it backs off to 5 s). */
  readonly reconnectIntervalMs?: number;
}

interface Connection {
  readonly socket: Zmq.Subscriber;
  readonly done: Promise<void>;
}

/** Loads the zeromq addon, with an error that says what needs it. */
export async function loadZeromq(): Promise<typeof Zmq> {
  try {
    return await import('zeromq');
  } catch (error) {
    throw new Error(
      `--kv-events-port needs the zeromq package (a native addon next to the router: node_modules/zeromq): ${(error as Error).message}`,
      { cause: error },
    );
  }
}

export class KvEventSubscriber {
  readonly #zmq: typeof Zmq;
  readonly #options: KvEventSubscriberOptions;
  readonly #connections = new Map<string, Connection>();
  #closed = false;

  private constructor(zmq: typeof Zmq, options: KvEventSubscriberOptions) {
    this.#zmq = zmq;
    this.#options = options;
  }

  static async create(options: KvEventSubscriberOptions): Promise<KvEventSubscriber> {
    return new KvEventSubscriber(await loadZeromq(), options);
  }

  /** Endpoints currently dialled. */
  connectedKeys(): string[] {
    return [...this.#connections.keys()];
  }

  /** Dials endpoints that are new, and hangs up on (and forgets) those that left. */
  sync(sources: readonly KvEventSource[]): void {
    if (this.#closed) return;
    const wanted = new Map(sources.map((s) => [s.key, s]));
    for (const key of [...this.#connections.keys()]) {
      if (!wanted.has(key)) {
        this.#hangUp(key);
        this.#options.feed.forget(key);
      }
    }
    for (const source of wanted.values()) {
      if (!this.#connections.has(source.key)) this.#dial(source);
    }
  }

  /** Closes every socket and waits until their receive loops have ended. */
  async close(): Promise<void> {
    this.#closed = true;
    const loops = [...this.#connections.keys()].map((key) => this.#hangUp(key));
    await Promise.all(loops);
  }

  #dial(source: KvEventSource): void {
    const reconnect = this.#options.reconnectIntervalMs ?? 100;
    const socket = new this.#zmq.Subscriber({
      reconnectInterval: reconnect,
      reconnectMaxInterval: Math.max(reconnect, 5_000),
      linger: 0,
    });
    socket.subscribe('kv@');
    const host = source.address.includes(':') ? `[${source.address}]` : source.address;
    const key = source.key;
    try {
      socket.connect(`tcp://${host}:${String(this.#options.port)}`);
    } catch (error) {
      socket.close();
      this.#options.onError?.(`cannot dial KV events: ${(error as Error).message}`, key);
      return;
    }
    const feed = this.#options.feed;
    const receive = async (): Promise<void> => {
      try {
        for await (const frames of socket) {
          feed.message(key, frames);
        }
      } catch (error) {
        if (!socket.closed) this.#options.onError?.(`KV events: ${(error as Error).message}`, key);
      }
    };
    const watch = async (): Promise<void> => {
      try {
        for await (const event of socket.events) {
          // Whatever was published while the connection was down is lost.
          if (event.type === 'disconnect') feed.reset(key, 'disconnected');
        }
      } catch {
        // The observer ends with the socket.
      }
    };
    this.#connections.set(key, { socket, done: Promise.all([receive(), watch()]).then(() => undefined) });
  }

  #hangUp(key: string): Promise<void> {
    const connection = this.#connections.get(key);
    if (connection === undefined) return Promise.resolve();
    this.#connections.delete(key);
    connection.socket.events.close();
    connection.socket.close();
    return connection.done;
  }
}
