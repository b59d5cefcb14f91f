// Public API of the router core. Everything here is pure and synchronous: no I/O, no timers; time and
// randomness come from `deps`.
//
// Direct routing (no flow control):
//   const scheduler = createScheduler(parseSchedulerConfig(yamlText, 'router.yaml'), { now, random });
//   const result = scheduler.pick(request, endpoints);      // 'picked' → send to result.endpoints[0]
//   ...                                                    // 'rejected' → answer result.status
//   scheduler.complete(request.id, { ok, cachedTokens, ... }); // exactly when the response ends (idempotent)
//
// With a `flowControl` section, adapters may queue instead of picking on arrival:
//   const r = scheduler.enqueue(request);  // 'queued' (ticket) or 'rejected' 429 when the queue is full
//   for (const o of scheduler.drain(endpoints)) forward(o.request.id, o.result);
// `drain` never blocks: it expires requests past their TTL and dispatches in priority order (highest band
// first, round-robin or oldest-first between fairness ids of a band, FCFS within one) while the pool is not
// saturated. Call it after enqueue, after every complete, on every metrics refresh, and from a timer so TTLs
// fire. `cancel(id)` removes a queued request whose client went away.
export { createScheduler } from './scheduler.ts';
export { parseSchedulerConfig, schedulerConfigDocument, SchedulerConfigError } from './config.ts';
export { policyPresets, POLICY_NAMES, type PolicyName } from './presets.ts';
export { estimatePromptTokens } from './tokens.ts';
export {
  hashPromptBlocks,
  kvBlockHashes,
  kvBlockHashesFrom,
  kvChainStart,
  prefixHashSeed,
} from './prefix-hash.ts';
export { PrefixIndex } from './prefix-index.ts';
export { dataLayerNeeds, type DataLayerNeeds } from './plan.ts';
export { PluginConfigError } from './plugins/params.ts';
export { PLUGIN_TYPES } from './plugins/registry.ts';
export type * from './types.ts';
