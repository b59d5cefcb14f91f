// vLLM's KV-cache event messages (`--kv-events-config '{"publisher":"zmq",...}'`), decoded and encoded without
// any socket. One ZMQ message is three frames: the topic (`kv@<ip>:<port>@<model>`), an 8-byte big-endian
// sequence number, and a msgpack batch `[ts, events[], data_parallel_rank?]`. Events are tagged arrays
// (`["BlockStored", block_hashes, parent_block_hash, token_ids, block_size, lora_id?, medium?, lora_name?, ...]`,
// `["BlockRemoved", block_hashes, medium?]`, `["AllBlocksCleared"]`) or maps with a `type` field and the same
// field names. Block hashes are opaque: small ints stay numbers, 64-bit ints become bigints, bytes a hex string.
// Decoding never throws: a bad message or event comes back as an error to count.
import { decode, encode } from '@msgpack/msgpack';

/** An engine's block hash, as an opaque Map key. */
export type EngineBlockHash = number | bigint | string;

export interface BlockStoredEvent {
  readonly type: 'BlockStored';
  readonly blockHashes: readonly EngineBlockHash[];
  /** The engine hash of the block before the first one; null when the first block starts a sequence. */
  readonly parentBlockHash: EngineBlockHash | null;
  /**
   * The tokens of every block, block after block (block_hashes.length × block_size of them). Decoded events
   * carry a Uint32Array (what the index hashes); events to encode may give a plain array.
   */
  readonly tokenIds: Uint32Array | readonly number[];
  readonly blockSize: number;
  readonly loraId: number | null;
  /** Where the blocks live ("GPU", "CPU", ...); null means the GPU. */
  readonly medium: string | null;
  readonly loraName: string | null;
}

export interface BlockRemovedEvent {
  readonly type: 'BlockRemoved';
  readonly blockHashes: readonly EngineBlockHash[];
  readonly medium: string | null;
}

export interface AllBlocksClearedEvent {
  readonly type: 'AllBlocksCleared';
}

export type EngineKvEvent = BlockStoredEvent | BlockRemovedEvent | AllBlocksClearedEvent;

/** One event of a batch: decoded, or why it could not be (`tag` when the event named one). */
export type DecodedKvEvent =
  | { readonly ok: true; readonly event: EngineKvEvent }
  | { readonly ok: false; readonly tag: string | undefined; readonly error: string };

export interface KvEventBatch {
  /** The publisher's clock (seconds since the epoch) when it sent the batch. */
  readonly ts: number;
  readonly events: readonly DecodedKvEvent[];
  readonly dataParallelRank: number | undefined;
}

export type DecodedKvMessage =
  | { readonly ok: true; readonly topic: string; readonly sequence: bigint; readonly batch: KvEventBatch }
  | { readonly ok: false; readonly error: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

/** Thrown (and caught below) for one bad field; the message names it. */
class FieldError extends Error {}

const MIN_SAFE_BIGINT = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE_BIGINT = BigInt(Number.MAX_SAFE_INTEGER);

function blockHash(value: unknown, where: string): EngineBlockHash {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'bigint') {
    // 64-bit ints decode as bigint; those a double holds exactly become numbers, so one value has one key.
    return value >= MIN_SAFE_BIGINT && value <= MAX_SAFE_BIGINT ? Number(value) : value;
  }
  if (value instanceof Uint8Array) return `0x${Buffer.from(value).toString('hex')}`;
  throw new FieldError(`${where} must be an integer or bytes`);
}

function blockHashes(value: unknown, where: string): EngineBlockHash[] {
  if (!Array.isArray(value)) throw new FieldError(`${where} must be an array`);
  const hashes = new Array<EngineBlockHash>(value.length);
  for (let i = 0; i < value.length; i++) {
    const h: unknown = value[i];
    // The common case first, without building a field name per hash.
    hashes[i] = typeof h === 'number' && Number.isInteger(h) ? h : blockHash(h, `${where}[${String(i)}]`);
  }
  return hashes;
}

const MAX_TOKEN_ID = 0xffffffff;

/** Token ids, checked and copied into a Uint32Array in one pass (an 8k-token BlockStored is common). */
function tokenIds(value: unknown): Uint32Array {
  if (!Array.isArray(value)) throw new FieldError('token_ids must be an array');
  const ids = new Uint32Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const t: unknown = value[i];
    // int64-encoded ids decode as bigint: rare.
    const id = typeof t === 'bigint' && t >= 0n && t <= BigInt(MAX_TOKEN_ID) ? Number(t) : t;
    if (typeof id !== 'number' || !(id >= 0 && id <= MAX_TOKEN_ID) || !Number.isInteger(id)) {
      throw new FieldError(`token_ids[${String(i)}] must be an integer from 0 to ${String(MAX_TOKEN_ID)}`);
    }
    ids[i] = id;
  }
  return ids;
}

function nonNegativeInteger(value: unknown, where: string): number {
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new FieldError(`${where} must be a non-negative integer`);
  }
  return n;
}

function optionalString(value: unknown, where: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new FieldError(`${where} must be a string or nil`);
  return value;
}

function optionalInteger(value: unknown, where: string): number | null {
  if (value === undefined || value === null) return null;
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n))
    throw new FieldError(`${where} must be an integer or nil`);
  return n;
}

const STORED_FIELDS = [
  'block_hashes',
  'parent_block_hash',
  'token_ids',
  'block_size',
  'lora_id',
  'medium',
  'lora_name',
] as const;
const REMOVED_FIELDS = ['block_hashes', 'medium'] as const;

/** A map-encoded event laid out as the positional array of the same event. */
function positional(event: Record<string, unknown>): unknown[] {
  const tag = event['type'];
  const fields = tag === 'BlockStored' ? STORED_FIELDS : tag === 'BlockRemoved' ? REMOVED_FIELDS : [];
  return [tag, ...fields.map((f) => event[f])];
}

function decodeEvent(raw: unknown): DecodedKvEvent {
  const fields = Array.isArray(raw) ? raw : isRecord(raw) ? positional(raw) : undefined;
  if (fields === undefined) return { ok: false, tag: undefined, error: 'an event must be an array or a map' };
  const tag = fields[0];
  if (typeof tag !== 'string')
    return { ok: false, tag: undefined, error: 'an event must start with its tag' };
  try {
    switch (tag) {
      case 'BlockStored': {
        const hashes = blockHashes(fields[1], 'block_hashes');
        const tokens = tokenIds(fields[3]);
        return {
          ok: true,
          event: {
            type: 'BlockStored',
            blockHashes: hashes,
            parentBlockHash:
              fields[2] === null || fields[2] === undefined
                ? null
                : blockHash(fields[2], 'parent_block_hash'),
            tokenIds: tokens,
            blockSize: nonNegativeInteger(fields[4], 'block_size'),
            loraId: optionalInteger(fields[5], 'lora_id'),
            medium: optionalString(fields[6], 'medium'),
            loraName: optionalString(fields[7], 'lora_name'),
          },
        };
      }
      case 'BlockRemoved':
        return {
          ok: true,
          event: {
            type: 'BlockRemoved',
            blockHashes: blockHashes(fields[1], 'block_hashes'),
            medium: optionalString(fields[2], 'medium'),
          },
        };
      case 'AllBlocksCleared':
        return { ok: true, event: { type: 'AllBlocksCleared' } };
      default:
        return { ok: false, tag, error: `unknown event tag "${tag}"` };
    }
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    return { ok: false, tag, error: `${tag}: ${error.message}` };
  }
}

/** Decodes a msgpack batch payload. */
export function decodeKvEventBatch(
  payload: Uint8Array,
): { ok: true; batch: KvEventBatch } | { ok: false; error: string } {
  let raw: unknown;
  try {
    raw = decode(payload, { useBigInt64: true });
  } catch (error) {
    return { ok: false, error: `payload is not msgpack: ${(error as Error).message}` };
  }
  const fields = Array.isArray(raw)
    ? raw
    : isRecord(raw)
      ? [raw['ts'], raw['events'], raw['data_parallel_rank']]
      : undefined;
  if (fields === undefined) return { ok: false, error: 'the batch must be an array or a map' };
  const [ts, events, rank] = fields;
  if (typeof ts !== 'number' && typeof ts !== 'bigint')
    return { ok: false, error: 'batch ts must be a number' };
  if (!Array.isArray(events)) return { ok: false, error: 'batch events must be an array' };
  let dataParallelRank: number | undefined;
  if (rank !== undefined && rank !== null) {
    if (typeof rank !== 'number' || !Number.isInteger(rank))
      return { ok: false, error: 'batch data_parallel_rank must be an integer or nil' };
    dataParallelRank = rank;
  }
  return { ok: true, batch: { ts: Number(ts), events: events.map(decodeEvent), dataParallelRank } };
}

/** Decodes one ZMQ message (its frames in order). */
export function decodeKvEventMessage(frames: readonly Uint8Array[]): DecodedKvMessage {
  if (frames.length !== 3) return { ok: false, error: `expected 3 frames, got ${String(frames.length)}` };
  const [topicFrame, sequenceFrame, payload] = frames as [Uint8Array, Uint8Array, Uint8Array];
  let topic: string;
  try {
    topic = utf8.decode(topicFrame);
  } catch {
    return { ok: false, error: 'the topic is not UTF-8' };
  }
  if (sequenceFrame.length !== 8) {
    return { ok: false, error: `the sequence frame must hold 8 bytes, got ${String(sequenceFrame.length)}` };
  }
  const sequence = new DataView(sequenceFrame.buffer, sequenceFrame.byteOffset, 8).getBigUint64(0, false);
  const decoded = decodeKvEventBatch(payload);
  if (!decoded.ok) return decoded;
  return { ok: true, topic, sequence, batch: decoded.batch };
}

/** The topic vLLM publishes on: `kv@<ip>:<port>@<model>`. */
export function kvEventTopic(host: string, port: number, model: string): string {
  return `kv@${host}:${String(port)}@${model}`;
}

function hashValue(hash: EngineBlockHash): unknown {
  if (typeof hash === 'string' && hash.startsWith('0x')) return Buffer.from(hash.slice(2), 'hex');
  // bigints are written as msgpack uint64/int64, as Python's msgspec writes large ints.
  return hash;
}

function encodeEvent(event: EngineKvEvent, asMap: boolean): unknown {
  switch (event.type) {
    case 'BlockStored': {
      const values = [
        event.blockHashes.map(hashValue),
        event.parentBlockHash === null ? null : hashValue(event.parentBlockHash),
        Array.isArray(event.tokenIds) ? event.tokenIds : Array.from(event.tokenIds),
        event.blockSize,
        event.loraId,
        event.medium,
        event.loraName,
      ];
      return asMap
        ? Object.fromEntries([['type', event.type], ...STORED_FIELDS.map((f, i) => [f, values[i]])])
        : [event.type, ...values];
    }
    case 'BlockRemoved': {
      const values = [event.blockHashes.map(hashValue), event.medium];
      return asMap
        ? Object.fromEntries([['type', event.type], ...REMOVED_FIELDS.map((f, i) => [f, values[i]])])
        : [event.type, ...values];
    }
    case 'AllBlocksCleared':
      return asMap ? { type: event.type } : [event.type];
  }
}

/** The three frames of one message, as vLLM's ZMQ publisher sends them (events array-encoded unless `asMap`). */
export function encodeKvEventMessage(
  topic: string,
  sequence: bigint,
  events: readonly EngineKvEvent[],
  options: { readonly ts?: number; readonly dataParallelRank?: number; readonly asMap?: boolean } = {},
): [Buffer, Buffer, Buffer] {
  const sequenceFrame = Buffer.alloc(8);
  sequenceFrame.writeBigUInt64BE(sequence);
  const batch: unknown[] = [
    options.ts ?? Date.now() / 1000,
    events.map((e) => encodeEvent(e, options.asMap ?? false)),
  ];
  if (options.dataParallelRank !== undefined) batch.push(options.dataParallelRank);
  const payload = encode(batch, { useBigInt64: true, forceFloat32: false });
  return [
    Buffer.from(topic, 'utf8'),
    sequenceFrame,
    Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
  ];
}
