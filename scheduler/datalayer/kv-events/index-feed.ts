// From vLLM's KV-cache event messages to the precise prefix index, without sockets: per endpoint, the sequence
// of each topic and the map from the engine's block hashes to the router's own block keys.
//
// Keys: as llm-d does, the router never indexes the engine's hashes. A BlockStored carries the blocks' token
// ids, and the router hashes them with kvBlockHashesFrom, chained from the key of the parent block (found
// through this endpoint's engine-hash → key map) or, without a parent, from the chain start of the
// producer's hash seed: the same keys the scheduler computes for a prompt (kvBlockHashes). So the engine's
// hash algorithm and PYTHONHASHSEED do not matter. BlockRemoved maps the engine hashes back to keys.
//
// What the index must never do is keep a block it cannot know is still there, so these reset an endpoint
// (every entry cleared, then the batch applied): a sequence gap (messages lost), a sequence going backwards or
// repeating (the publisher restarted), an undecodable message, a BlockRemoved or unknown event that could not
// be read, and the endpoint leaving the pool. A BlockStored whose parent the router never saw (it joined the
// stream late, or the parent's event was lost) cannot be keyed: its blocks are left out of the index, and so
// are their descendants, which is safe (the index only misses hits) and corrects itself as blocks are
// stored again. Blocks of a LoRA adapter (lora_id set) and blocks on another medium than the GPU (offloaded
// to CPU, disk) are left out too: the router keys prompts by tokens alone and scores GPU hits.
import { kvBlockHashesFrom, kvChainStart } from '../../core/prefix-hash.ts';
import type { KvCacheEvent } from '../../core/types.ts';
import { decodeKvEventMessage, type EngineBlockHash, type KvEventBatch } from './codec.ts';
import { BlockHashMap } from './block-hash-map.ts';

/** What the feed tells the scheduler (Scheduler.applyKvEvents). */
export interface KvEventSink {
  applyKvEvents(endpointKey: string, events: readonly KvCacheEvent[]): void;
}

export interface KvEventFeedSettings {
  /** The precise producer's blockSizeTokens: vLLM's --block-size. */
  readonly blockSize: number;
  /** The precise producer's hashSeed (the chain start of a prompt's first block). */
  readonly hashSeed: number;
}

/** How each event ended, for switchyard_kv_events_total{outcome}. */
export type KvEventOutcome =
  'stored' | 'removed' | 'cleared' | 'malformed' | 'unknown-parent' | 'block-size-mismatch' | 'ignored';

/** Why an endpoint's entries were dropped, for switchyard_kv_event_resets_total{reason}. */
export type KvResetReason = 'gap' | 'restart' | 'malformed' | 'disconnected' | 'endpoint-removed';

export interface KvEventFeedObserver {
  /** A whole message could not be decoded (also a reset with reason `malformed`). */
  message?(outcome: 'applied' | 'malformed', endpointKey: string, error?: string): void;
  event?(outcome: KvEventOutcome, endpointKey: string, error?: string): void;
  reset?(reason: KvResetReason, endpointKey: string): void;
}

interface EndpointFeed {
  /** Last sequence number seen per topic. */
  readonly sequences: Map<string, bigint>;
  /** Engine block hash → router key, for every block the engine holds that the router could key. */
  readonly keyOf: BlockHashMap;
  /** Router key → engine blocks mapped to it (two engine hashes may share tokens, e.g. after a re-hash). */
  readonly refs: BlockHashMap;
}

export class KvEventFeed {
  readonly #sink: KvEventSink;
  readonly #blockSize: number;
  readonly #chainStart: number;
  readonly #observer: KvEventFeedObserver;
  readonly #endpoints = new Map<string, EndpointFeed>();

  constructor(sink: KvEventSink, settings: KvEventFeedSettings, observer: KvEventFeedObserver = {}) {
    this.#sink = sink;
    this.#blockSize = settings.blockSize;
    this.#chainStart = kvChainStart(settings.hashSeed);
    this.#observer = observer;
  }

  #feedOf(endpointKey: string): EndpointFeed {
    let feed = this.#endpoints.get(endpointKey);
    if (feed === undefined) {
      feed = { sequences: new Map(), keyOf: new BlockHashMap(), refs: new BlockHashMap() };
      this.#endpoints.set(endpointKey, feed);
    }
    return feed;
  }

  /** Decodes one ZMQ message from `endpointKey`'s publisher and applies it. Never throws on bad input. */
  message(endpointKey: string, frames: readonly Uint8Array[]): void {
    const decoded = decodeKvEventMessage(frames);
    if (!decoded.ok) {
      this.#observer.message?.('malformed', endpointKey, decoded.error);
      // Whatever it said is lost; so is any later message's certainty about this endpoint's blocks.
      this.reset(endpointKey, 'malformed');
      return;
    }
    this.batch(endpointKey, decoded.topic, decoded.sequence, decoded.batch);
  }

  /** Applies one decoded batch, after checking its sequence number against the topic's last one. */
  batch(endpointKey: string, topic: string, sequence: bigint, batch: KvEventBatch): void {
    const feed = this.#feedOf(endpointKey);
    const out: KvCacheEvent[] = [];
    const last = feed.sequences.get(topic);
    if (last !== undefined && sequence !== last + 1n) {
      this.#clear(feed, out);
      this.#observer.reset?.(sequence > last ? 'gap' : 'restart', endpointKey);
    }
    feed.sequences.set(topic, sequence);
    for (const decoded of batch.events) {
      if (!decoded.ok) {
        this.#observer.event?.('malformed', endpointKey, decoded.error);
        if (decoded.tag !== 'BlockStored') {
          // Maybe a removal we cannot apply: nothing indexed for this endpoint can be trusted any more.
          this.#clear(feed, out);
          this.#observer.reset?.('malformed', endpointKey);
        }
        continue;
      }
      const event = decoded.event;
      if (event.type === 'AllBlocksCleared') {
        this.#clear(feed, out);
        this.#observer.event?.('cleared', endpointKey);
      } else if (event.medium !== null && event.medium.toUpperCase() !== 'GPU') {
        this.#observer.event?.('ignored', endpointKey);
      } else if (event.type === 'BlockRemoved') {
        const removed: number[] = [];
        for (const hash of event.blockHashes) {
          const key = feed.keyOf.delete(hash);
          if (key === undefined) continue;
          const refs = (feed.refs.get(key) ?? 1) - 1;
          if (refs > 0) feed.refs.set(key, refs);
          else {
            feed.refs.delete(key);
            removed.push(key);
          }
        }
        if (removed.length > 0) out.push({ type: 'removed', blockHashes: removed });
        this.#observer.event?.('removed', endpointKey);
      } else if (event.loraId !== null) {
        this.#observer.event?.('ignored', endpointKey);
      } else if (
        event.blockSize !== this.#blockSize ||
        event.tokenIds.length !== event.blockHashes.length * this.#blockSize
      ) {
        this.#observer.event?.('block-size-mismatch', endpointKey);
      } else {
        const parent =
          event.parentBlockHash === null ? this.#chainStart : feed.keyOf.get(event.parentBlockHash);
        if (parent === undefined) {
          this.#observer.event?.('unknown-parent', endpointKey);
          continue;
        }
        const tokens =
          event.tokenIds instanceof Uint32Array ? event.tokenIds : Uint32Array.from(event.tokenIds);
        const keys = kvBlockHashesFrom(parent, tokens, this.#blockSize);
        const stored: number[] = [];
        event.blockHashes.forEach((hash, i) => {
          const key = keys[i] as number;
          if (feed.keyOf.has(hash)) return;
          feed.keyOf.set(hash, key);
          const refs = (feed.refs.get(key) ?? 0) + 1;
          feed.refs.set(key, refs);
          if (refs === 1) stored.push(key);
        });
        if (stored.length > 0) out.push({ type: 'stored', blockHashes: stored });
        this.#observer.event?.('stored', endpointKey);
      }
    }
    if (out.length > 0) this.#sink.applyKvEvents(endpointKey, out);
    this.#observer.message?.('applied', endpointKey);
  }

  /** Drops everything known about the endpoint's blocks, and its sequences (the next message starts afresh). */
  reset(endpointKey: string, reason: KvResetReason): void {
    const feed = this.#endpoints.get(endpointKey);
    if (feed === undefined) return;
    const out: KvCacheEvent[] = [];
    this.#clear(feed, out);
    feed.sequences.clear();
    this.#sink.applyKvEvents(endpointKey, out);
    this.#observer.reset?.(reason, endpointKey);
  }

  /** The endpoint left the pool: its entries are cleared and the feed forgets it. */
  forget(endpointKey: string): void {
    if (!this.#endpoints.has(endpointKey)) return;
    this.reset(endpointKey, 'endpoint-removed');
    this.#endpoints.delete(endpointKey);
  }

  /** Engine blocks currently keyed for the endpoint (tests, debugging). */
  engineBlocks(endpointKey: string): number {
    return this.#endpoints.get(endpointKey)?.keyOf.size ?? 0;
  }

  /** The router key an engine hash maps to on the endpoint, if any (tests, debugging). */
  keyOf(endpointKey: string, hash: EngineBlockHash): number | undefined {
    return this.#endpoints.get(endpointKey)?.keyOf.get(hash);
  }

  #clear(feed: EndpointFeed, out: KvCacheEvent[]): void {
    feed.keyOf.clear();
    feed.refs.clear();
    out.push({ type: 'cleared' });
  }
}
