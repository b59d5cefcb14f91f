// Identity-based priority (--identity-header, --identity-objectives): the objective a request may use comes
// from the caller's verified identity, which the gateway puts in a header; a caller may ask for less, never
// for more, and an unknown caller gets at most priority 0. Checked in the pure rule and end to end through
// both faces of a router on loopback, reading the priority the router recorded in its request metrics.
import type { Client } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseIdentityObjectives,
  requestPriority,
  type IdentityObjectives,
} from '../../../scheduler/lifecycle/identity-priority.ts';
import { parseRouterArgs } from '../../../scheduler/service/flags.ts';
import type { RunningRouter } from '../../../scheduler/service/router-app.ts';
import { connectExtProc, EnvoyStream } from '../extproc/envoy-client.ts';
import { startRouterOverSim } from './loopback-router.ts';

const PRIORITIES = new Map([
  ['premium', 100],
  ['normal', 0],
  ['batch', -10],
]);
const identity: IdentityObjectives = {
  header: 'x-gateway-identity-class',
  objectives: new Map([
    ['gold', 'premium'],
    ['free', 'batch'],
    ['retired', 'no-such-objective'],
  ]),
};
const priority = (objective: string | undefined, claim: string | undefined): number =>
  requestPriority(objective, claim, identity, (name) => PRIORITIES.get(name));

describe('requestPriority', () => {
  it('gives a verified caller its mapped objective, or a lower one it asks for', () => {
    expect(priority(undefined, 'gold')).toBe(100);
    expect(priority('batch', 'gold')).toBe(-10);
    expect(priority('normal', 'gold')).toBe(0);
    expect(priority(undefined, 'free')).toBe(-10);
    // A free caller cannot raise itself, even to normal.
    expect(priority('premium', 'free')).toBe(-10);
    expect(priority('normal', 'free')).toBe(-10);
  });

  it('caps an unknown, unmapped or absent identity at priority 0', () => {
    expect(priority('premium', undefined)).toBe(0);
    expect(priority('premium', 'platinum')).toBe(0);
    expect(priority('batch', undefined)).toBe(-10);
    // A mapping to an objective the pool does not have is worth what naming no objective is.
    expect(priority(undefined, 'retired')).toBe(0);
    expect(priority('no-such', 'gold')).toBe(100);
  });

  it('leaves priorities as the objective header says when identity-based priority is off', () => {
    expect(requestPriority('premium', 'free', undefined, (name) => PRIORITIES.get(name))).toBe(100);
    expect(requestPriority('unknown', undefined, undefined, (name) => PRIORITIES.get(name))).toBe(0);
  });
});

describe('the flags', () => {
  const parse = (flags: string[]) =>
    parseRouterArgs(['node', 'router', '--static-endpoints', '127.0.0.1:8000', ...flags], {});

  it('parse the claim map and lower-case the header', () => {
    const options = parse([
      '--identity-header',
      'X-Gateway-Identity-Class',
      '--identity-objectives',
      'gold=premium,free=batch',
    ]);
    expect(options.identity?.header).toBe('x-gateway-identity-class');
    expect([...(options.identity?.objectives ?? [])]).toEqual([
      ['gold', 'premium'],
      ['free', 'batch'],
    ]);
  });

  it('refuse half a configuration, a bad header name and a malformed or repeated pair', () => {
    expect(() => parse(['--identity-header', 'x-tier'])).toThrow('go together');
    expect(() => parse(['--identity-header', 'x tier', '--identity-objectives', 'a=b'])).toThrow(
      'expected a header name',
    );
    expect(() => parseIdentityObjectives('gold', '--identity-objectives')).toThrow(
      'expected claim=objective pairs such as gold=premium,free=batch, got "gold"',
    );
    expect(() => parseIdentityObjectives('gold=premium,gold=batch', '--identity-objectives')).toThrow(
      'mapped twice',
    );
  });
});

describe('a router with identity-based priority', () => {
  const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';
  let router: RunningRouter;
  let close: () => Promise<void>;
  let client: Client;

  beforeAll(async () => {
    ({ router, close } = await startRouterOverSim(MODEL, [
      '--identity-header',
      identity.header,
      '--identity-objectives',
      'gold=premium,free=batch',
    ]));
    // What discovery reads from the pool's InferenceObjectives.
    router.service.setObjectivePriorities(PRIORITIES);
    client = connectExtProc(router.ports.grpc);
  });

  afterAll(async () => {
    client.close();
    await close();
  });

  /** Requests the router recorded, by the priority label it gave them. */
  async function recordedPriorities(): Promise<Map<string, number>> {
    const text = await (await fetch(`http://127.0.0.1:${router.ports.metrics}/metrics`)).text();
    const counts = new Map<string, number>();
    for (const line of text.split('\n')) {
      const match = /^llm_d_epp_request_total\{[^}]*priority="(-?\d+)"[^}]*\} (\d+)/.exec(line);
      if (match !== null) counts.set(match[1] ?? '', (counts.get(match[1] ?? '') ?? 0) + Number(match[2]));
    }
    return counts;
  }

  const post = (headers: Record<string, string>): Promise<Response> =>
    fetch(`http://127.0.0.1:${router.ports.http}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: MODEL, prompt: 'hello', max_tokens: 2 }),
    });

  it('records each request at the priority its identity allows, on the HTTP face', async () => {
    const before = await recordedPriorities();
    const answers = await Promise.all([
      post({ [identity.header]: 'gold' }),
      post({ [identity.header]: 'gold', 'x-llm-d-inference-objective': 'batch' }),
      post({ [identity.header]: 'free', 'x-llm-d-inference-objective': 'premium' }),
      post({ 'x-llm-d-inference-objective': 'premium' }),
    ]);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      await answer.text();
    }
    const after = await recordedPriorities();
    const added = (label: string): number => (after.get(label) ?? 0) - (before.get(label) ?? 0);
    expect({ premium: added('100'), normal: added('0'), batch: added('-10') }).toEqual({
      premium: 1,
      normal: 1,
      batch: 2,
    });
  });

  it('does the same on the ext_proc face', async () => {
    const before = await recordedPriorities();
    const stream = new EnvoyStream(client);
    stream.requestHeaders(
      {
        ':path': '/v1/completions',
        ':method': 'POST',
        'content-type': 'application/json',
        [identity.header]: 'free',
        'x-gateway-inference-objective': 'premium',
      },
      false,
    );
    stream.requestBody(Buffer.from(JSON.stringify({ model: MODEL, prompt: 'hello', max_tokens: 2 })), true);
    const [routed] = await stream.waitFor(1);
    expect(routed?.immediateResponse ?? undefined).toBeUndefined();
    stream.cancel();
    const after = await recordedPriorities();
    expect((after.get('-10') ?? 0) - (before.get('-10') ?? 0)).toBe(1);
  });
});
