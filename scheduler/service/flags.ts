// Command-line flags of the router. Names follow llm-d's endpoint picker where it has the same setting, so
// charts written for it carry over: --pool-name, --pool-namespace, --config-file, --grpc-port 9002,
// --grpc-health-port 9003, --metrics-port 9090, --refresh-metrics-interval, --secure-serving, --cert-path, …
import { isIP } from 'node:net';
import { Command, InvalidArgumentError, Option } from 'commander';
import { POLICY_NAMES, type PolicyName } from '../core/index.ts';
import type { ModelServerScheme, ModelServerTlsSettings } from '../datalayer/model-server-transport.ts';
import { parseStaticEndpoints } from '../datalayer/static-endpoints.ts';
import { parseIdentityObjectives, type IdentityObjectives } from '../lifecycle/identity-priority.ts';

export interface RouterOptions {
  readonly listenAddress: string;
  readonly grpcPort: number;
  readonly grpcHealthPort: number;
  readonly metricsPort: number;
  /** OpenAI-compatible HTTP proxy port; undefined disables the proxy. */
  readonly httpPort: number | undefined;
  readonly poolName: string | undefined;
  readonly poolNamespace: string;
  readonly poolGroup: string;
  readonly staticEndpoints: string | undefined;
  readonly configFile: string | undefined;
  readonly configText: string | undefined;
  readonly policy: PolicyName;
  readonly refreshMetricsIntervalMs: number;
  readonly metricsStalenessThresholdMs: number;
  readonly secureServing: boolean;
  readonly certPath: string | undefined;
  readonly drainTimeoutMs: number;
  readonly maxRequestBodyBytes: number;
  readonly grpcMaxMessageBytes: number | undefined;
  readonly servedModels: readonly string[];
  readonly objectiveApiGroup: string;
  readonly kubeconfig: string | undefined;
  /** Failed requests in a row (refused, reset, 5xx) that eject an endpoint. */
  readonly outlierConsecutiveFailures: number;
  readonly outlierBaseEjectionMs: number;
  readonly outlierMaxEjectionMs: number;
  /** Deadline of one whole /metrics scrape (connect, headers and body). */
  readonly scrapeTimeoutMs: number;
  /** Largest /metrics body read; a larger one fails the scrape. */
  readonly scrapeMaxBodyBytes: number;
  /** Distinct label sets per request metric before labels fold into "other". */
  readonly metricsMaxLabelSets: number;
  /** A Kubernetes watch silent this long is restarted. */
  readonly watchStallTimeoutMs: number;
  /**
   * CA bundle (PEM) that signs the client certificates allowed to read /metrics; when set, the metrics port
   * serves TLS with the --cert-path pair and requires such a certificate (mutual TLS).
   */
  readonly metricsClientCa: string | undefined;
  /** Common names of the client certificates allowed to read /metrics (empty: any the CA signed). */
  readonly metricsClientNames: readonly string[];
  /** The model's request-rate limit on this router; undefined: none. */
  readonly rateLimit: { readonly requestsPerSecond: number; readonly burst: number } | undefined;
  /** HTTP proxy: endpoints tried for one request. */
  readonly maxAttempts: number;
  /** Body-based-routing mode: the gateway's model header from the body, and GET /v1/models. */
  readonly bodyBasedRouting: boolean;
  /** With bodyBasedRouting: the environment's model catalog (YAML), re-read when it changes. */
  readonly modelCatalog: string | undefined;
  /** Identity-based priority: the gateway's verified-identity header and what each of its values may use. */
  readonly identity: IdentityObjectives | undefined;
  /**
   * Port of the model servers' KV-cache event publishers (vLLM --kv-events-config, ZMQ PUB): the router dials
   * every endpoint there; undefined: no KV-cache events.
   */
  readonly kvEventsPort: number | undefined;
  /** Scheme of every HTTP connection to the model servers (/metrics, /tokenize, forwarded requests). */
  readonly modelServerScheme: ModelServerScheme;
  /** With https: how the model servers' certificates are verified; undefined with http. */
  readonly modelServerTls: ModelServerTlsSettings | undefined;
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go-style durations ("50ms", "2s", "1m30s") or plain milliseconds ("50"). */
export function parseDuration(text: string, flag: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    return Number(trimmed);
  }
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(trimmed); m !== null; m = re.exec(trimmed)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? 0);
    consumed = re.lastIndex;
  }
  if (consumed === 0 || consumed !== trimmed.length) {
    throw new InvalidArgumentError(`${flag}: expected a duration such as 50ms, 2s or 1m30s, got "${text}"`);
  }
  return total;
}

/** Byte sizes: "4194304", "4Mi", "10MiB", "512Ki", "1G". */
export function parseByteSize(text: string, flag: string): number {
  const m = /^(\d+)\s*(|k|ki|kib|kb|m|mi|mib|mb|g|gi|gib|gb)$/i.exec(text.trim());
  if (m === null) {
    throw new InvalidArgumentError(`${flag}: expected a size such as 4194304, 512Ki or 10MiB, got "${text}"`);
  }
  const unit = (m[2] ?? '').toLowerCase();
  const factor = unit.startsWith('k')
    ? 1024
    : unit.startsWith('m')
      ? 1024 ** 2
      : unit.startsWith('g')
        ? 1024 ** 3
        : 1;
  return Number(m[1]) * factor;
}

export function port(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < 0 || n > 65535) {
      throw new InvalidArgumentError(
        `${flag}: expected a port number in 0..65535 (0 picks a free port), got "${value}"`,
      );
    }
    return n;
  };
}

function positiveInteger(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < 1) {
      throw new InvalidArgumentError(`${flag}: expected a positive integer, got "${value}"`);
    }
    return n;
  };
}

function positiveNumber(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
      throw new InvalidArgumentError(`${flag}: expected a number above 0, got "${value}"`);
    }
    return n;
  };
}

function bool(flag: string) {
  return (value: string | undefined): boolean => {
    if (value === undefined || value === 'true' || value === '1') {
      return true;
    }
    if (value === 'false' || value === '0') {
      return false;
    }
    throw new InvalidArgumentError(`${flag}: expected true or false, got "${value}"`);
  };
}

export function withDefault(
  flags: string,
  description: string,
  defaultText: string,
  parse: (text: string, flag: string) => number,
): Option {
  const flag = flags.split(' ')[0] ?? flags;
  return new Option(flags, description)
    .default(parse(defaultText, flag), defaultText)
    .argParser((v: string) => parse(v, flag));
}

export function buildProgram(): Command {
  return (
    new Command('router')
      .description(
        'Switchyard router: endpoint picker for an InferencePool (Envoy ext_proc on --grpc-port), gRPC health, ' +
          'Prometheus metrics, and an optional OpenAI-compatible HTTP proxy (--http-port). With --body-based-routing, ' +
          "the body-based router of an environment's shared OpenAI endpoint instead.",
      )
      .option(
        '--pool-name <name>',
        'InferencePool to watch (with its Pods, InferenceObjectives, InferenceModelRewrites)',
      )
      .option('--pool-namespace <namespace>', 'namespace of the pool (default: $NAMESPACE, else "default")')
      .option('--pool-group <group>', 'API group of the InferencePool', 'inference.networking.k8s.io')
      .option('--static-endpoints <list>', 'route to these "host:port,host:port" endpoints instead of a pool')
      .option(
        '--body-based-routing',
        "body-based-routing mode for an environment's shared endpoint: set x-gateway-model-name from the body's model (ext_proc) and serve GET /v1/models (--http-port); needs --model-catalog, no pool",
      )
      .option(
        '--model-catalog <file>',
        'with --body-based-routing: YAML "models: [{name, aliases, adapters}]" of the environment, re-read every 5s',
      )
      .option(
        '--config-file <path>',
        'EndpointPickerConfig YAML (plugins, scheduling profiles, optional flowControl queue)',
      )
      .option('--config-text <yaml>', 'EndpointPickerConfig given inline')
      .addOption(
        new Option(
          '--policy <name>',
          'built-in configuration when neither --config-file nor --config-text is given',
        )
          .choices(POLICY_NAMES)
          .default('switchyard'),
      )
      .option('--listen-address <address>', 'address every server binds to', '0.0.0.0')
      .option('--grpc-port <port>', 'Envoy ext_proc gRPC port', port('--grpc-port'), 9002)
      .option('--grpc-health-port <port>', 'gRPC health port', port('--grpc-health-port'), 9003)
      .option('--metrics-port <port>', 'Prometheus metrics port', port('--metrics-port'), 9090)
      .option(
        '--metrics-client-ca <file>',
        'require a client certificate signed by this CA (PEM) on the metrics port, which then serves TLS with the --cert-path pair',
      )
      .option(
        '--metrics-client-names <list>',
        'with --metrics-client-ca: common names allowed to read /metrics, comma-separated (default: any)',
      )
      .option(
        '--http-port <port>',
        'serve the OpenAI-compatible HTTP proxy on this port',
        port('--http-port'),
      )
      .addOption(
        withDefault(
          '--refresh-metrics-interval <duration>',
          'how often each endpoint /metrics is scraped',
          '50ms',
          parseDuration,
        ),
      )
      .addOption(
        withDefault(
          '--metrics-staleness-threshold <duration>',
          'age after which scraped metrics count as stale',
          '2s',
          parseDuration,
        ),
      )
      .option('--secure-serving [bool]', 'serve ext_proc over TLS', bool('--secure-serving'), true)
      .option(
        '--cert-path <dir>',
        'directory with tls.crt and tls.key (reloaded on change); self-signed when absent',
      )
      .addOption(
        withDefault(
          '--drain-timeout <duration>',
          'on SIGTERM, how long requests in flight may take to finish',
          '30s',
          parseDuration,
        ),
      )
      .addOption(
        withDefault(
          '--max-request-body-bytes <size>',
          'largest request body the HTTP proxy accepts (413 above)',
          '8Mi',
          parseByteSize,
        ),
      )
      .option('--grpc-max-recv-msg-size <size>', 'largest gRPC message on the ext_proc port', (v: string) =>
        parseByteSize(v, '--grpc-max-recv-msg-size'),
      )
      .option('--served-models <list>', 'comma-separated model names to accept (default: accept any)')
      .option(
        '--objective-api-group <group>',
        'API group of InferenceObjective and InferenceModelRewrite',
        'llm-d.ai',
      )
      .option(
        '--kubeconfig <path>',
        'kubeconfig file (default: in-cluster config, then $KUBECONFIG, ~/.kube/config)',
      )
      .option(
        '--rate-limit <requests-per-second>',
        "the model's request-rate limit on this router (429 rate_limit_exceeded with Retry-After above it; default: none)",
        positiveNumber('--rate-limit'),
      )
      .option(
        '--rate-limit-burst <n>',
        'with --rate-limit: requests admitted at once after a quiet period (default: the rate, rounded up)',
        positiveInteger('--rate-limit-burst'),
      )
      .option(
        '--max-attempts <n>',
        'HTTP proxy: endpoints tried for one request when one refuses, resets or answers 5xx before responding',
        positiveInteger('--max-attempts'),
        3,
      )
      .option(
        '--outlier-consecutive-failures <n>',
        'failed requests in a row (refused connection, reset, 5xx) that eject an endpoint',
        positiveInteger('--outlier-consecutive-failures'),
        3,
      )
      .addOption(
        withDefault(
          '--outlier-base-ejection <duration>',
          'first ejection time; doubles with each ejection in a row',
          '2s',
          parseDuration,
        ),
      )
      .addOption(
        withDefault('--outlier-max-ejection <duration>', 'longest ejection time', '30s', parseDuration),
      )
      .addOption(
        withDefault(
          '--scrape-timeout <duration>',
          'deadline of one whole /metrics scrape (connect, headers and body)',
          '1s',
          parseDuration,
        ),
      )
      .addOption(
        withDefault(
          '--scrape-max-body-bytes <size>',
          'largest /metrics body read; a larger one fails the scrape',
          '8Mi',
          parseByteSize,
        ),
      )
      .addOption(
        new Option(
          '--model-server-metrics-scheme <scheme>',
          "scheme of every HTTP connection to the model servers, despite llm-d's name: the /metrics scrapes, /tokenize (token-producer backend vllm) and the HTTP proxy's forwarded requests (KV-cache events stay plain ZMQ over TCP); https (vLLM --ssl-certfile/--ssl-keyfile) needs --model-server-ca-file or --model-server-metrics-https-insecure-skip-verify",
        )
          .choices(['http', 'https'])
          .default('http'),
      )
      .option(
        '--model-server-ca-file <file>',
        "with https: PEM CA bundle the model servers' certificates must chain to (e.g. the ca.crt of a cert-manager Secret); re-read when it changes, new connections use the new bundle",
      )
      .option(
        '--model-server-server-name <name>',
        "with https: name sent as SNI and required among the model servers' certificate names, e.g. my-model-vllm.ns.svc (endpoints are dialled by pod IP); default: the certificate must name the endpoint's IP",
      )
      .option(
        '--model-server-metrics-https-insecure-skip-verify [bool]',
        "with https: accept any model server certificate, unverified (llm-d compatibility; llm-d's default is true, this router's false)",
        bool('--model-server-metrics-https-insecure-skip-verify'),
      )
      .option(
        '--identity-header <name>',
        "header the gateway sets from the caller's verified token (a claim); its value picks the highest objective the request may use (needs --identity-objectives)",
      )
      .option(
        '--identity-objectives <map>',
        'claim value → InferenceObjective, comma-separated, e.g. "gold=premium,free=batch"; a request asks for that objective or a lower one, an unknown or absent identity for priority 0 at most',
      )
      .option(
        '--metrics-max-label-sets <n>',
        'distinct (model, target model, fairness id, priority) label sets per request metric; more fold into "other"',
        positiveInteger('--metrics-max-label-sets'),
        50,
      )
      // Flags llm-d's own chart and KServe's scheduler preset pass to their endpoint picker, accepted where this
      // router already behaves that way, so the image can replace theirs; anything else is refused, not ignored.
      .option(
        '--zap-encoder <encoding>',
        'log encoding; the router always logs JSON (llm-d compatibility: json only)',
      )
      .option(
        '--ha-enable-leader-election',
        'accepted for llm-d compatibility: replicas run active-active and need no leader (docs/router-operations.md)',
      )
      .option(
        '--tracing [bool]',
        'OpenTelemetry tracing; not implemented (llm-d compatibility: false only)',
        bool('--tracing'),
      )
      .option(
        '--enable-cert-reload [bool]',
        'accepted for llm-d compatibility: --cert-path is always reloaded on change (true only)',
        bool('--enable-cert-reload'),
      )
      .option(
        '--metrics-endpoint-auth [bool]',
        "llm-d's TokenReview auth on /metrics; not implemented, use --metrics-client-ca (false only)",
        bool('--metrics-endpoint-auth'),
      )
      .option(
        '--kv-events-port <port>',
        "subscribe to every endpoint's KV-cache events on this port (vLLM --kv-events-config with a zmq publisher bound to tcp://*:<port>, topic kv@<ip>:<port>@<model>) to feed the precise-prefix-cache-producer; needs the zeromq package beside the router",
        port('--kv-events-port'),
      )
      .option('--v <level>', 'log verbosity (llm-d compatibility; the router has one level)')
      .addOption(
        withDefault(
          '--watch-stall-timeout <duration>',
          'a Kubernetes watch that delivers nothing (not even a bookmark) for this long is restarted',
          '15s',
          parseDuration,
        ),
      )
      .showHelpAfterError('(run with --help for usage)')
  );
}

interface RawOptions {
  rateLimit?: number;
  rateLimitBurst?: number;
  maxAttempts: number;
  bodyBasedRouting?: boolean;
  modelCatalog?: string;
  poolName?: string;
  poolNamespace?: string;
  poolGroup: string;
  staticEndpoints?: string;
  configFile?: string;
  configText?: string;
  policy: PolicyName;
  listenAddress: string;
  grpcPort: number;
  grpcHealthPort: number;
  metricsPort: number;
  httpPort?: number;
  refreshMetricsInterval: number;
  metricsStalenessThreshold: number;
  secureServing: boolean;
  certPath?: string;
  drainTimeout: number;
  maxRequestBodyBytes: number;
  grpcMaxRecvMsgSize?: number;
  servedModels?: string;
  objectiveApiGroup: string;
  kubeconfig?: string;
  outlierConsecutiveFailures: number;
  outlierBaseEjection: number;
  outlierMaxEjection: number;
  scrapeTimeout: number;
  scrapeMaxBodyBytes: number;
  metricsMaxLabelSets: number;
  watchStallTimeout: number;
  metricsClientCa?: string;
  metricsClientNames?: string;
  identityHeader?: string;
  identityObjectives?: string;
  zapEncoder?: string;
  tracing?: boolean;
  enableCertReload?: boolean;
  modelServerMetricsScheme: ModelServerScheme;
  modelServerCaFile?: string;
  modelServerServerName?: string;
  modelServerMetricsHttpsInsecureSkipVerify?: boolean;
  metricsEndpointAuth?: boolean;
  v?: string;
  kvEventsPort?: number;
}

/** The non-empty, trimmed items of a comma-separated flag value. */
export function commaList(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/**
 * llm-d's flags this router accepts only with the value that describes what it does anyway: a setting it cannot
 * honour stops it at start-up instead of being silently ignored.
 */
function refuseUnsupportedCompatibilityFlags(raw: RawOptions): void {
  if (raw.zapEncoder !== undefined && raw.zapEncoder !== 'json') {
    throw new Error(`--zap-encoder: the router logs JSON only, got "${raw.zapEncoder}"`);
  }
  if (raw.tracing === true)
    throw new Error('--tracing: OpenTelemetry tracing is not implemented; use --tracing=false');
  if (raw.enableCertReload === false) {
    throw new Error('--enable-cert-reload=false: the router always reloads --cert-path on change');
  }
  if (raw.metricsEndpointAuth === true) {
    throw new Error(
      '--metrics-endpoint-auth: TokenReview authentication is not implemented; protect /metrics with --metrics-client-ca (mutual TLS)',
    );
  }
  if (raw.v !== undefined && !/^\d+$/.test(raw.v))
    throw new Error(`--v: expected a level such as 1, got "${raw.v}"`);
}

/** A name a certificate can be checked for (SNI): a DNS name, not an IP address. */
export function isDnsName(name: string): boolean {
  return isIP(name) === 0 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i.test(name);
}

/** How model servers are reached: the TLS flags only go with https, and https says how to verify. */
function modelServerTls(raw: RawOptions, bodyBasedRouting: boolean): ModelServerTlsSettings | undefined {
  const skipVerify = raw.modelServerMetricsHttpsInsecureSkipVerify === true;
  if (raw.modelServerMetricsScheme === 'http') {
    const tlsFlags = [
      ...(raw.modelServerCaFile !== undefined ? ['--model-server-ca-file'] : []),
      ...(raw.modelServerServerName !== undefined ? ['--model-server-server-name'] : []),
      ...(skipVerify ? ['--model-server-metrics-https-insecure-skip-verify'] : []),
    ];
    if (tlsFlags.length > 0) {
      throw new Error(
        `${tlsFlags.join(', ')}: only with --model-server-metrics-scheme https (with http there is no TLS to configure)`,
      );
    }
    return undefined;
  }
  if (bodyBasedRouting) {
    throw new Error(
      '--model-server-metrics-scheme https: --body-based-routing makes no connection to model servers',
    );
  }
  if (raw.modelServerCaFile === undefined && !skipVerify) {
    throw new Error(
      "--model-server-metrics-scheme https needs --model-server-ca-file <PEM bundle> to verify the model servers' certificates (or --model-server-metrics-https-insecure-skip-verify to accept any certificate unverified)",
    );
  }
  if (raw.modelServerCaFile !== undefined && skipVerify) {
    throw new Error(
      '--model-server-ca-file and --model-server-metrics-https-insecure-skip-verify exclude each other: verify against the CA bundle, or do not verify',
    );
  }
  const serverName = raw.modelServerServerName;
  if (serverName !== undefined && !isDnsName(serverName)) {
    throw new Error(
      `--model-server-server-name: expected a DNS name such as my-model-vllm.ns.svc, got "${serverName}" (without the flag the certificate must name the endpoint's IP)`,
    );
  }
  return { caFile: raw.modelServerCaFile, serverName, insecureSkipVerify: skipVerify };
}

/** Checks combinations that single flags cannot express; throws naming the flags involved. */
export function resolveOptions(raw: RawOptions, env: NodeJS.ProcessEnv): RouterOptions {
  const bodyBasedRouting = raw.bodyBasedRouting === true;
  if (bodyBasedRouting) {
    if (raw.modelCatalog === undefined) throw new Error('--body-based-routing needs --model-catalog');
    if (raw.poolName !== undefined || raw.staticEndpoints !== undefined) {
      throw new Error(
        '--body-based-routing routes to models, not endpoints: give no --pool-name or --static-endpoints',
      );
    }
  } else if (raw.modelCatalog !== undefined) {
    throw new Error('--model-catalog needs --body-based-routing');
  } else if ((raw.poolName === undefined) === (raw.staticEndpoints === undefined)) {
    throw new Error(
      'give exactly one of --pool-name (Kubernetes discovery) or --static-endpoints (fixed list)',
    );
  }
  if (raw.rateLimitBurst !== undefined && raw.rateLimit === undefined) {
    throw new Error('--rate-limit-burst needs --rate-limit');
  }
  if (raw.staticEndpoints !== undefined) {
    parseStaticEndpoints(raw.staticEndpoints);
  }
  if (raw.configFile !== undefined && raw.configText !== undefined) {
    throw new Error('--config-file and --config-text are mutually exclusive');
  }
  if (raw.poolGroup !== 'inference.networking.k8s.io') {
    throw new Error(
      `--pool-group: only inference.networking.k8s.io (InferencePool v1) is supported, got "${raw.poolGroup}"`,
    );
  }
  if (raw.metricsClientCa !== undefined && (!raw.secureServing || raw.certPath === undefined)) {
    throw new Error(
      '--metrics-client-ca needs --secure-serving with --cert-path (the metrics port serves that pair)',
    );
  }
  if (raw.metricsClientNames !== undefined && raw.metricsClientCa === undefined) {
    throw new Error('--metrics-client-names needs --metrics-client-ca');
  }
  refuseUnsupportedCompatibilityFlags(raw);
  if ((raw.identityHeader === undefined) !== (raw.identityObjectives === undefined)) {
    throw new Error('--identity-header and --identity-objectives go together');
  }
  if (raw.identityHeader !== undefined && !/^[a-z0-9][-a-z0-9]*$/i.test(raw.identityHeader)) {
    throw new Error(
      `--identity-header: expected a header name such as x-gateway-identity-class, got "${raw.identityHeader}"`,
    );
  }
  if (raw.kvEventsPort === 0) {
    throw new Error('--kv-events-port: the port the model servers publish on, not 0');
  }
  if (raw.kvEventsPort !== undefined && bodyBasedRouting) {
    throw new Error('--kv-events-port needs a pool of endpoints; --body-based-routing has none');
  }
  if (raw.refreshMetricsInterval < 10) {
    throw new Error('--refresh-metrics-interval: must be at least 10ms');
  }
  const tls = modelServerTls(raw, bodyBasedRouting);
  return {
    listenAddress: raw.listenAddress,
    grpcPort: raw.grpcPort,
    grpcHealthPort: raw.grpcHealthPort,
    metricsPort: raw.metricsPort,
    httpPort: raw.httpPort,
    poolName: raw.poolName,
    poolNamespace: raw.poolNamespace ?? env['NAMESPACE'] ?? 'default',
    poolGroup: raw.poolGroup,
    staticEndpoints: raw.staticEndpoints,
    configFile: raw.configFile,
    configText: raw.configText,
    policy: raw.policy,
    refreshMetricsIntervalMs: raw.refreshMetricsInterval,
    metricsStalenessThresholdMs: raw.metricsStalenessThreshold,
    secureServing: raw.secureServing,
    certPath: raw.certPath,
    drainTimeoutMs: raw.drainTimeout,
    maxRequestBodyBytes: raw.maxRequestBodyBytes,
    grpcMaxMessageBytes: raw.grpcMaxRecvMsgSize,
    servedModels: commaList(raw.servedModels),
    objectiveApiGroup: raw.objectiveApiGroup,
    kubeconfig: raw.kubeconfig,
    metricsClientCa: raw.metricsClientCa,
    metricsClientNames: commaList(raw.metricsClientNames),
    outlierConsecutiveFailures: raw.outlierConsecutiveFailures,
    outlierBaseEjectionMs: raw.outlierBaseEjection,
    outlierMaxEjectionMs: Math.max(raw.outlierMaxEjection, raw.outlierBaseEjection),
    scrapeTimeoutMs: raw.scrapeTimeout,
    scrapeMaxBodyBytes: raw.scrapeMaxBodyBytes,
    metricsMaxLabelSets: raw.metricsMaxLabelSets,
    watchStallTimeoutMs: raw.watchStallTimeout,
    rateLimit:
      raw.rateLimit === undefined
        ? undefined
        : { requestsPerSecond: raw.rateLimit, burst: raw.rateLimitBurst ?? Math.ceil(raw.rateLimit) },
    maxAttempts: raw.maxAttempts,
    bodyBasedRouting,
    modelCatalog: raw.modelCatalog,
    kvEventsPort: raw.kvEventsPort,
    modelServerScheme: raw.modelServerMetricsScheme,
    modelServerTls: tls,
    identity:
      raw.identityHeader === undefined || raw.identityObjectives === undefined
        ? undefined
        : {
            header: raw.identityHeader.toLowerCase(),
            objectives: parseIdentityObjectives(raw.identityObjectives, '--identity-objectives'),
          },
  };
}

/** Flags that keep every server on loopback with ports the system picks (local runs, demo, tests). */
export const LOOPBACK_FLAGS = [
  '--listen-address',
  '127.0.0.1',
  '--grpc-port',
  '0',
  '--grpc-health-port',
  '0',
  '--metrics-port',
  '0',
  '--http-port',
  '0',
] as const;

/** Parses argv (including the node and script entries) into validated options. */
export function parseRouterArgs(argv: readonly string[], env: NodeJS.ProcessEnv): RouterOptions {
  // Commander prints its own messages; exitOverride turns its exits into CommanderError for the caller.
  const program = buildProgram().exitOverride();
  program.parse([...argv]);
  return resolveOptions(program.opts<RawOptions>(), env);
}
