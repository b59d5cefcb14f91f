// A fault-injecting front for one simulated replica (soak benchmark): an HTTP server on a fixed loopback
// port that relays every request to the simulator behind it, or plays a fault on the replica's behalf:
//   crash         the port is closed and every open connection reset; it listens again when healed
//   errors        generation requests are answered 500 at once (/metrics stays fine)
//   slow-metrics  /metrics drips its body over several seconds (generation stays fine)
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultMode = 'healthy' | 'crash' | 'errors' | 'slow-metrics';

export class FaultFront {
  readonly #targetPort: number;
  #server: Server | undefined;
  #port = 0;
  #mode: FaultMode = 'healthy';
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(targetPort: number) {
    this.#targetPort = targetPort;
  }

  get port(): number {
    return this.#port;
  }

  get mode(): FaultMode {
    return this.#mode;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => this.#handle(req, res));
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
  }

  /** Switches to `mode`; a crash closes the port at once, leaving it heals it. */
  async set(mode: FaultMode): Promise<void> {
    const previous = this.#mode;
    this.#mode = mode;
    if (mode === 'crash' && previous !== 'crash') {
      const server = this.#server;
      this.#server = undefined;
      if (server !== undefined) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    } else if (mode !== 'crash' && previous === 'crash') {
      await this.start();
    }
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const isMetrics = req.url === '/metrics';
    if (this.#mode === 'errors' && !isMetrics) {
      req.resume();
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"injected failure","type":"InternalServerError","code":500}}');
      return;
    }
    if (this.#mode === 'slow-metrics' && isMetrics) {
      this.#relay(req, res, 3_000);
      return;
    }
    this.#relay(req, res, 0);
  }

  /** Relays to the simulator; with `dripMs`, the response body is written in small pieces over that time. */
  #relay(req: IncomingMessage, res: ServerResponse, dripMs: number): void {
    const upstream = request(
      {
        host: '127.0.0.1',
        port: this.#targetPort,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (dripMs === 0) {
          answer.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const body = Buffer.concat(chunks);
          const pieces = 30;
          const size = Math.ceil(body.length / pieces);
          let at = 0;
          const timer = setInterval(() => {
            if (res.destroyed || at >= body.length) {
              clearInterval(timer);
              this.#timers.delete(timer);
              res.end();
              return;
            }
            res.write(body.subarray(at, at + size));
            at += size;
          }, dripMs / pieces);
          this.#timers.add(timer);
        });
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  }
}
