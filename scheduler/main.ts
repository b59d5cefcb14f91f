// `npm run router -- [flags]` (or `node router.mjs [flags]` from the bundle): starts the router and drains it
// on SIGTERM / SIGINT. A second signal exits at once. `router.mjs metrics-proxy [flags]` starts the vLLM
// metrics proxy instead (scheduler/metrics-proxy/).
import { CommanderError } from 'commander';
import { parseRouterArgs } from './service/flags.ts';
import { jsonLogger } from './service/log.ts';
import { parseMetricsProxyArgs } from './metrics-proxy/flags.ts';
import { startMetricsProxy } from './metrics-proxy/app.ts';

const log = jsonLogger();

/** Exits as a bad command line does: status 0 after --help, else 2 with the message. */
function exitOnBadArguments(command: string, err: unknown): never {
  if (err instanceof CommanderError) {
    // Commander already printed the message (or the help text, exit code 0).
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  process.stderr.write(`${command}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}

async function metricsProxyMain(args: readonly string[]): Promise<void> {
  let options;
  try {
    options = parseMetricsProxyArgs(args);
  } catch (err) {
    exitOnBadArguments('metrics-proxy', err);
  }
  let proxy;
  try {
    proxy = await startMetricsProxy(options, log);
  } catch (err) {
    log.error('metrics proxy failed to start', { error: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  }
  const stop = (signal: string): void => {
    log.info('shutting down', { signal });
    proxy.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function main(): Promise<void> {
  if (process.argv[2] === 'metrics-proxy') {
    await metricsProxyMain(process.argv.slice(3));
    return;
  }
  let options;
  try {
    options = parseRouterArgs(process.argv, process.env);
  } catch (err) {
    exitOnBadArguments('router', err);
  }
  let router;
  try {
    // Loaded here, not at the top: the metrics proxy, which shares this entry point, runs beside every vLLM
    // container and should not carry the router's modules in memory.
    router = options.bodyBasedRouting
      ? await (await import('./bbr/body-router-app.ts')).startBodyRouter(options, log)
      : await (await import('./service/router-app.ts')).startRouter(options, log);
  } catch (err) {
    log.error('router failed to start', { error: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      log.warn('second signal, exiting without draining', { signal });
      process.exit(1);
    }
    stopping = true;
    log.info('shutting down', { signal, drainTimeoutMs: options.drainTimeoutMs });
    router.shutdown(options.drainTimeoutMs).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', { error: err instanceof Error ? err.message : String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

await main();
