// Cancellation of one proxied request: set when the client goes away or the server shuts down, and heard by
// admission and the upstream call. An AbortController would do, but creating one and adding and removing
// EventTarget listeners costs tens of microseconds on the proxy's request path; this is a flag and a list.
import type { CancelSignal } from '../routing-service.ts';

export class Cancellation implements CancelSignal {
  #aborted = false;
  #reason: unknown = undefined;
  #listeners: (() => void)[] | undefined;
  #controller: AbortController | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  /** Listeners run once, on the first abort (as with `{ once: true }`); none is added after it. */
  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.#aborted) {
      (this.#listeners ??= []).push(listener);
    }
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const listeners = this.#listeners;
    const at = listeners === undefined ? -1 : listeners.indexOf(listener);
    if (at >= 0) {
      listeners?.splice(at, 1);
    }
  }

  /** An AbortSignal that follows this cancellation, for APIs that need a real one (made on first use). */
  signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController();
      this.#controller = controller;
      if (this.#aborted) {
        controller.abort(this.#reason);
      } else {
        this.addEventListener('abort', () => controller.abort(this.#reason));
      }
    }
    return this.#controller.signal;
  }

  abort(reason: Error = new Error('the request was aborted')): void {
    if (this.#aborted) {
      return;
    }
    this.#aborted = true;
    this.#reason = reason;
    const listeners = this.#listeners;
    this.#listeners = undefined;
    for (const listener of listeners ?? []) {
      listener();
    }
  }
}
