// The real-time simulator's KV-cache event publisher, as vLLM's `--kv-events-config '{"publisher":"zmq"}'`:
// a ZMQ PUB socket bound on a port, one message per batch (topic, 8-byte big-endian sequence number, msgpack
// batch). The engine's block pool tells a KvEventRecorder what it stores and evicts; everything one engine
// operation (a step's planning or its completion) changed goes out as one batch, consecutive blocks of one
// prompt merged into one BlockStored as vLLM does.
import type { BlockCacheListener, BlockOrigin } from './block-pool.ts';
import { loadZeromq } from '../datalayer/kv-events/subscriber.ts';
import {
  encodeKvEventMessage,
  type AllBlocksClearedEvent,
  type BlockRemovedEvent,
  type BlockStoredEvent,
  type EngineKvEvent,
} from '../datalayer/kv-events/codec.ts';

/** Events while a batch is collected: their arrays still grow. */
type DraftEvent =
  | (Omit<BlockStoredEvent, 'blockHashes' | 'tokenIds'> & { blockHashes: number[]; tokenIds: number[] })
  | (Omit<BlockRemovedEvent, 'blockHashes'> & { blockHashes: number[] })
  | AllBlocksClearedEvent;

/** Collects the pool's stores and evictions as vLLM events; `take` empties it. */
export class KvEventRecorder implements BlockCacheListener {
  readonly #blockSize: number;
  #events: DraftEvent[] = [];
  /** Called when the first event of a new batch arrives. */
  onFirstEvent: (() => void) | undefined;

  constructor(blockSize: number) {
    this.#blockSize = blockSize;
  }

  stored(hash: number, origin?: BlockOrigin, index?: number): void {
    const tokens = origin?.tokens;
    if (origin === undefined || index === undefined || tokens === undefined) return;
    const parent = index === 0 ? null : (origin.blockHashes[index - 1] ?? null);
    const start = index * this.#blockSize;
    const blockTokens = Array.from({ length: this.#blockSize }, (_, i) => tokens[start + i] ?? 0);
    const last = this.#events[this.#events.length - 1];
    if (
      last?.type === 'BlockStored' &&
      parent !== null &&
      last.blockHashes[last.blockHashes.length - 1] === parent
    ) {
      last.blockHashes.push(hash);
      last.tokenIds.push(...blockTokens);
      return;
    }
    this.#push({
      type: 'BlockStored',
      blockHashes: [hash],
      parentBlockHash: parent,
      tokenIds: blockTokens,
      blockSize: this.#blockSize,
      loraId: null,
      medium: 'GPU',
      loraName: null,
    });
  }

  removed(hash: number): void {
    const last = this.#events[this.#events.length - 1];
    if (last?.type === 'BlockRemoved') last.blockHashes.push(hash);
    else this.#push({ type: 'BlockRemoved', blockHashes: [hash], medium: 'GPU' });
  }

  cleared(): void {
    this.#push({ type: 'AllBlocksCleared' });
  }

  take(): EngineKvEvent[] {
    const events = this.#events;
    this.#events = [];
    return events;
  }

  #push(event: DraftEvent): void {
    this.#events.push(event);
    if (this.#events.length === 1) this.onFirstEvent?.();
  }
}

export interface KvEventPublisher {
  readonly port: number;
  readonly topic: string;
  /** Messages sent so far (the next sequence number). */
  readonly sent: number;
  publish(events: readonly EngineKvEvent[]): void;
  close(): Promise<void>;
}

/** Binds a PUB socket on `host:port` (0: any free port) and publishes batches on `topic`. */
export async function startKvEventPublisher(options: {
  readonly host: string;
  readonly port: number;
  readonly topic: string;
}): Promise<KvEventPublisher> {
  const zmq = await loadZeromq();
  const socket = new zmq.Publisher({ linger: 0, sendHighWaterMark: 10_000 });
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  await socket.bind(`tcp://${host}:${String(options.port)}`);
  const port = Number(/:(\d+)$/.exec(socket.lastEndpoint ?? '')?.[1] ?? options.port);
  let sequence = 0n;
  // A ZMQ socket sends one message at a time; later batches wait for the earlier ones.
  let sending: Promise<void> = Promise.resolve();
  let closed = false;
  return {
    port,
    topic: options.topic,
    get sent() {
      return Number(sequence);
    },
    publish(events) {
      if (closed || events.length === 0) return;
      const frames = encodeKvEventMessage(options.topic, sequence++, events);
      sending = sending.then(
        () => socket.send(frames),
        () => undefined,
      );
    },
    async close() {
      if (closed) return;
      closed = true;
      await sending.catch(() => undefined);
      socket.close();
    },
  };
}
