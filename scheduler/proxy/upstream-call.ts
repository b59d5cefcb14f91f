// One request to a model server over undici's dispatch API. The response is handed to a sink straight from
// the connection's parser callbacks, with no intermediate Readable stream and no promise hop per event, so
// the first body chunk can be written to the client in the same turn of the event loop that received it.
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { CancelSignal } from '../routing-service.ts';

export interface ResponseSink {
  /** Response headers arrived (1xx excluded). `resume` restarts a body paused by `data` returning false. */
  start(statusCode: number, headers: IncomingHttpHeaders, resume: () => void): void;
  /** A body chunk; returning false pauses the upstream until `resume` is called. */
  data(chunk: Buffer): boolean;
  /** The body ended normally. */
  end(): void;
  /** The response broke after `start` (upstream error, timeout or abort). */
  error(err: Error): void;
}

/**
 * Sends the request. Rejects with the error when it fails before response headers arrived (so the caller can
 * tell a refused connection from a broken response); otherwise resolves once the sink saw `end` or `error`.
 * Aborting `signal` cancels the request at any stage.
 */
export function callUpstream(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  signal: CancelSignal,
  sink: ResponseSink,
): Promise<void> {
  if (signal.aborted) {
    return Promise.reject(abortError(signal));
  }
  return new Promise<void>((resolve, reject) => {
    let controller: Dispatcher.DispatchController | undefined;
    let started = false;
    let settled = false;
    const onAbort = (): void => {
      // Before onRequestStart there is no controller yet: onRequestStart aborts on sight.
      controller?.abort(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = (err?: Error): void => {
      if (settled) {
        return;
      }
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (err === undefined) {
        resolve();
      } else {
        reject(err);
      }
    };
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (signal.aborted) {
          c.abort(abortError(signal));
        }
      },
      onResponseStart(c, statusCode, headers) {
        if (statusCode < 200) {
          return;
        }
        started = true;
        try {
          sink.start(statusCode, headers, () => c.resume());
        } catch (err) {
          // A sink that cannot take the response ends it through onResponseError, like any broken response.
          c.abort(err instanceof Error ? err : new Error(String(err)));
        }
      },
      onResponseData(c, chunk) {
        let more: boolean;
        try {
          more = sink.data(chunk);
        } catch (err) {
          c.abort(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        if (!more) {
          c.pause();
        }
      },
      onResponseEnd() {
        sink.end();
        settle();
      },
      onResponseError(_c, err) {
        if (started) {
          sink.error(err);
          settle();
        } else {
          settle(err);
        }
      },
    };
    try {
      dispatcher.dispatch(options, handler);
    } catch (err) {
      settle(err instanceof Error ? err : new Error(String(err)));
    }
  });
}

function abortError(signal: CancelSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error('the request was aborted');
}
