import { describe, expect, it } from 'vitest';
import { parseByteSize, parseDuration, parseRouterArgs } from '../../../scheduler/service/flags.ts';

const argv = (...args: string[]): string[] => ['node', 'router', ...args];

describe('router flags', () => {
  it('uses llm-d defaults', () => {
    const o = parseRouterArgs(argv('--pool-name', 'qwen'), { NAMESPACE: 'llm' });
    expect(o).toMatchObject({
      poolName: 'qwen',
      poolNamespace: 'llm',
      grpcPort: 9002,
      grpcHealthPort: 9003,
      metricsPort: 9090,
      httpPort: undefined,
      refreshMetricsIntervalMs: 50,
      metricsStalenessThresholdMs: 2000,
      secureServing: true,
      drainTimeoutMs: 30_000,
      policy: 'switchyard',
      objectiveApiGroup: 'llm-d.ai',
    });
    expect(parseRouterArgs(argv('--pool-name', 'qwen'), {}).poolNamespace).toBe('default');
  });

  it('accepts Go-style values', () => {
    const o = parseRouterArgs(
      argv(
        '--static-endpoints',
        '127.0.0.1:8000',
        '--secure-serving=false',
        '--refresh-metrics-interval=100ms',
        '--drain-timeout',
        '1m30s',
        '--grpc-max-recv-msg-size',
        '10MiB',
        '--served-models',
        'a, b',
      ),
      {},
    );
    expect(o).toMatchObject({
      secureServing: false,
      refreshMetricsIntervalMs: 100,
      drainTimeoutMs: 90_000,
      grpcMaxMessageBytes: 10 * 1024 * 1024,
      servedModels: ['a', 'b'],
    });
  });

  it('takes mutual TLS for the metrics port only with a serving pair to present', () => {
    const withPair = ['--pool-name', 'a', '--secure-serving=true', '--cert-path', '/tls'];
    const o = parseRouterArgs(
      argv(...withPair, '--metrics-client-ca', '/tls/ca.crt', '--metrics-client-names', 'prom, other'),
      {},
    );
    expect([o.metricsClientCa, o.metricsClientNames]).toEqual(['/tls/ca.crt', ['prom', 'other']]);
    expect(() => parseRouterArgs(argv('--pool-name', 'a', '--metrics-client-ca', '/ca.crt'), {})).toThrow(
      '--metrics-client-ca needs --secure-serving with --cert-path',
    );
    expect(() => parseRouterArgs(argv(...withPair, '--metrics-client-names', 'prom'), {})).toThrow(
      '--metrics-client-names needs --metrics-client-ca',
    );
  });

  it('names the flag that is wrong', () => {
    expect(() => parseRouterArgs(argv(), {})).toThrow('give exactly one of --pool-name');
    expect(() => parseRouterArgs(argv('--pool-name', 'a', '--static-endpoints', 'h:1'), {})).toThrow(
      'give exactly one of --pool-name',
    );
    expect(() => parseRouterArgs(argv('--static-endpoints', 'nohost'), {})).toThrow(
      '--static-endpoints item 1 ("nohost")',
    );
    expect(() => parseRouterArgs(argv('--pool-name', 'a', '--pool-group', 'x.io'), {})).toThrow(
      '--pool-group',
    );
    expect(() => parseDuration('5x', '--drain-timeout')).toThrow('--drain-timeout: expected a duration');
    const stderr = process.stderr.write.bind(process.stderr);
    process.stderr.write = () => true; // commander prints the message before throwing
    try {
      expect(() => parseRouterArgs(argv('--pool-name', 'a', '--grpc-port', '70000'), {})).toThrow(
        '--grpc-port: expected a port number in 0..65535',
      );
      expect(() => parseRouterArgs(argv('--pool-name', 'a', '--policy', 'fastest'), {})).toThrow('fastest');
    } finally {
      process.stderr.write = stderr;
    }
    expect(() => parseByteSize('lots', '--max-request-body-bytes')).toThrow('--max-request-body-bytes');
    expect(parseDuration('2s', 'f')).toBe(2000);
    expect(parseByteSize('512Ki', 'f')).toBe(512 * 1024);
  });
});

describe('model server TLS flags', () => {
  const parse = (...flags: string[]) => parseRouterArgs(argv('--pool-name', 'p', ...flags), {});
  const https = ['--model-server-metrics-scheme', 'https'];

  it('connects over plain HTTP by default', () => {
    expect(parse()).toMatchObject({ modelServerScheme: 'http', modelServerTls: undefined });
  });

  it('verifies the model servers against a CA bundle, for a server name when one is given', () => {
    expect(parse(...https, '--model-server-ca-file', '/tls/ca.crt')).toMatchObject({
      modelServerScheme: 'https',
      modelServerTls: { caFile: '/tls/ca.crt', serverName: undefined, insecureSkipVerify: false },
    });
    expect(
      parse(...https, '--model-server-ca-file', '/tls/ca.crt', '--model-server-server-name', 'm-vllm.ns.svc')
        .modelServerTls,
    ).toEqual({ caFile: '/tls/ca.crt', serverName: 'm-vllm.ns.svc', insecureSkipVerify: false });
  });

  it("takes KServe's arguments: https without verification", () => {
    const kserve = parse(
      ...https,
      '--model-server-metrics-https-insecure-skip-verify',
      '--cert-path',
      '/tls',
    );
    expect(kserve.modelServerTls).toEqual({
      caFile: undefined,
      serverName: undefined,
      insecureSkipVerify: true,
    });
    expect(kserve.certPath).toBe('/tls');
  });

  it('says what https lacks, and refuses TLS flags that would do nothing', () => {
    expect(() => parse(...https)).toThrow(
      '--model-server-metrics-scheme https needs --model-server-ca-file <PEM bundle>',
    );
    expect(() => parse(...https, '--model-server-metrics-https-insecure-skip-verify=false')).toThrow(
      'or --model-server-metrics-https-insecure-skip-verify to accept any certificate unverified',
    );
    expect(() =>
      parse(
        ...https,
        '--model-server-ca-file',
        'ca.crt',
        '--model-server-metrics-https-insecure-skip-verify',
      ),
    ).toThrow(
      '--model-server-ca-file and --model-server-metrics-https-insecure-skip-verify exclude each other',
    );
    expect(() => parse('--model-server-ca-file', 'ca.crt', '--model-server-server-name', 'm.ns.svc')).toThrow(
      '--model-server-ca-file, --model-server-server-name: only with --model-server-metrics-scheme https',
    );
    expect(() => parse('--model-server-metrics-https-insecure-skip-verify=true')).toThrow(
      '--model-server-metrics-https-insecure-skip-verify: only with --model-server-metrics-scheme https',
    );
    expect(parse('--model-server-metrics-https-insecure-skip-verify=false').modelServerScheme).toBe('http');
    for (const name of ['10.0.0.7', 'bad_name.svc', '-x.svc']) {
      expect(() =>
        parse(...https, '--model-server-ca-file', 'ca.crt', '--model-server-server-name', name),
      ).toThrow(
        `--model-server-server-name: expected a DNS name such as my-model-vllm.ns.svc, got "${name}"`,
      );
    }
    expect(() =>
      parseRouterArgs(
        argv(
          '--body-based-routing',
          '--model-catalog',
          'c.yaml',
          ...https,
          '--model-server-ca-file',
          'ca.crt',
        ),
        {},
      ),
    ).toThrow('--body-based-routing makes no connection to model servers');
    const stderr = process.stderr.write.bind(process.stderr);
    process.stderr.write = () => true; // commander prints the message before throwing
    try {
      expect(() => parse('--model-server-metrics-scheme', 'grpc')).toThrow('Allowed choices are http, https');
    } finally {
      process.stderr.write = stderr;
    }
  });
});

describe("llm-d's own flags", () => {
  // What llm-d's router chart passes its endpoint picker with default values and two replicas
  // (llm-d/llm-d-router config/charts/routerlib/templates/_deployment.yaml at ebab6879), plus a `flags` entry.
  const llmdChartArgs = [
    '--pool-name',
    'qwen',
    '--pool-namespace',
    'llm',
    '--pool-group',
    'inference.networking.k8s.io',
    '--zap-encoder',
    'json',
    '--config-file',
    '/config/default-plugins.yaml',
    '--ha-enable-leader-election',
    '--grpc-health-port',
    '9003',
    '--v=2',
    '--tracing=false',
    '--metrics-endpoint-auth=false',
  ];

  it('accepts the arguments of llm-d’s chart, so this image can replace its endpoint picker', () => {
    const options = parseRouterArgs(['node', 'router', ...llmdChartArgs], {});
    expect(options).toMatchObject({
      poolName: 'qwen',
      poolNamespace: 'llm',
      configFile: '/config/default-plugins.yaml',
      grpcHealthPort: 9003,
    });
    const kserve = parseRouterArgs(
      [
        'node',
        'router',
        '--pool-name',
        'p',
        '--enable-cert-reload=true',
        '--model-server-metrics-scheme=http',
      ],
      {},
    );
    expect(kserve.poolName).toBe('p');
  });

  it('refuses the settings it cannot honour instead of ignoring them', () => {
    const parse =
      (...flags: string[]) =>
      () =>
        parseRouterArgs(['node', 'router', '--pool-name', 'p', ...flags], {});
    expect(parse('--zap-encoder', 'console')).toThrow(
      '--zap-encoder: the router logs JSON only, got "console"',
    );
    expect(parse('--tracing=true')).toThrow('--tracing: OpenTelemetry tracing is not implemented');
    expect(parse('--enable-cert-reload=false')).toThrow('always reloads --cert-path');
    expect(parse('--model-server-metrics-scheme=https')).toThrow(
      '--model-server-metrics-scheme https needs --model-server-ca-file',
    );
    expect(parse('--metrics-endpoint-auth=true')).toThrow('protect /metrics with --metrics-client-ca');
    expect(parse('--v=loud')).toThrow('--v: expected a level such as 1, got "loud"');
  });
});
