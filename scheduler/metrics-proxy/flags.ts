// `router.mjs metrics-proxy [flags]`: the flags of the vLLM metrics proxy, a container beside vLLM that serves
// only GET /metrics of the vLLM in its pod, so that the monitoring namespace is let in to that port alone.
import { Command, Option } from 'commander';
import type { ModelServerScheme, ModelServerTlsSettings } from '../datalayer/model-server-transport.ts';
import { commaList, isDnsName, parseByteSize, parseDuration, port, withDefault } from '../service/flags.ts';

export interface MetricsProxyOptions {
  readonly listenAddress: string;
  readonly port: number;
  readonly vllmPort: number;
  readonly scheme: ModelServerScheme;
  readonly tls: ModelServerTlsSettings | undefined;
  /** Serve TLS with this pair and require a client certificate from clientCaFile. */
  readonly mutualTls:
    { readonly certDir: string; readonly clientCaFile: string; readonly clientNames: string[] } | undefined;
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
}

interface RawOptions {
  listenAddress: string;
  port: number;
  vllmPort: number;
  modelServerScheme: ModelServerScheme;
  modelServerCaFile?: string;
  modelServerServerName?: string;
  certPath?: string;
  clientCaFile?: string;
  clientNames?: string;
  timeout: number;
  maxBodyBytes: number;
}

function buildProgram(): Command {
  return new Command('metrics-proxy')
    .description(
      "vLLM metrics proxy: serves GET /metrics of the vLLM in this pod (over loopback) and nothing else, so that a network policy can open vLLM's metrics without its inference API",
    )
    .option('--listen-address <address>', 'address to bind', '0.0.0.0')
    .option('--port <port>', 'port to serve /metrics on', port('--port'), 9400)
    .option('--vllm-port <port>', "vLLM's port in this pod", port('--vllm-port'), 8000)
    .addOption(
      new Option('--model-server-scheme <scheme>', 'how vLLM serves: http, or https (--ssl-certfile)')
        .choices(['http', 'https'])
        .default('http'),
    )
    .option('--model-server-ca-file <file>', "with https: PEM bundle vLLM's certificate must chain to")
    .option('--model-server-server-name <name>', "with https: the name vLLM's certificate must list")
    .option(
      '--cert-path <dir>',
      'serve TLS with tls.crt and tls.key from this directory (needs --client-ca-file)',
    )
    .option(
      '--client-ca-file <file>',
      'with --cert-path: require a client certificate signed by this CA (PEM)',
    )
    .option(
      '--client-names <list>',
      'with --client-ca-file: allowed client common names, comma-separated (default: any)',
    )
    .addOption(withDefault('--timeout <duration>', 'deadline of one scrape of vLLM', '5s', parseDuration))
    .addOption(
      withDefault('--max-body-bytes <size>', 'largest vLLM /metrics body passed on', '8Mi', parseByteSize),
    )
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
}

function resolve(raw: RawOptions): MetricsProxyOptions {
  const https = raw.modelServerScheme === 'https';
  if (!https && (raw.modelServerCaFile !== undefined || raw.modelServerServerName !== undefined)) {
    throw new Error(
      '--model-server-ca-file and --model-server-server-name: only with --model-server-scheme https',
    );
  }
  if (https && raw.modelServerCaFile === undefined) {
    throw new Error("--model-server-scheme https needs --model-server-ca-file to verify vLLM's certificate");
  }
  if (raw.modelServerServerName !== undefined && !isDnsName(raw.modelServerServerName)) {
    throw new Error(
      `--model-server-server-name: expected a DNS name such as my-model-vllm.ns.svc, got "${raw.modelServerServerName}"`,
    );
  }
  if ((raw.certPath === undefined) !== (raw.clientCaFile === undefined)) {
    throw new Error(
      '--cert-path and --client-ca-file go together: TLS here always requires a client certificate',
    );
  }
  if (raw.clientNames !== undefined && raw.clientCaFile === undefined) {
    throw new Error('--client-names: only with --client-ca-file');
  }
  return {
    listenAddress: raw.listenAddress,
    port: raw.port,
    vllmPort: raw.vllmPort,
    scheme: raw.modelServerScheme,
    tls: https
      ? { caFile: raw.modelServerCaFile, serverName: raw.modelServerServerName, insecureSkipVerify: false }
      : undefined,
    mutualTls:
      raw.certPath === undefined || raw.clientCaFile === undefined
        ? undefined
        : {
            certDir: raw.certPath,
            clientCaFile: raw.clientCaFile,
            clientNames: commaList(raw.clientNames),
          },
    timeoutMs: raw.timeout,
    maxBodyBytes: raw.maxBodyBytes,
  };
}

/** Parses `metrics-proxy` and its flags (argv without node and the script); throws with a message naming the flag. */
export function parseMetricsProxyArgs(args: readonly string[]): MetricsProxyOptions {
  const program = buildProgram();
  program.parse([...args], { from: 'user' });
  return resolve(program.opts<RawOptions>());
}
