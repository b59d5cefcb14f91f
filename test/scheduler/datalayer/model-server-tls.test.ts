// Model servers over HTTPS (vLLM --ssl-certfile/--ssl-keyfile), on loopback with real certificates: the metrics
// scraper and the vllm tokenizer verify the simulator's certificate against a CA bundle, for a server name or
// for the endpoint's IP, refuse certificates of another CA or for another name, and pick up a rotated bundle.
import { copyFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { estimatePromptTokens, type Endpoint } from '../../../scheduler/core/index.ts';
import { EndpointRegistry } from '../../../scheduler/datalayer/endpoint-registry.ts';
import { MetricsScraper, type ScrapeEvent } from '../../../scheduler/datalayer/metrics-scraper.ts';
import {
  modelServerTransport,
  parseCaBundle,
  type ModelServerTlsSettings,
  type ModelServerTransport,
} from '../../../scheduler/datalayer/model-server-transport.ts';
import { parseStaticEndpoints } from '../../../scheduler/datalayer/static-endpoints.ts';
import { VllmTokenizer, type TokenizeFallbackReason } from '../../../scheduler/datalayer/vllm-tokenizer.ts';
import { parseRequestBody } from '../../../scheduler/extproc/request-body.ts';
import { startSimServer, type SimServer } from '../../../scheduler/sim/server.ts';
import { createTestPki, hasOpenssl, type Leaf, type TestPki } from '../test-pki.ts';

const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';
const SERVICE_NAME = 'my-model-vllm.ns.svc';

describe.skipIf(!hasOpenssl())('model servers over HTTPS', () => {
  let pki: TestPki;
  let clusterCa: string;
  let otherCa: string;
  /** Certificate for the Service name only, from the cluster CA. */
  let named: SimServer;
  /** Certificate for 127.0.0.1 only, from the cluster CA. */
  let byIp: SimServer;
  /** Certificate for the Service name from another CA. */
  let impostor: SimServer;
  const closers: { close(): unknown }[] = [];

  const sim = (pair: Leaf): Promise<SimServer> =>
    startSimServer({
      host: '127.0.0.1',
      port: 0,
      model: MODEL,
      profile: 'qwen2.5-0.5b-l4',
      tls: { certFile: pair.certFile, keyFile: pair.keyFile },
    });

  beforeAll(async () => {
    pki = createTestPki('model-server-tls-');
    clusterCa = pki.ca('cluster-ca');
    otherCa = pki.ca('other-ca');
    named = await sim(pki.server('vllm', 'cluster-ca', [`DNS:${SERVICE_NAME}`]));
    byIp = await sim(pki.server('vllm-ip', 'cluster-ca', ['IP:127.0.0.1']));
    impostor = await sim(pki.server('impostor', 'other-ca', [`DNS:${SERVICE_NAME}`]));
  });

  afterEach(async () => {
    for (const closer of closers.splice(0).reverse()) await closer.close();
  });

  afterAll(async () => {
    await Promise.all([named, byIp, impostor].map((s) => s.close()));
    pki.cleanup();
  });

  const verified = (settings: Partial<ModelServerTlsSettings>): ModelServerTransport => {
    const transport = modelServerTransport('https', {
      caFile: clusterCa,
      serverName: SERVICE_NAME,
      insecureSkipVerify: false,
      ...settings,
    });
    closers.push(transport);
    return transport;
  };

  /** One scrape of each simulator through `transport`. */
  async function scrape(transport: ModelServerTransport, ...sims: SimServer[]) {
    const registry = new EndpointRegistry();
    registry.setTargets(parseStaticEndpoints(sims.map((s) => `127.0.0.1:${String(s.port)}`).join(',')));
    const events: ScrapeEvent[] = [];
    const scraper = new MetricsScraper({
      registry,
      intervalMs: 1_000_000, // driven by tick()
      stalenessMs: 500,
      now: Date.now,
      transport,
      onEvent: (event) => events.push(event),
    });
    closers.push({ close: () => scraper.stop() });
    await scraper.tick();
    const metricsOf = (s: SimServer) => registry.metricsOf(`127.0.0.1:${String(s.port)}`);
    return { scraper, registry, events, metricsOf };
  }

  it('scrapes a simulator serving HTTPS, its certificate verified for the server name', async () => {
    expect(named.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const { metricsOf, events, scraper } = await scrape(verified({}), named);
    expect(events).toEqual([]);
    expect(metricsOf(named)).toMatchObject({ waitingRequests: 0, kvCacheCapacityBlocks: 40_000 });
    expect(scraper.staleEndpoints()).toEqual([]);
  });

  it("without a server name, verifies the endpoint's IP", async () => {
    const { metricsOf, events } = await scrape(verified({ serverName: undefined }), byIp, named);
    expect(metricsOf(byIp)?.kvBlockSize).toBe(16);
    expect(metricsOf(named)).toBeUndefined();
    expect(events).toEqual([
      expect.objectContaining({
        kind: 'error',
        tls: true,
        refused: false,
        message: expect.stringMatching(/IP/),
      }),
    ]);
  });

  it('refuses a certificate of another CA: the scrape fails, the endpoint is stale, the others are scraped', async () => {
    const { metricsOf, events, scraper } = await scrape(verified({}), impostor, named);
    expect(metricsOf(impostor)).toBeUndefined();
    expect(metricsOf(named)).toBeDefined();
    const key = `127.0.0.1:${String(impostor.port)}`;
    expect(events).toEqual([expect.objectContaining({ kind: 'error', key, tls: true, refused: false })]);
    expect(scraper.staleEndpoints()).toEqual([key]);
    await scraper.tick();
    expect(scraper.stats()).toEqual({ scrapes: 4, errors: 2 });
  });

  it('refuses a certificate for another name', async () => {
    const { metricsOf, events } = await scrape(verified({ serverName: 'other-model-vllm.ns.svc' }), named);
    expect(metricsOf(named)).toBeUndefined();
    expect(events).toEqual([
      expect.objectContaining({ tls: true, message: expect.stringContaining('other-model-vllm.ns.svc') }),
    ]);
  });

  it('accepts any certificate with insecureSkipVerify', async () => {
    const transport = verified({ caFile: undefined, serverName: undefined, insecureSkipVerify: true });
    const { metricsOf, events } = await scrape(transport, impostor, named);
    expect(events).toEqual([]);
    expect(metricsOf(impostor)).toBeDefined();
  });

  it('picks up a rotated CA bundle for new connections, and keeps the last good one over a broken file', async () => {
    const caFile = join(pki.dir, 'mounted-ca.crt');
    copyFileSync(otherCa, caFile);
    const reloads: number[] = [];
    const errors: string[] = [];
    const transport = modelServerTransport(
      'https',
      { caFile, serverName: SERVICE_NAME, insecureSkipVerify: false },
      {
        reloadIntervalMs: 50,
        onReload: (_file, certificates) => reloads.push(certificates),
        onReloadError: (err) => errors.push(err.message),
      },
    );
    closers.push(transport);
    const { metricsOf, scraper } = await scrape(transport, named);
    expect(metricsOf(named)).toBeUndefined();

    // Replaced in one rename, as kubelet swaps a Secret's files.
    copyFileSync(clusterCa, `${caFile}.new`);
    renameSync(`${caFile}.new`, caFile);
    await expect
      .poll(async () => {
        await scraper.tick();
        return metricsOf(named) !== undefined;
      })
      .toBe(true);
    expect(reloads).toEqual([1]);

    writeFileSync(caFile, 'not a certificate\n');
    await expect.poll(() => errors).toEqual([expect.stringContaining('no PEM certificate')]);
    await new Promise((resolve) => setTimeout(resolve, 200)); // four polls: reported once
    expect(errors).toHaveLength(1);
    const fresh = await scrape(transport, named);
    expect(fresh.metricsOf(named)).toBeDefined();
  });

  it('tokenizes through /tokenize over HTTPS, and falls back when the certificate is refused', async () => {
    const endpoint = (s: SimServer): Endpoint => ({
      key: `127.0.0.1:${String(s.port)}`,
      address: '127.0.0.1',
      port: s.port,
      labels: {},
      metrics: undefined,
    });
    const fallbacks: TokenizeFallbackReason[] = [];
    const tokenizer = (s: SimServer): VllmTokenizer => {
      const t = new VllmTokenizer({
        endpoints: () => [endpoint(s)],
        timeoutMs: 2_000,
        onFallback: (reason) => fallbacks.push(reason),
        transport: verified({}),
      });
      closers.push(t);
      return t;
    };
    const prompt = parseRequestBody(Buffer.from(JSON.stringify({ model: MODEL, prompt: 'hello there' })));
    expect(await tokenizer(named).tokenize(prompt, MODEL)).toEqual(estimatePromptTokens('hello there'));
    expect(await tokenizer(impostor).tokenize(prompt, MODEL)).toBeUndefined();
    expect(fallbacks).toEqual(['error']);
  });

  it('names the file of a CA bundle that is missing or does not parse', () => {
    const missing = join(pki.dir, 'missing.crt');
    expect(() => verified({ caFile: missing })).toThrow(`${missing}: cannot read it`);
    expect(() => parseCaBundle('hello\n', 'ca.crt')).toThrow('ca.crt: no PEM certificate');
    const broken = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    expect(() => parseCaBundle(broken, 'ca.crt')).toThrow('ca.crt: certificate 1 of 1 does not parse');
  });
});
