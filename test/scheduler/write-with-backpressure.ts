// Writes `chunk` over and over into a response, `total` bytes in all, waiting for 'drain' whenever the socket
// is full, then ends it. `sent` is told the bytes handed to the socket so far (what a test bounds).
import type { ServerResponse } from 'node:http';

export function writeWithBackpressure(
  res: ServerResponse,
  chunk: Buffer,
  total: number,
  sent: (bytes: number) => void = () => undefined,
): void {
  let written = 0;
  const pump = (): void => {
    while (written < total && !res.destroyed) {
      const piece = chunk.subarray(0, Math.min(chunk.length, total - written));
      written += piece.length;
      sent(written);
      if (!res.write(piece)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}
