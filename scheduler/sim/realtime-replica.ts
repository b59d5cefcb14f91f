// Drives one engine against the wall clock: plans a step, sleeps for its duration, applies it, and tells each
// request's listener about the tokens it produced. The engine stays pure; this is the only place with timers.

import { performance } from 'node:perf_hooks';
import type { Engine, EngineRequest, SequenceView } from './engine.ts';

export interface SequenceListener {
  /** Called once per generated token, in order; `finished` is true on the last one. */
  onToken(sequence: SequenceView, finished: boolean): void;
  /** Called when the request is dropped without finishing (crash). */
  onAbort(reason: string): void;
}

/** How far behind the wall clock a step may be planned when catching up after late timers. */
const MAX_CATCH_UP_MS = 50;

export class RealtimeReplica {
  readonly engine: Engine;
  private readonly listeners = new Map<string, SequenceListener>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastArrivalMs = 0;
  private readonly startedAtMs = performance.now();

  constructor(engine: Engine) {
    this.engine = engine;
  }

  /** Milliseconds since the replica started, the engine's clock. */
  now(): number {
    return performance.now() - this.startedAtMs;
  }

  submit(request: EngineRequest, listener: SequenceListener): SequenceView {
    if (this.stopped) throw new Error('the engine has stopped');
    this.lastArrivalMs = this.now();
    const view = this.engine.add(request, this.lastArrivalMs);
    this.listeners.set(request.id, listener);
    this.kick();
    return view;
  }

  cancel(id: string): void {
    if (this.listeners.delete(id)) this.engine.abort(id, this.now());
  }

  /** Stops stepping and aborts every request in flight. */
  stop(reason: string): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.engine.abortAll(this.now());
    const listeners = [...this.listeners.values()];
    this.listeners.clear();
    for (const listener of listeners) listener.onAbort(reason);
  }

  /**
   * Starts the next step at `startMs` (engine time). Back-to-back steps start where the previous one was
   * planned to end, not when its timer fired, so timer lateness does not accumulate into a slower engine.
   */
  private kick(startMs = this.now()): void {
    if (this.stopped || this.timer !== undefined || this.engine.stepInProgress) return;
    const duration = this.engine.startStep(startMs);
    if (duration === undefined) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.completeStep();
      },
      Math.max(0, startMs + duration - this.now()),
    );
  }

  private completeStep(): void {
    const outcome = this.engine.finishStep();
    for (const sequence of outcome.produced) {
      const finished = sequence.status === 'finished';
      const listener = this.listeners.get(sequence.id);
      if (finished) this.listeners.delete(sequence.id);
      listener?.onToken(sequence, finished);
    }
    // Never start before a request that may join this step arrived (its TTFT would be negative).
    this.kick(Math.max(outcome.endMs, this.lastArrivalMs, this.now() - MAX_CATCH_UP_MS));
  }
}
