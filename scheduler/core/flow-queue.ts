// The flow-control waiting room: priority bands (highest first), flows within a band keyed by fairness id,
// earliest deadline first within a flow (arrival order among equal deadlines). Pure data structure; the
// scheduler sets deadlines and decides when to dispatch.
import type { FlowControlConfig, FlowOrdering, QueueTicket, RoutingRequest } from './types.ts';

/** How long after its arrival a request's deadline falls under `ordering` (0 under fcfs). */
export function queueSlackMs(ordering: FlowOrdering, request: RoutingRequest): number {
  if (ordering.type === 'fcfs') return 0;
  const prefillMs = (request.promptTokens.length / ordering.prefillTokensPerSecond) * 1000;
  return Math.min(ordering.maxSlackMs, ordering.slack * prefillMs);
}

export interface QueuedEntry {
  readonly request: RoutingRequest;
  readonly ticket: QueueTicket;
  readonly sequence: number;
  /** Dispatch order: earlier first; equal deadlines in arrival order. */
  readonly deadlineMs: number;
}

const before = (a: QueuedEntry, b: QueuedEntry): boolean =>
  a.deadlineMs < b.deadlineMs || (a.deadlineMs === b.deadlineMs && a.sequence < b.sequence);

interface Band {
  readonly priority: number;
  /** fairness id → its entries in dispatch order. */
  readonly flows: Map<string, QueuedEntry[]>;
  /** Round-robin turn order over the band's flows. */
  readonly turns: string[];
  cursor: number;
}

export class FlowQueue {
  readonly #fairness: FlowControlConfig['fairness'];
  /** Sorted by priority, highest first. */
  readonly #bands: Band[] = [];
  readonly #byId = new Map<string, QueuedEntry>();
  #sequence = 0;

  constructor(fairness: FlowControlConfig['fairness']) {
    this.#fairness = fairness;
  }

  get size(): number {
    return this.#byId.size;
  }

  has(requestId: string): boolean {
    return this.#byId.has(requestId);
  }

  /** Queues a request; `deadlineMs` (default `nowMs`, i.e. arrival order) places it in its flow. */
  push(request: RoutingRequest, nowMs: number, deadlineMs: number = nowMs): QueueTicket {
    const ticket: QueueTicket = {
      requestId: request.id,
      priority: request.priority,
      fairnessId: request.fairnessId,
      enqueuedAtMs: nowMs,
    };
    const entry: QueuedEntry = { request, ticket, sequence: this.#sequence++, deadlineMs };
    let band = this.#bands.find((b) => b.priority === request.priority);
    if (band === undefined) {
      band = { priority: request.priority, flows: new Map(), turns: [], cursor: 0 };
      this.#bands.push(band);
      this.#bands.sort((a, b) => b.priority - a.priority);
    }
    let flow = band.flows.get(request.fairnessId);
    if (flow === undefined) {
      flow = [];
      band.flows.set(request.fairnessId, flow);
      band.turns.push(request.fairnessId);
    }
    let at = flow.length;
    while (at > 0 && before(entry, flow[at - 1] as QueuedEntry)) at--;
    flow.splice(at, 0, entry);
    this.#byId.set(request.id, entry);
    return ticket;
  }

  /** The entry that would be dispatched next, without removing it. */
  peek(): QueuedEntry | undefined {
    const band = this.#bands[0];
    if (band === undefined) return undefined;
    if (this.#fairness === 'global-strict') {
      let oldest: QueuedEntry | undefined;
      for (const flow of band.flows.values()) {
        const head = flow[0];
        if (head !== undefined && (oldest === undefined || before(head, oldest))) oldest = head;
      }
      return oldest;
    }
    const fairnessId = band.turns[band.cursor % band.turns.length];
    return fairnessId === undefined ? undefined : band.flows.get(fairnessId)?.[0];
  }

  /** Removes the entry `peek` returned and advances the band's round-robin turn. */
  shift(): QueuedEntry | undefined {
    const entry = this.peek();
    if (entry === undefined) return undefined;
    this.remove(entry.request.id);
    const band = this.#bands.find((b) => b.priority === entry.ticket.priority);
    if (band !== undefined && band.turns.length > 0 && this.#fairness === 'round-robin') {
      const at = band.turns.indexOf(entry.ticket.fairnessId);
      // The flow still exists → its turn is over; it was removed → the next flow already sits at `at`.
      band.cursor = at >= 0 ? (at + 1) % band.turns.length : band.cursor % band.turns.length;
    }
    return entry;
  }

  remove(requestId: string): QueuedEntry | undefined {
    const entry = this.#byId.get(requestId);
    if (entry === undefined) return undefined;
    this.#byId.delete(requestId);
    const bandAt = this.#bands.findIndex((b) => b.priority === entry.ticket.priority);
    const band = this.#bands[bandAt];
    const flow = band?.flows.get(entry.ticket.fairnessId);
    if (band === undefined || flow === undefined) return entry;
    flow.splice(flow.indexOf(entry), 1);
    if (flow.length === 0) {
      band.flows.delete(entry.ticket.fairnessId);
      const turn = band.turns.indexOf(entry.ticket.fairnessId);
      band.turns.splice(turn, 1);
      if (turn < band.cursor) band.cursor--;
      if (band.turns.length === 0) this.#bands.splice(bandAt, 1);
      else band.cursor %= band.turns.length;
    }
    return entry;
  }

  /** Entries queued at or before `cutoffMs`, oldest first. */
  olderThan(cutoffMs: number): QueuedEntry[] {
    const old: QueuedEntry[] = [];
    for (const entry of this.#byId.values()) {
      if (entry.ticket.enqueuedAtMs <= cutoffMs) old.push(entry);
    }
    return old.sort((a, b) => a.sequence - b.sequence);
  }
}
