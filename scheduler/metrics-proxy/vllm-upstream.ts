// The vLLM metrics proxy's one upstream call: GET /metrics of the vLLM in the same pod, over loopback, with one
// deadline for all of it and a cap on the body. vLLM serves its API and /metrics on one port; the proxy lets a
// network policy open only /metrics to the monitoring namespace. It never forwards anything but this GET.
import { Agent, request } from 'undici';
import { isConnectionRefusal, isTlsFailure } from '../lifecycle/connection-errors.ts';
import type { ModelServerTransport } from '../datalayer/model-server-transport.ts';
import { CollectionFailure, type Exposition } from '../telemetry/server.ts';

export interface VllmUpstreamOptions {
  /** vLLM's port in this pod. */
  readonly port: number;
  /** Plain HTTP, or HTTPS with vLLM's certificate verified. */
  readonly transport: ModelServerTransport;
  /** Deadline of one call: connect, headers and body. */
  readonly timeoutMs: number;
  /** Largest body passed on; a larger one fails the scrape. */
  readonly maxBodyBytes: number;
}

/** Prometheus's text format, the one vLLM's prometheus_client answers a plain GET with. */
const TEXT_FORMAT = 'text/plain; version=0.0.4; charset=utf-8';

export interface VllmUpstream {
  collect(): Promise<Exposition>;
  close(): Promise<void>;
}

export function vllmUpstream(options: VllmUpstreamOptions): VllmUpstream {
  const agent = new Agent({
    connections: 2,
    keepAliveTimeout: 30_000,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    connect: options.transport.connect(options.timeoutMs),
  });
  const url = `${options.transport.origin('127.0.0.1', options.port)}/metrics`;

  const collect = async (): Promise<Exposition> => {
    // The body timeout measures idleness only; the signal bounds the whole call, a drip-fed body included.
    const signal = AbortSignal.timeout(options.timeoutMs);
    let response;
    try {
      response = await request(url, {
        method: 'GET',
        dispatcher: agent,
        signal,
        headers: { accept: 'text/plain' },
      });
    } catch (err) {
      throw failure(err, signal);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of response.body) {
        const buffer = chunk as Buffer;
        size += buffer.length;
        if (size > options.maxBodyBytes) {
          response.body.destroy();
          throw new CollectionFailure(
            502,
            `vLLM's /metrics is larger than ${String(options.maxBodyBytes)} bytes`,
          );
        }
        chunks.push(buffer);
      }
    } catch (err) {
      throw err instanceof CollectionFailure ? err : failure(err, signal);
    }
    if (response.statusCode !== 200) {
      throw new CollectionFailure(502, `vLLM answered /metrics with ${String(response.statusCode)}`);
    }
    const contentType = response.headers['content-type'];
    return {
      contentType: typeof contentType === 'string' ? contentType : TEXT_FORMAT,
      body: Buffer.concat(chunks).toString('utf8'),
    };
  };

  return { collect, close: () => agent.close() };
}

/** The status a scraper sees: 504 past the deadline, 503 while vLLM does not listen yet, else 502. */
function failure(err: unknown, signal: AbortSignal): CollectionFailure {
  if (signal.aborted) return new CollectionFailure(504, "vLLM's /metrics did not answer in time");
  if (isConnectionRefusal(err))
    return new CollectionFailure(503, 'vLLM does not accept connections (starting?)');
  const detail = err instanceof Error ? err.message : String(err);
  if (isTlsFailure(err)) return new CollectionFailure(502, `TLS to vLLM failed: ${detail}`);
  return new CollectionFailure(502, `vLLM's /metrics failed: ${detail}`);
}
