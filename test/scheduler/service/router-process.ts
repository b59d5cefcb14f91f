// Runs the router as a child process (from source or from the bundle) and reads its JSON log lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { defined } from '../datalayer/defined.ts';

export interface RouterProcess {
  readonly child: ChildProcess;
  readonly logs: Record<string, unknown>[];
  readonly ports: { grpc: number; grpcHealth: number; metrics: number; http: number | undefined };
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
}

export async function spawnRouter(
  command: readonly string[],
  cwd: string,
  timeoutMs = 20_000,
): Promise<RouterProcess> {
  const [exe, ...args] = command;
  const child = spawn(exe ?? process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = new Promise<RouterProcess['ports']>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`router did not start; stderr: ${stderr}`)), timeoutMs);
    createInterface({ input: defined(child.stdout, 'child stdout') }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(entry);
      if (entry['msg'] === 'router started') {
        clearTimeout(timer);
        resolve({
          grpc: entry['grpcPort'] as number,
          grpcHealth: entry['grpcHealthPort'] as number,
          metrics: entry['metricsPort'] as number,
          http: entry['httpPort'] as number | undefined,
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(
        new Error(
          `router exited with ${String(code)} before starting; stderr: ${stderr}; log: ${JSON.stringify(logs)}`,
        ),
      );
    });
  });
  const ports = await started;
  return { child, logs, ports, exited };
}

export { LOOPBACK_FLAGS } from '../../../scheduler/service/flags.ts';
