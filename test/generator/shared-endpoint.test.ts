// One OpenAI endpoint for every model of prod, end to end on loopback: the body-based router (the real router
// binary's mode, given the catalog the generator wrote into the gateway chart's ConfigMap) answers the
// gateway's ext_proc call, the generated HTTPRoutes of every model and of the gateway are matched as Gateway API
// says, and the request goes to the chosen pool's router (HTTP face, with the pool's generated alias rewrites)
// in front of a simulated vLLM serving that model. The canary model (llama-8b) and the version split
// (llama-70b) are both reached through it; the per-model paths keep working.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBodyRouter } from '../../scheduler/bbr/body-router-app.ts';
import { rewriteRules } from '../../scheduler/datalayer/objectives.ts';
import type { RunningRouter } from '../../scheduler/service/router-app.ts';
import { startLoopbackBodyRouter, startLoopbackRouter } from '../scheduler/service/loopback-router.ts';
import { startSimServer, type SimServer } from '../../scheduler/sim/server.ts';
import { connectExtProc, EnvoyStream, mutatedHeader } from '../scheduler/extproc/envoy-client.ts';
import { decide, type HttpRoute } from './gateway-routing.ts';
import { repoRoot } from './helpers.ts';
import { renderedApplication, type KubeObject } from './platform/platform-helpers.ts';

const rendered = (name: string): KubeObject[] => renderedApplication(repoRoot, 'prod', name);
const gatewayObjects = rendered('prod-platform-gateway');
const modelObjects = new Map(
  ['llama-70b', 'llama-8b', 'qwen-basic'].map((model) => [model, rendered(`prod-${model}`)] as const),
);
const allObjects = [...gatewayObjects, ...[...modelObjects.values()].flat()];
const routes = allObjects.filter((o) => o.kind === 'HTTPRoute') as HttpRoute[];
const catalogText = (
  gatewayObjects.find(
    (o) => o.kind === 'ConfigMap' && o.metadata.name === 'inference-gateway-body-router',
  ) as (KubeObject & { data: Record<string, string> }) | undefined
)?.data['models.yaml'];

/** The served name a model answers to: the header value its route's shared-endpoint rule matches. */
function servedNameOf(objects: readonly KubeObject[]): string {
  const route = objects.find(
    (o) => o.kind === 'HTTPRoute' && !o.metadata.name.endsWith('-pinned'),
  ) as HttpRoute;
  const header = route.spec.rules
    .flatMap((rule) => rule.matches)
    .flatMap((match) => match.headers ?? [])
    .find((h) => h.name === 'x-gateway-model-name');
  return header?.value ?? '';
}

interface Pool {
  readonly model: string;
  readonly servedName: string;
  readonly sim: SimServer;
  readonly router: RunningRouter;
}

const pools = new Map<string, Pool>();
let bodyRouter: RunningBodyRouter;
let client: Client;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-shared-'));
  const catalogFile = join(dir, 'models.yaml');
  writeFileSync(catalogFile, catalogText ?? '');
  bodyRouter = await startLoopbackBodyRouter(catalogFile);
  client = connectExtProc(bodyRouter.ports.grpc);
  for (const [model, objects] of modelObjects) {
    const servedName = servedNameOf(objects);
    for (const pool of objects.filter((o) => o.kind === 'InferencePool')) {
      const sim = await startSimServer({
        host: '127.0.0.1',
        port: 0,
        model: servedName,
        profile: 'qwen2.5-0.5b-l4',
        servedModelNames: [servedName],
        seed: 3,
      });
      const router = await startLoopbackRouter(['--static-endpoints', `127.0.0.1:${sim.port}`]);
      // What the pool's router reads from the cluster: the InferenceModelRewrites of its pool.
      router.service.setRewriteRules(rewriteRules(objects, pool.metadata.name));
      pools.set(pool.metadata.name, { model, servedName, sim, router });
    }
  }
}, 60_000);

afterAll(async () => {
  client.close();
  await bodyRouter.shutdown(100);
  for (const pool of pools.values()) {
    await pool.router.shutdown(100);
    await pool.sim.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

interface GatewayAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  /** The pool that served it, and every pool's share of such requests. */
  readonly pool?: string;
  readonly shares?: Record<string, number>;
}

/**
 * What the gateway does with a POST: the body-based router first (an immediate response ends it there), then
 * the HTTPRoutes with the header it set, then the pool with the largest share, through that pool's router.
 */
async function viaGateway(
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<GatewayAnswer> {
  const text = JSON.stringify(body);
  const stream = new EnvoyStream(client);
  stream.requestHeaders({ ':path': path, ':method': 'POST', ...headers }, false);
  stream.requestBody(Buffer.from(text), true);
  const [first] = await stream.waitFor(1);
  stream.end();
  const immediate = first?.immediateResponse;
  if (immediate != null) {
    return {
      status: immediate.status?.code ?? 0,
      body: JSON.parse(Buffer.from(immediate.body ?? []).toString()),
    };
  }
  const model = mutatedHeader(first, 'x-gateway-model-name');
  const decision = decide(routes, path, {
    ...headers,
    ...(model === undefined ? {} : { 'x-gateway-model-name': model }),
  });
  if (decision === undefined) return { status: 404, body: {} };
  const [pool] = Object.entries(decision.shares).sort((a, b) => b[1] - a[1])[0] ?? [];
  const target = pools.get(pool ?? '');
  if (target === undefined) throw new Error(`no pool ${String(pool)} for ${path}`);
  const response = await fetch(`http://127.0.0.1:${target.router.ports.http}${decision.backendPath}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: text,
  });
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    pool: pool ?? '',
    shares: decision.shares,
  };
}

const chat = (model: string): Record<string, unknown> => ({
  model,
  messages: [{ role: 'user', content: 'Say hello.' }],
  max_tokens: 4,
});

describe("prod's shared OpenAI endpoint", () => {
  it('serves every model by its served name and by its aliases, each from its own pool', async () => {
    const expected: [string, string, string][] = [
      ['Qwen/Qwen2.5-0.5B-Instruct', 'qwen-basic', 'qwen-basic'],
      ['qwen', 'qwen-basic', 'qwen-basic'],
      ['meta-llama/Llama-3.1-8B-Instruct', 'llama-8b', 'llama-8b-stable'],
      ['llama-3.1-8b', 'llama-8b', 'llama-8b-stable'],
      ['meta-llama/Llama-3.3-70B-Instruct', 'llama-70b', 'llama-70b-bf16'],
      ['llama-3.3-70b', 'llama-70b', 'llama-70b-bf16'],
    ];
    for (const [name, model, pool] of expected) {
      const answer = await viaGateway('/v1/chat/completions', chat(name));
      expect(answer.status, name).toBe(200);
      expect(answer.pool, name).toBe(pool);
      expect(pools.get(answer.pool ?? '')?.model).toBe(model);
      // The client sees the name it asked for, alias or not.
      expect(answer.body['model'], name).toBe(name);
    }
  });

  it("splits the canary's and the version split's traffic as their routes say, and honours pinning", async () => {
    const canary = await viaGateway('/v1/chat/completions', chat('llama-3.1-8b'));
    expect(canary.shares).toEqual({ 'llama-8b-stable': 1, 'llama-8b-canary': 0 });
    const split = await viaGateway('/v1/chat/completions', chat('llama-3.3-70b'));
    expect(split.shares).toEqual({ 'llama-70b-bf16': 0.9, 'llama-70b-fp8': 0.1 });
    const pinned = await viaGateway('/v1/chat/completions', chat('llama-3.3-70b'), {
      'x-model-version': 'fp8',
    });
    expect(pinned.pool).toBe('llama-70b-fp8');
    expect(pinned.status).toBe(200);
  });

  it('answers a model no one serves with 404 and a body without a model with 400, before any route', async () => {
    const unknown = await viaGateway('/v1/chat/completions', chat('gpt-4o'));
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'model_not_found' } } });
    const missing = await viaGateway('/v1/completions', { prompt: 'hi' });
    expect(missing).toMatchObject({ status: 400, body: { error: { code: 'model_missing' } } });
  });

  it('keeps each model reachable on its own path', async () => {
    const answer = await viaGateway('/llm/qwen-basic/v1/chat/completions', chat('qwen'));
    expect(answer).toMatchObject({ status: 200, pool: 'qwen-basic' });
  });

  it('lists every model and alias of the environment on GET /v1/models, through the gateway route', async () => {
    const decision = decide(routes, '/v1/models', {}, 'GET');
    expect(decision?.rule.backendRefs).toEqual([
      { group: '', kind: 'Service', name: 'inference-gateway-body-router', port: 8080, weight: 1 },
    ]);
    const list = (await (await fetch(`http://127.0.0.1:${bodyRouter.ports.http}/v1/models`)).json()) as {
      data: { id: string }[];
    };
    const names = [...modelObjects.values()].flatMap((objects) => [
      servedNameOf(objects),
      ...(
        objects.filter((o) => o.kind === 'InferenceModelRewrite') as (KubeObject & {
          spec: { rules: { matches: { model: { value: string } }[] }[] };
        })[]
      ).flatMap((rewrite) => rewrite.spec.rules.flatMap((rule) => rule.matches.map((m) => m.model.value))),
    ]);
    expect(list.data.map((entry) => entry.id).sort()).toEqual([...new Set(names)].sort());
  });
});
