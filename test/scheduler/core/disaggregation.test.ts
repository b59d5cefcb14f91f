/* eslint-disable @typescript-eslint/no-non-null-assertion -- fixtures index arrays whose length the test fixes */
// Prefill/decode disaggregation: llm-d's disagg-profile-handler (decode profile first, then the decider, then
// the prefill profile), its deciders, its accounting, and its configuration errors.
import { describe, expect, it } from 'vitest';
import {
  createScheduler,
  parseSchedulerConfig,
  PluginConfigError,
  POLICY_NAMES,
  policyPresets,
} from '../../../scheduler/core/index.ts';
import type { Endpoint, PickResult, Scheduler, SchedulerConfig } from '../../../scheduler/core/index.ts';
import { configProblems, endpoint, fakeDeps, request, tokens } from './helpers.ts';

const ROLE = 'llm-d.ai/role';
const decode1 = endpoint(1, {}, { [ROLE]: 'decode' });
const decode2 = endpoint(2, {}, { [ROLE]: 'decode' });
const prefill1 = endpoint(3, {}, { [ROLE]: 'prefill' });
const prefill2 = endpoint(4, {}, { [ROLE]: 'prefill' });
const POOL = [decode1, decode2, prefill1, prefill2];

const scoring = `[{pluginRef: queue-scorer, weight: 1}, {pluginRef: kv-cache-utilization-scorer, weight: 1}, {pluginRef: prefix-cache-scorer, weight: 5}, {pluginRef: max-score-picker}]`;

/** llm-d's P/D example config, with the decider and handler lines replaceable. */
function pdYaml(
  options: {
    decider?: string;
    handler?: string;
    profiles?: string;
  } = {},
): string {
  return `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
${
  options.handler ??
  `- type: disagg-profile-handler
  parameters:
    deciders:
      prefill: prefix-based-pd-decider`
}
${options.decider ?? '- type: prefix-based-pd-decider\n  parameters: {nonCachedTokens: 16}'}
- type: always-disagg-pd-decider
- type: prefill-filter
- type: decode-filter
- type: queue-scorer
- type: kv-cache-utilization-scorer
- type: prefix-cache-scorer
- type: approx-prefix-cache-producer
  parameters: {blockSizeTokens: 64, autoTune: false, lruCapacityPerServer: 31250}
- type: max-score-picker
schedulingProfiles:
${
  options.profiles ??
  `- name: prefill
  plugins: [{pluginRef: prefill-filter}, ${scoring.slice(1, -1)}]
- name: decode
  plugins: [{pluginRef: decode-filter}, ${scoring.slice(1, -1)}]`
}
`;
}

function pdScheduler(options: Parameters<typeof pdYaml>[0] = {}): Scheduler {
  return createScheduler(parseSchedulerConfig(pdYaml(options), 'pd.yaml'), fakeDeps());
}

function picked(result: PickResult): PickResult & { kind: 'picked' } {
  if (result.kind !== 'picked') throw new Error(`expected a pick, got ${result.status} ${result.reason}`);
  return result;
}

function pickPrompt(scheduler: Scheduler, length: number, endpoints: readonly Endpoint[] = POOL) {
  return picked(scheduler.pick(request({ promptTokens: tokens(length) }), endpoints));
}

function accountingOf(scheduler: Scheduler, e: Endpoint) {
  return scheduler.accounting().find((a) => a.key === e.key);
}

const decodeKeys = [decode1.key, decode2.key];
const prefillKeys = [prefill1.key, prefill2.key];

describe('disagg-profile-handler with prefix-based-pd-decider', () => {
  it('disaggregates from nonCachedTokens uncached prompt tokens on, not one token earlier', () => {
    const scheduler = pdScheduler();
    const short = pickPrompt(scheduler, 15);
    expect(decodeKeys).toContain(short.endpoints[0]!.key);
    expect(short.prefill).toBeUndefined();
    expect(short.disaggregation).toBe('decode-only');

    const long = pickPrompt(scheduler, 16);
    expect(decodeKeys).toContain(long.endpoints[0]!.key);
    expect(prefillKeys).toContain(long.prefill?.key);
    expect(long.disaggregation).toBe('prefill-decode');
    // The primary and its fallbacks and scores come from the decode profile alone.
    expect([...long.scores.keys()].sort()).toEqual([...decodeKeys].sort());
  });

  it('never disaggregates prompts shorter than promptTokens', () => {
    const scheduler = pdScheduler({
      decider: '- type: prefix-based-pd-decider\n  parameters: {nonCachedTokens: 16, promptTokens: 100}',
    });
    expect(pickPrompt(scheduler, 99).disaggregation).toBe('decode-only');
    expect(pickPrompt(scheduler, 100).disaggregation).toBe('prefill-decode');
  });

  it('never disaggregates with nonCachedTokens 0, its default', () => {
    const scheduler = pdScheduler({ decider: '- type: prefix-based-pd-decider' });
    const result = pickPrompt(scheduler, 50_000);
    expect(result.disaggregation).toBe('decode-only');
    expect(result.prefill).toBeUndefined();
  });

  it('serves decode-only when the prefix is cached on the decode pod, and splits when 16 tokens are new', () => {
    const scheduler = pdScheduler();
    const first = pickPrompt(scheduler, 640);
    expect(first.disaggregation).toBe('prefill-decode');
    const home = first.endpoints[0]!.key;
    // Its 10 blocks of 64 tokens are indexed on the decode pod at the pick, and the prefix scorer (weight 5)
    // prefers that pod.
    const cachedPlus15 = pickPrompt(scheduler, 655);
    expect(cachedPlus15.endpoints[0]!.key).toBe(home);
    expect(cachedPlus15.disaggregation).toBe('decode-only');
    const cachedPlus16 = pickPrompt(scheduler, 656);
    expect(cachedPlus16.endpoints[0]!.key).toBe(home);
    expect(cachedPlus16.disaggregation).toBe('prefill-decode');
  });

  it('serves decode-only when no prefill pod is ready, and rejects as before when no decode pod is', () => {
    const scheduler = pdScheduler();
    const alone = pickPrompt(scheduler, 5_000, [decode1, decode2]);
    expect(alone.prefill).toBeUndefined();
    expect(alone.disaggregation).toBe('decode-only');
    const outsideSubset = picked(
      scheduler.pick(request({ promptTokens: tokens(5_000, 9), subset: [decode2.key] }), POOL),
    );
    expect(outsideSubset.endpoints.map((e) => e.key)).toEqual([decode2.key]);
    expect(outsideSubset.prefill).toBeUndefined();
    expect(scheduler.pick(request({ promptTokens: tokens(5_000) }), [prefill1, prefill2])).toEqual({
      kind: 'rejected',
      status: 503,
      reason: 'rejected-no-endpoints',
    });
  });

  it('does not split a request between the two roles of one pod', () => {
    const both = endpoint(7, {}, { [ROLE]: 'both' });
    const result = pickPrompt(pdScheduler(), 5_000, [both]);
    expect(result.endpoints[0]).toBe(both);
    expect(result.prefill).toBeUndefined();
    expect(result.disaggregation).toBe('decode-only');
  });

  it('counts the prompt on the prefill endpoint and none of it on the decode endpoint, and releases both', () => {
    const scheduler = pdScheduler();
    const result = picked(scheduler.pick(request({ id: 'pd-1', promptTokens: tokens(1000) }), POOL));
    const decode = result.endpoints[0]!;
    const prefill = result.prefill!;
    expect(accountingOf(scheduler, decode)).toMatchObject({ inFlightRequests: 1, inFlightUncachedTokens: 0 });
    expect(accountingOf(scheduler, prefill)).toMatchObject({
      inFlightRequests: 1,
      inFlightUncachedTokens: 1000,
    });
    // Both hold the prompt's 15 full blocks of 64 tokens afterwards.
    expect(accountingOf(scheduler, decode)?.indexedBlocks).toBe(15);
    expect(accountingOf(scheduler, prefill)?.indexedBlocks).toBe(15);
    scheduler.complete('pd-1', { ok: true, cachedTokens: 0 });
    scheduler.complete('pd-1', { ok: true, cachedTokens: 0 }); // twice: harmless
    for (const a of scheduler.accounting()) {
      expect(a.inFlightRequests).toBe(0);
      expect(a.inFlightUncachedTokens).toBe(0);
    }
    expect(accountingOf(scheduler, prefill)?.indexedBlocks).toBe(15);
  });

  it('charges the prefill endpoint only the part of the prompt outside its own cached prefix', () => {
    const scheduler = pdScheduler();
    const first = picked(scheduler.pick(request({ id: 'a', promptTokens: tokens(1000) }), POOL));
    scheduler.complete('a', { ok: true });
    // The first decode pod is gone: the other one holds nothing, the first prefill pod 15 blocks (960 tokens).
    const otherDecode = first.endpoints[0] === decode1 ? decode2 : decode1;
    const second = picked(
      scheduler.pick(request({ id: 'b', promptTokens: tokens(1100) }), [otherDecode, prefill1, prefill2]),
    );
    expect(second.endpoints[0]).toBe(otherDecode);
    expect(second.prefill).toBe(first.prefill);
    expect(accountingOf(scheduler, first.prefill!)?.inFlightUncachedTokens).toBe(1100 - 960);
    expect(accountingOf(scheduler, otherDecode)?.inFlightUncachedTokens).toBe(0);
  });

  describe('with one prefill-load-scorer shared by both profiles', () => {
    const yaml = `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: disagg-profile-handler
  parameters: {deciders: {prefill: prefix-based-pd-decider}}
- type: prefix-based-pd-decider
  parameters: {nonCachedTokens: 16}
- type: prefill-filter
- type: decode-filter
- type: prefill-load-scorer
  parameters: {prefillTokensPerSecond: 10000, awaitingFirstTokenWeight: 1, decodeTokenCost: 0, smoothingTokens: 1}
- type: approx-prefix-cache-producer
  parameters: {blockSizeTokens: 64, autoTune: false, lruCapacityPerServer: 31250}
- type: max-score-picker
schedulingProfiles:
- name: prefill
  plugins: [{pluginRef: prefill-filter}, {pluginRef: prefill-load-scorer}, {pluginRef: max-score-picker}]
- name: decode
  plugins: [{pluginRef: decode-filter}, {pluginRef: prefill-load-scorer}, {pluginRef: max-score-picker}]
`;
    /** A 20,000-token prompt disaggregated at t = 0 (2 s of prefill at 10,000 tokens/s), then `laterMs` pass. */
    const setup = (laterMs: number) => {
      const deps = fakeDeps();
      const scheduler = createScheduler(parseSchedulerConfig(yaml, 'pd.yaml'), deps);
      const first = picked(scheduler.pick(request({ id: 'long', promptTokens: tokens(20_000) }), POOL));
      deps.advance(laterMs);
      const prefillOf = (promptTokens: number, subset?: string[]) =>
        picked(
          scheduler.pick(
            request({
              promptTokens: tokens(promptTokens, 100_000 + promptTokens),
              ...(subset ? { subset } : {}),
            }),
            POOL,
          ),
        );
      const other = first.prefill === prefill1 ? prefill2 : prefill1;
      // 2,000 tokens on the other prefill endpoint, still awaiting their first token: whichever of the two
      // prefill endpoints the scorer believes emptier takes the next prompt.
      prefillOf(2000, [decode1.key, decode2.key, other.key]);
      return { scheduler, first, other, next: () => prefillOf(1000).prefill };
    };

    it('charges the prefill endpoint, not the decode endpoint that receives the KV cache', () => {
      const { first, other, next } = setup(3000);
      expect(first.disaggregation).toBe('prefill-decode');
      // The bucket has drained, but the first token has not come back.
      expect(next()).toBe(other);
    });

    it('clears the awaited prefill when the first token comes back from the decode endpoint', () => {
      const { scheduler, first, next } = setup(3000);
      scheduler.firstToken('long');
      expect(next()).toBe(first.prefill);
    });

    it('refunds the prefill endpoint when the request fails', () => {
      const { scheduler, first, next } = setup(500); // 1.5 s of its prefill left in the bucket
      scheduler.complete('long', { ok: false });
      expect(next()).toBe(first.prefill);
    });

    it('leaves the decode endpoint of a disaggregated request uncharged', () => {
      const deps = fakeDeps();
      const scheduler = createScheduler(parseSchedulerConfig(yaml, 'pd.yaml'), deps);
      const first = picked(scheduler.pick(request({ id: 'long', promptTokens: tokens(20_000) }), POOL));
      const second = picked(scheduler.pick(request({ promptTokens: tokens(1000, 100_000) }), POOL));
      expect(second.scores.get(first.endpoints[0]!.key)).toBe(1);
    });
  });

  it('forgets the blocks on both endpoints when the request fails without cached tokens', () => {
    const scheduler = pdScheduler();
    const result = picked(scheduler.pick(request({ id: 'fails', promptTokens: tokens(1000) }), POOL));
    scheduler.complete('fails', { ok: false });
    expect(accountingOf(scheduler, result.endpoints[0]!)?.indexedBlocks).toBe(0);
    expect(accountingOf(scheduler, result.prefill!)?.indexedBlocks).toBe(0);
    for (const a of scheduler.accounting()) expect(a.inFlightRequests).toBe(0);
  });
});

describe('other disagg-profile-handler set-ups', () => {
  it('always-disagg-pd-decider disaggregates even a one-token prompt', () => {
    const scheduler = pdScheduler({
      handler:
        '- type: disagg-profile-handler\n  parameters: {deciders: {prefill: always-disagg-pd-decider}}',
    });
    const result = pickPrompt(scheduler, 1);
    expect(result.disaggregation).toBe('prefill-decode');
    expect(prefillKeys).toContain(result.prefill?.key);
  });

  it('without a decider, or without a prefill profile, every request is decode-only', () => {
    const noDecider = pdScheduler({ handler: '- type: disagg-profile-handler' });
    expect(pickPrompt(noDecider, 5_000).disaggregation).toBe('decode-only');
    const noPrefillProfile = pdScheduler({
      profiles: `- name: decode\n  plugins: [{pluginRef: decode-filter}, ${scoring.slice(1, -1)}]`,
    });
    const result = pickPrompt(noPrefillProfile, 5_000);
    expect(result.disaggregation).toBe('decode-only');
    expect(decodeKeys).toContain(result.endpoints[0]!.key);
  });

  it('reads other profile names from the profiles parameter', () => {
    const scheduler = pdScheduler({
      handler:
        '- type: disagg-profile-handler\n  parameters: {deciders: {prefill: prefix-based-pd-decider}, profiles: {decode: d, prefill: p}}',
      profiles: `- name: p\n  plugins: [{pluginRef: prefill-filter}]\n- name: d\n  plugins: [{pluginRef: decode-filter}]`,
    });
    const result = pickPrompt(scheduler, 5_000);
    expect(decodeKeys).toContain(result.endpoints[0]!.key);
    expect(prefillKeys).toContain(result.prefill?.key);
  });

  it('keeps a session on its decode endpoint when both profiles share one session-affinity-scorer', () => {
    const scheduler = createScheduler(
      parseSchedulerConfig(
        `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- {type: disagg-profile-handler, parameters: {deciders: {prefill: always-disagg-pd-decider}}}
- {type: always-disagg-pd-decider}
- {type: prefill-filter}
- {type: decode-filter}
- {type: session-affinity-scorer}
schedulingProfiles:
- {name: decode, plugins: [{pluginRef: decode-filter}, {pluginRef: session-affinity-scorer}]}
- {name: prefill, plugins: [{pluginRef: prefill-filter}, {pluginRef: session-affinity-scorer}]}
`,
        'session.yaml',
      ),
      fakeDeps(),
    );
    const first = picked(scheduler.pick(request({ sessionId: 's' }), POOL));
    expect(first.disaggregation).toBe('prefill-decode');
    for (let i = 0; i < 12; i++) {
      expect(picked(scheduler.pick(request({ sessionId: 's' }), POOL)).endpoints[0]).toBe(first.endpoints[0]);
    }
  });

  it('leaves single-profile configs as they were: no prefill, no disaggregation field', () => {
    for (const name of POLICY_NAMES) {
      const scheduler = createScheduler(policyPresets[name], fakeDeps());
      const result = scheduler.pick(request({ promptTokens: tokens(5_000) }), POOL);
      expect(Object.keys(result).sort()).toEqual(['endpoints', 'kind', 'scores']);
    }
    const single = parseSchedulerConfig(
      pdYaml({
        handler: '- type: single-profile-handler',
        profiles: `- name: default\n  plugins: ${scoring}`,
      }),
      'single.yaml',
    );
    const result = createScheduler(single, fakeDeps()).pick(request({ promptTokens: tokens(5_000) }), POOL);
    expect(Object.keys(result).sort()).toEqual(['endpoints', 'kind', 'scores']);
  });
});

const problemsOf = (text: string): string[] => configProblems(text, 'pd.yaml');

describe('disaggregation config errors', () => {
  it('keeps refusing two profiles without a disagg-profile-handler', () => {
    expect(problemsOf(pdYaml({ handler: '- type: single-profile-handler' }))).toEqual([
      'pd.yaml:17:1: schedulingProfiles must hold exactly one profile (got 2) unless plugins has a ' +
        'disagg-profile-handler, which runs a decode and a prefill profile',
    ]);
  });

  it('needs the decode profile', () => {
    expect(
      problemsOf(pdYaml({ profiles: `- name: prefill\n  plugins: [{pluginRef: prefill-filter}]` })),
    ).toEqual([
      'pd.yaml:20:1: /schedulingProfiles: disagg-profile-handler "disagg-profile-handler" needs a ' +
        'scheduling profile named "decode" (its decode profile); got "prefill"',
    ]);
  });

  it('names the position of a decider that is not declared, or not a decider', () => {
    const handler = (name: string): string =>
      `- type: disagg-profile-handler\n  parameters:\n    deciders:\n      prefill: ${name}`;
    expect(problemsOf(pdYaml({ handler: handler('pd-decider') }))).toEqual([
      'pd.yaml:7:16: /plugins/0/parameters/deciders/prefill: "pd-decider" names no plugin in plugins',
    ]);
    expect(problemsOf(pdYaml({ handler: handler('queue-scorer') }))).toEqual([
      'pd.yaml:7:16: /plugins/0/parameters/deciders/prefill: "queue-scorer" is a queue-scorer, not a ' +
        'prefill decider (expected a plugin of type prefix-based-pd-decider or always-disagg-pd-decider)',
    ]);
  });

  it('refuses profiles the handler does not run, and a second profile handler', () => {
    expect(
      problemsOf(
        pdYaml({
          profiles: `- name: decode\n  plugins: [{pluginRef: decode-filter}]\n- name: prefil\n  plugins: [{pluginRef: prefill-filter}]`,
        }),
      ),
    ).toEqual([
      'pd.yaml:22:9: /schedulingProfiles/1/name: schedulingProfiles "prefil" is neither the decode profile ' +
        '"decode" nor the prefill profile "prefill" of disagg-profile-handler "disagg-profile-handler"',
    ]);
    const twoHandlers = pdYaml().replace(
      '- type: always-disagg-pd-decider',
      '- type: always-disagg-pd-decider\n- type: single-profile-handler',
    );
    expect(problemsOf(twoHandlers)).toEqual([
      'pd.yaml:11:9: /plugins/3/type: more than one profile handler in plugins',
    ]);
  });

  it('rejects unknown and out-of-range parameters of the handler and the deciders', () => {
    expect(
      problemsOf(
        pdYaml({
          handler:
            '- type: disagg-profile-handler\n  parameters: {deciders: {prefill: prefix-based-pd-decider, encode: e}, threshold: 3}',
          decider: '- type: prefix-based-pd-decider\n  parameters: {nonCachedTokenz: 16, promptTokens: -1}',
        }),
      ),
    ).toEqual([
      'pd.yaml:5:73: /plugins/0/parameters/threshold: unknown field "threshold"',
      'pd.yaml:5:61: /plugins/0/parameters/deciders/encode: unknown field "encode"',
      'pd.yaml:7:16: /plugins/1/parameters/nonCachedTokenz: unknown field "nonCachedTokenz"',
      'pd.yaml:7:51: /plugins/1/parameters/promptTokens: must be >= 0',
    ]);
    expect(
      problemsOf(
        pdYaml().replace(
          '- type: always-disagg-pd-decider',
          '- type: always-disagg-pd-decider\n  parameters: {x: 1}',
        ),
      ),
    ).toEqual(['pd.yaml:11:16: /plugins/2/parameters/x: unknown field "x"']);
  });

  it('checks configs built in code the same way', () => {
    const base = parseSchedulerConfig(pdYaml(), 'pd.yaml');
    const withParams = (type: string, parameters: Record<string, unknown>): SchedulerConfig => ({
      ...base,
      plugins: base.plugins.map((p) => (p.type === type ? { ...p, parameters } : p)),
    });
    expect(() =>
      createScheduler(withParams('prefix-based-pd-decider', { nonCachedTokenz: 16 }), fakeDeps()),
    ).toThrow(
      new PluginConfigError(
        'plugin "prefix-based-pd-decider": unknown parameter parameters.nonCachedTokenz ' +
          '(expected nonCachedTokens, promptTokens)',
      ),
    );
    expect(() =>
      createScheduler(withParams('prefix-based-pd-decider', { nonCachedTokens: 1.5 }), fakeDeps()),
    ).toThrow(/parameters\.nonCachedTokens must be an integer in \[0, Infinity\], got 1\.5/);
    expect(() =>
      createScheduler(withParams('disagg-profile-handler', { profiles: { decode: 7 } }), fakeDeps()),
    ).toThrow(/parameters\.profiles\.decode must be a non-empty string, got 7/);
    expect(() =>
      createScheduler(withParams('disagg-profile-handler', { profiles: { prefill: 'decode' } }), fakeDeps()),
    ).toThrow(/parameters\.profiles names "decode" for both decode and prefill/);
    expect(() =>
      createScheduler(withParams('disagg-profile-handler', { deciders: { prefill: 'nobody' } }), fakeDeps()),
    ).toThrow(/"nobody" names no plugin in plugins/);
  });
});
