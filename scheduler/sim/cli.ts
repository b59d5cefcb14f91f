// `npm run sim -- --model NAME --profile PROFILE [--port N] ...`: one simulated vLLM replica on loopback.

import { Command, InvalidArgumentError } from 'commander';
import { engineProfiles } from './profiles.ts';
import { startSimServer, type SimFaults } from './server.ts';

function number(label: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (value.trim() === '' || !Number.isFinite(parsed))
      throw new InvalidArgumentError(`${label} must be a number`);
    return parsed;
  };
}

const program = new Command('sim')
  .description('Simulated vLLM replica: OpenAI API, /health, /v1/models and /metrics with vLLM metric names')
  .requiredOption('--model <name>', 'base model name (vLLM --model)')
  .option('--profile <name>', `engine profile: ${[...engineProfiles.keys()].join(', ')}`, 'qwen2.5-0.5b-l4')
  .option('--host <address>', 'address to listen on', '127.0.0.1')
  .option('--port <port>', 'port to listen on (0 = any free port)', number('--port'), 8000)
  .option('--seed <n>', 'seed for output lengths and injected errors', number('--seed'), 0)
  .option('--served-model-name <names...>', 'names the server answers to (vLLM --served-model-name)')
  .option('--error-rate <p>', 'probability in [0,1] that a request fails', number('--error-rate'))
  .option('--error-status <code>', 'HTTP status of injected errors', number('--error-status'))
  .option('--slowdown <factor>', 'multiplies every engine step duration', number('--slowdown'))
  .option('--crash-after-requests <n>', 'crash when request n+1 arrives', number('--crash-after-requests'))
  .option('--crash-at-ms <ms>', 'crash this long after start', number('--crash-at-ms'))
  .option('--max-num-seqs <n>', 'override the profile’s max-num-seqs', number('--max-num-seqs'))
  .option(
    '--max-num-batched-tokens <n>',
    'override the profile’s token budget per step',
    number('--max-num-batched-tokens'),
  )
  .option(
    '--kv-events-port <port>',
    'publish KV-cache events like vLLM --kv-events-config (ZMQ PUB bound on this port, topic kv@<host>:<port>@<model>)',
    number('--kv-events-port'),
  )
  .option(
    '--num-gpu-blocks <n>',
    'override the profile’s KV cache size in 16-token blocks',
    number('--num-gpu-blocks'),
  )
  .option(
    '--ssl-certfile <file>',
    'serve HTTPS with this PEM certificate (vLLM --ssl-certfile; needs --ssl-keyfile)',
  )
  .option('--ssl-keyfile <file>', 'PEM private key of --ssl-certfile (vLLM --ssl-keyfile)')
  .option(
    '--enable-ssl-refresh',
    'with --ssl-certfile: new connections get the certificate and key as they are on disk now (vLLM --enable-ssl-refresh)',
  );

program.parse();
const options = program.opts<{
  model: string;
  profile: string;
  host: string;
  port: number;
  seed: number;
  servedModelName?: string[];
  errorRate?: number;
  errorStatus?: number;
  slowdown?: number;
  crashAfterRequests?: number;
  crashAtMs?: number;
  maxNumSeqs?: number;
  maxNumBatchedTokens?: number;
  numGpuBlocks?: number;
  kvEventsPort?: number;
  sslCertfile?: string;
  sslKeyfile?: string;
  enableSslRefresh?: boolean;
}>();

if ((options.sslCertfile === undefined) !== (options.sslKeyfile === undefined)) {
  program.error('sim: --ssl-certfile and --ssl-keyfile go together');
}
if (options.enableSslRefresh === true && options.sslCertfile === undefined) {
  program.error('sim: --enable-ssl-refresh needs --ssl-certfile and --ssl-keyfile');
}

const faults: SimFaults = {
  ...(options.errorRate === undefined ? {} : { errorRate: options.errorRate }),
  ...(options.errorStatus === undefined ? {} : { errorStatus: options.errorStatus }),
  ...(options.slowdown === undefined ? {} : { slowdown: options.slowdown }),
  ...(options.crashAfterRequests === undefined ? {} : { crashAfterRequests: options.crashAfterRequests }),
  ...(options.crashAtMs === undefined ? {} : { crashAtMs: options.crashAtMs }),
};

try {
  const server = await startSimServer({
    host: options.host,
    port: options.port,
    model: options.model,
    profile: options.profile,
    seed: options.seed,
    ...(options.servedModelName === undefined ? {} : { servedModelNames: options.servedModelName }),
    faults,
    ...(options.kvEventsPort === undefined ? {} : { kvEventsPort: options.kvEventsPort }),
    ...(options.sslCertfile === undefined || options.sslKeyfile === undefined
      ? {}
      : {
          tls: {
            certFile: options.sslCertfile,
            keyFile: options.sslKeyfile,
            refresh: options.enableSslRefresh === true,
          },
        }),
    engineLimits: {
      ...(options.maxNumSeqs === undefined ? {} : { maxNumSeqs: options.maxNumSeqs }),
      ...(options.maxNumBatchedTokens === undefined
        ? {}
        : { maxNumBatchedTokens: options.maxNumBatchedTokens }),
      ...(options.numGpuBlocks === undefined ? {} : { numGpuBlocks: options.numGpuBlocks }),
    },
  });
  console.log(`simulated vLLM (${options.profile}) serving ${options.model} at ${server.url}`);
  if (server.kvEvents !== undefined) {
    console.log(
      `KV-cache events on tcp://${options.host}:${String(server.kvEvents.port)} (topic ${server.kvEvents.topic})`,
    );
  }
  const shutdown = () => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
} catch (error) {
  console.error(`sim: ${(error as Error).message}`);
  process.exit(1);
}
