// A router started in this process on loopback, plaintext, ports chosen by the system, its log discarded:
// the endpoint picker in front of `--static-endpoints`, or the body-based router.
import { startBodyRouter, type RunningBodyRouter } from '../../../scheduler/bbr/body-router-app.ts';
import { LOOPBACK_FLAGS, parseRouterArgs } from '../../../scheduler/service/flags.ts';
import { jsonLogger } from '../../../scheduler/service/log.ts';
import { startRouter, type RunningRouter } from '../../../scheduler/service/router-app.ts';
import { startSimServer, type SimServer } from '../../../scheduler/sim/server.ts';

const argv = (flags: readonly string[]): string[] => [
  'node',
  'router',
  ...LOOPBACK_FLAGS,
  '--secure-serving=false',
  ...flags,
];

export function startLoopbackRouter(
  flags: readonly string[],
  log: (line: string) => void = () => undefined,
): Promise<RunningRouter> {
  return startRouter(parseRouterArgs(argv(flags), {}), jsonLogger(log));
}

export function startLoopbackBodyRouter(
  catalogFile: string,
  log: (line: string) => void = () => undefined,
): Promise<RunningBodyRouter> {
  return startBodyRouter(
    parseRouterArgs(argv(['--body-based-routing', '--model-catalog', catalogFile]), {}),
    jsonLogger(log),
  );
}

/** One simulated vLLM (Qwen2.5-0.5B on an L4, seed 1) and a loopback router in front of it with these flags. */
export async function startRouterOverSim(
  model: string,
  flags: readonly string[],
): Promise<{ sim: SimServer; router: RunningRouter; close: () => Promise<void> }> {
  const sim = await startSimServer({
    host: '127.0.0.1',
    port: 0,
    model,
    profile: 'qwen2.5-0.5b-l4',
    seed: 1,
  });
  const router = await startLoopbackRouter(['--static-endpoints', `127.0.0.1:${sim.port}`, ...flags]);
  return {
    sim,
    router,
    close: async () => {
      await router.shutdown(100);
      await sim.close();
    },
  };
}
