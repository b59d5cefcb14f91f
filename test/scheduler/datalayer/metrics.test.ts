import { afterEach, describe, expect, it } from 'vitest';
import { EndpointRegistry } from '../../../scheduler/datalayer/endpoint-registry.ts';
import { MetricsScraper, type ScrapeEvent } from '../../../scheduler/datalayer/metrics-scraper.ts';
import {
  ExpositionParseError,
  parsePrometheusText,
  WantedLines,
} from '../../../scheduler/datalayer/prometheus-text.ts';
import { parseStaticEndpoints } from '../../../scheduler/datalayer/static-endpoints.ts';
import { MetricsExtractError, parseVllmMetrics } from '../../../scheduler/datalayer/vllm-metrics.ts';
import { startSimServer, type SimServer } from '../../../scheduler/sim/server.ts';
import { defined } from './defined.ts';

const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';

describe('Prometheus text parser', () => {
  it('reads names, escaped labels, special values and skips comments', () => {
    const text = [
      '# HELP vllm:num_requests_running Number of requests running.',
      '# TYPE vllm:num_requests_running gauge',
      'vllm:num_requests_running{model_name="a \\"quoted\\" \\\\ name\\n"} 3',
      'plain_metric 4.5e-1 1700000000000',
      'inf_metric{a="b",} +Inf',
      'nan_metric NaN',
      '',
    ].join('\r\n');
    const samples = parsePrometheusText(text);
    expect(samples).toHaveLength(4);
    expect(samples[0]).toEqual({
      name: 'vllm:num_requests_running',
      labels: { model_name: 'a "quoted" \\ name\n' },
      value: 3,
    });
    expect(samples[1]?.value).toBeCloseTo(0.45);
    expect(samples[2]).toEqual({ name: 'inf_metric', labels: { a: 'b' }, value: Number.POSITIVE_INFINITY });
    expect(Number.isNaN(samples[3]?.value)).toBe(true);
  });

  it('names the line and column of malformed input', () => {
    expect(() => parsePrometheusText('ok 1\nbad{x=1} 2\n')).toThrow(ExpositionParseError);
    expect(() => parsePrometheusText('ok 1\nbad{x=1} 2\n')).toThrow(
      /line 2, column 6: expected ="<label value>"/,
    );
    expect(() => parsePrometheusText('m{a="b"} notanumber')).toThrow(
      /line 1, column 10: expected a sample value/,
    );
  });

  it('keeps the wanted lines of a body however it is cut into chunks, multi-byte characters included', () => {
    const text = [
      '# HELP wanted a gauge',
      'wanted{model="é模型"} 1',
      'other_series{a="b"} 2',
      'wanted{model="x"} 3\r',
      'wanted_not 4',
      'wanted 5',
    ].join('\n');
    const bytes = Buffer.from(text);
    const expected = parsePrometheusText(text, new Set(['wanted']));
    for (let cut = 0; cut <= bytes.length; cut++) {
      const lines = new WantedLines(new Set(['wanted']));
      lines.push(bytes.subarray(0, cut));
      lines.push(bytes.subarray(cut));
      expect(parsePrometheusText(lines.finish())).toEqual(expected);
    }
    const tooLong = new WantedLines(new Set(['wanted']), 16);
    expect(() => tooLong.push(Buffer.from('x'.repeat(40)))).toThrow(/longer than 16 characters/);
  });

  it('only parses wanted series when asked', () => {
    const samples = parsePrometheusText('wanted 1\nother{broken 2\n', new Set(['wanted']));
    expect(samples).toEqual([{ name: 'wanted', labels: {}, value: 1 }]);
  });
});

describe('vLLM metrics mapping', () => {
  it('maps queue, running, KV usage, cache config and the newest LoRA series', () => {
    const text = [
      'vllm:num_requests_waiting{model_name="m"} 7',
      'vllm:num_requests_running{model_name="m"} 3',
      'vllm:kv_cache_usage_perc{model_name="m"} 0.42',
      'vllm:cache_config_info{block_size="16",num_gpu_blocks="2048"} 1',
      'vllm:lora_requests_info{max_lora="4",running_lora_adapters="a,b",waiting_lora_adapters=""} 100',
      'vllm:lora_requests_info{max_lora="4",running_lora_adapters="c",waiting_lora_adapters="d"} 200',
    ].join('\n');
    expect(parseVllmMetrics(text, 1234)).toEqual({
      waitingRequests: 7,
      runningRequests: 3,
      kvCacheUsage: 0.42,
      kvCacheCapacityBlocks: 2048,
      kvBlockSize: 16,
      activeLoras: ['c'],
      waitingLoras: ['d'],
      maxLoras: 4,
      scrapedAtMs: 1234,
    });
  });

  it('accepts the pre-0.10 KV metric name and names missing series', () => {
    const legacy =
      'vllm:num_requests_waiting 0\nvllm:num_requests_running 1\nvllm:gpu_cache_usage_perc 0.5\n';
    expect(parseVllmMetrics(legacy, 0).kvCacheUsage).toBe(0.5);
    expect(() => parseVllmMetrics('vllm:num_requests_waiting 0\n', 0)).toThrow(MetricsExtractError);
    expect(() => parseVllmMetrics('vllm:num_requests_waiting 0\n', 0)).toThrow(
      'vLLM metrics missing: vllm:num_requests_running, vllm:kv_cache_usage_perc',
    );
  });
});

describe('static endpoints', () => {
  it('parses host:port lists, including IPv6', () => {
    expect(parseStaticEndpoints('127.0.0.1:8000, [::1]:8001').map((t) => t.key)).toEqual([
      '127.0.0.1:8000',
      '[::1]:8001',
    ]);
  });

  it('names the bad item', () => {
    expect(() => parseStaticEndpoints('127.0.0.1:8000,nohost')).toThrow(
      '--static-endpoints item 2 ("nohost"): expected host:port with a port in 1..65535',
    );
    expect(() => parseStaticEndpoints('a:1,a:1')).toThrow('item 2 ("a:1"): duplicate endpoint');
    expect(() => parseStaticEndpoints('a:70000')).toThrow('item 1');
  });
});

describe('metrics scraper against the simulator', () => {
  const sims: SimServer[] = [];
  let scraper: MetricsScraper | undefined;

  afterEach(async () => {
    await scraper?.stop();
    scraper = undefined;
    await Promise.all(sims.splice(0).map((s) => s.close().catch(() => undefined)));
  });

  it('scrapes real vLLM exposition, then reports staleness when a replica dies and drops removed targets', async () => {
    for (let i = 0; i < 2; i++) {
      sims.push(
        await startSimServer({ host: '127.0.0.1', port: 0, model: MODEL, profile: 'qwen2.5-0.5b-l4' }),
      );
    }
    const registry = new EndpointRegistry();
    registry.setTargets(parseStaticEndpoints(sims.map((s) => `127.0.0.1:${s.port}`).join(',')));
    let now = 1_000;
    const events: ScrapeEvent[] = [];
    scraper = new MetricsScraper({
      registry,
      intervalMs: 1_000_000, // driven by tick() below
      stalenessMs: 500,
      now: () => now,
      onEvent: (e) => events.push(e),
    });
    await scraper.tick();
    const [a, b] = registry.snapshot();
    expect(a?.metrics).toMatchObject({
      waitingRequests: 0,
      runningRequests: 0,
      kvCacheUsage: 0,
      kvCacheCapacityBlocks: 40000,
      kvBlockSize: 16,
      maxLoras: 0,
      scrapedAtMs: 1_000,
    });
    expect(b?.metrics?.scrapedAtMs).toBe(1_000);
    expect(scraper.staleEndpoints()).toEqual([]);

    // A long request keeps one replica busy; a scrape after its first engine step (vLLM publishes its gauges
    // at the end of each step) sees it running.
    const busy = fetch(`${defined(sims[0]).url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, prompt: 'x', max_tokens: 60 }),
    }).then((r) => r.arrayBuffer());
    now = 1_100;
    const busyKey = `127.0.0.1:${defined(sims[0]).port}`;
    await expect
      .poll(async () => {
        await scraper?.tick();
        return registry.metricsOf(busyKey)?.runningRequests;
      })
      .toBe(1);
    await busy;

    // The second replica crashes: its last values stay, with their old time, and it is reported stale.
    defined(sims[1]).crash();
    const deadKey = `127.0.0.1:${defined(sims[1]).port}`;
    now = 2_000;
    await scraper.tick();
    expect(registry.metricsOf(deadKey)?.scrapedAtMs).toBe(1_100);
    expect(scraper.staleEndpoints()).toEqual([deadKey]);
    expect(events.filter((e) => e.kind === 'stale').map((e) => e.key)).toEqual([deadKey]);
    expect(events.some((e) => e.kind === 'error' && e.key === deadKey)).toBe(true);
    expect(scraper.stats().errors).toBeGreaterThan(0);

    // Discovery removes it: its metrics and staleness go away with it.
    registry.setTargets(registry.targets().filter((t) => t.key !== deadKey));
    expect(scraper.staleEndpoints()).toEqual([]);
    expect(registry.metricsOf(deadKey)).toBeUndefined();
  });

  it('never piles up scrapes of a slow endpoint', async () => {
    sims.push(await startSimServer({ host: '127.0.0.1', port: 0, model: MODEL, profile: 'qwen2.5-0.5b-l4' }));
    const registry = new EndpointRegistry();
    registry.setTargets(parseStaticEndpoints(`127.0.0.1:${defined(sims[0]).port}`));
    scraper = new MetricsScraper({ registry, intervalMs: 1_000_000, stalenessMs: 500, now: Date.now });
    const first = scraper.tick();
    const second = scraper.tick(); // the first is still in flight: skipped
    await Promise.all([first, second]);
    expect(scraper.stats().scrapes).toBe(1);
  });
});
