// Progress of long work on a terminal: one line on stderr, rewritten in place; silent when stdout is not a
// terminal (CI logs, pipes, --json), so output stays deterministic.
export interface Progress {
  update(done: number, total: number): void;
  done(): void;
}

export function terminalProgress(
  label: string,
  enabled = process.stdout.isTTY && process.stderr.isTTY,
): Progress {
  if (!enabled) {
    return { update: () => undefined, done: () => undefined };
  }
  let shown = false;
  let last = 0;
  return {
    update(done, total) {
      const now = Date.now();
      if (done !== total && now - last < 100) return;
      last = now;
      shown = true;
      process.stderr.write(`\r${label}: ${String(done)}/${String(total)}`);
    },
    done() {
      if (shown) process.stderr.write('\r\u001b[K');
    },
  };
}
