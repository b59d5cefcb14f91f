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
