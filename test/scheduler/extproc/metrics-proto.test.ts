import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { generatedPath, renderDescriptorModule } from '../../../scheduler/extproc/proto/generate.ts';
import { processingRequestCodec, processingResponseCodec } from '../../../scheduler/extproc/codec.ts';
import { RouterMetrics } from '../../../scheduler/telemetry/metrics.ts';
import { startMetricsServer } from '../../../scheduler/telemetry/server.ts';

describe('protocol definitions', () => {
  it('the embedded descriptors match the .proto files', async () => {
    expect(await readFile(generatedPath, 'utf8')).toBe(await renderDescriptorModule());
  });

  it('encodes the field numbers of the Envoy API', () => {
    // ProcessingRequest.request_body = 4 (HttpBody: body = 1, end_of_stream = 2): tag 0x22.
    const request = processingRequestCodec.encode({
      requestBody: { body: Buffer.from('ab'), endOfStream: true },
    });
    expect([...request]).toEqual([0x22, 0x06, 0x0a, 0x02, 0x61, 0x62, 0x10, 0x01]);
    // ProcessingResponse.request_body = 3 → BodyResponse.response = 1 → CommonResponse.body_mutation = 3
    // → BodyMutation.streamed_response = 3 → StreamedBodyResponse { body = 1, end_of_stream = 2 }.
    const response = processingResponseCodec.encode({
      requestBody: {
        response: { bodyMutation: { streamedResponse: { body: Buffer.from('a'), endOfStream: true } } },
      },
    });
    expect([...response]).toEqual([
      0x1a, 0x0b, 0x0a, 0x09, 0x1a, 0x07, 0x1a, 0x05, 0x0a, 0x01, 0x61, 0x10, 0x01,
    ]);
  });
});

describe('router metrics', () => {
  it('serves llm_d_epp_* series with pool gauges computed at scrape time', async () => {
    const metrics = new RouterMetrics({
      poolName: 'pool-a',
      endpoints: () => [
        {
          key: '10.0.0.1:8000',
          address: '10.0.0.1',
          port: 8000,
          labels: {},
          metrics: {
            waitingRequests: 4,
            runningRequests: 2,
            kvCacheUsage: 0.5,
            activeLoras: [],
            waitingLoras: [],
            maxLoras: 0,
            scrapedAtMs: 0,
          },
        },
      ],
    });
    const labels = { modelName: 'a', targetModelName: 'b', fairnessId: 'default-flow', priority: 0 };
    metrics.requestStarted(labels, 100);
    metrics.requestRouted(labels, 0.0001);
    metrics.requestFinished(labels, { durationSeconds: 1, responseBytes: 10, promptTokens: 5 });
    const server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: metrics.registry });
    try {
      const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      const text = await response.text();
      expect(response.status).toBe(200);
      expect(text).toContain(
        'llm_d_epp_request_total{model_name="a",target_model_name="b",fairness_id="default-flow",priority="0"} 1',
      );
      expect(text).toContain(
        'llm_d_epp_request_running{model_name="a",target_model_name="b",fairness_id="default-flow",priority="0"} 0',
      );
      expect(text).toContain('llm_d_epp_ready_endpoints{name="pool-a"} 1');
      expect(text).toContain('llm_d_epp_average_queue_size{name="pool-a"} 4');
      expect(text).toContain(
        'llm_d_epp_per_endpoint_queue_size{name="pool-a",model_server_endpoint="10.0.0.1:8000"} 4',
      );
      expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
