// A router started in this process on loopback, plaintext, ports chosen by the system, its log discarded:
// the endpoint picker in front of `--static-endpoints`, or the body-based router.
import { startBodyRouter, type RunningBodyRouter } from '../../../scheduler/bbr/body-router-app.ts';
import { LOOPBACK_FLAGS, parseRouterArgs } from '../../../scheduler/service/flags.ts';
import { jsonLogger } from '../../../scheduler/service/log.ts';
import { startRouter, type RunningRouter } from '../../../scheduler/service/router-app.ts';

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
