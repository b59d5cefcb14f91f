// Contracts between the scheduler and its plugins. A pick runs: filters (in profile order) → every scorer
// writes one score in [0, 1] per candidate → scores are clamped, weighted and summed → the picker orders
// candidates.
import type { EndpointState } from '../state.ts';
import type { Completion, Endpoint, RoutingRequest } from '../types.ts';

/** The prefix index's view of the current request over the candidates. */
export interface PrefixMatch {
  readonly blockSize: number;
  /** Hashes of the prompt's full blocks (bounded by maxPrefixTokensToMatch). */
  readonly hashes: Float64Array;
  /** Leading blocks each candidate holds, aligned with `candidates`. */
  readonly matchedBlocks: Int32Array;
  /**
   * Distinct prefixes (first blocks of prompts) the index attributes to each candidate, aligned with
   * `candidates`; undefined with the precise index, whose events do not say which blocks begin a prompt.
   */
  readonly prefixesHeld?: Int32Array;
}

export interface PickContext {
  readonly request: RoutingRequest;
  readonly nowMs: number;
  readonly candidates: readonly Endpoint[];
  /** Local accounting, aligned with `candidates`. */
  readonly states: readonly EndpointState[];
  /** Computed on first use; undefined when the configuration has no prefix index. */
  prefix(): PrefixMatch | undefined;
}

export interface FilterPlugin {
  readonly kind: 'filter';
  readonly type: string;
  readonly name: string;
  filter(request: RoutingRequest, candidates: readonly Endpoint[], nowMs: number): readonly Endpoint[];
}

/**
 * A filter that needs the pick context (prefix matches, local accounting): it returns the indices of the
 * candidates it keeps. Runs after the plain filters.
 */
export interface ContextFilterPlugin {
  readonly kind: 'context-filter';
  readonly type: string;
  readonly name: string;
  /** Whether the filter reads the prefix index. */
  readonly usesPrefix: boolean;
  keep(context: PickContext, random: () => number): readonly number[];
}

export interface ScorerPlugin {
  readonly kind: 'scorer';
  readonly type: string;
  readonly name: string;
  /** Whether the scorer reads the prefix index (the scheduler then hashes prompts and maintains it). */
  readonly usesPrefix: boolean;
  /** Writes one score per candidate into `out`. */
  score(context: PickContext, out: Float64Array): void;
  /** Called after the pick with the index of the primary endpoint among the candidates. */
  picked?(context: PickContext, chosen: number): void;
  /**
   * Called when a picked request ends. `ok` false means it ended early (rejected by the engine, failed,
   * cancelled, or retried elsewhere): the scorer refunds what `picked` charged to `endpointKey` that will
   * not happen. `completion` is what the adapter reported (token counts, whether the endpoint failed it).
   */
  completed?(
    requestId: string,
    endpointKey: string,
    nowMs: number,
    ok: boolean,
    completion?: Completion,
  ): void;
  /** Called when the first token of a picked request reached the router (the response's first body bytes). */
  firstToken?(requestId: string, endpointKey: string, nowMs: number): void;
}

export interface PickerPlugin {
  readonly kind: 'picker';
  readonly type: string;
  readonly name: string;
  /** Candidate indices, best first, at most `maxNumOfEndpoints` of them. */
  pick(totals: Float64Array, random: () => number): number[];
}

/** Holds the prefix index settings; not used in a profile directly. */
export interface PrefixProducerPlugin {
  readonly kind: 'prefix-producer';
  readonly type: string;
  readonly name: string;
  readonly blockSizeTokens: number;
  readonly maxPrefixBlocksToMatch: number;
  readonly lruCapacityPerServer: number;
  /**
   * Size each endpoint's LRU to the KV tokens the engine reports (num_gpu_blocks × block_size, in index
   * blocks). llm-d's own autoTune takes num_gpu_blocks entries, 4× too many at 64-token index blocks; the
   * llm-d presets turn it off and keep llm-d's default of 31,250 entries.
   */
  readonly autoTune: boolean;
  /**
   * Precise mode (`precise-prefix-cache-producer`): match prompts against the blocks the endpoints' KV-cache
   * events report, hashed as the engine hashes them from `hashSeed`, instead of the routing history.
   */
  readonly precise: boolean;
  readonly hashSeed: number;
  /** Correct the index and its capacity from the cached-token counts of completions. */
  readonly learnFromCompletions: boolean;
}

export interface SaturationDetectorPlugin {
  readonly kind: 'saturation-detector';
  readonly type: string;
  readonly name: string;
  /** Per-endpoint saturation: ≥ 1 means this endpoint is full. */
  endpointSaturation(endpoint: Endpoint, state: EndpointState | undefined, nowMs: number): number;
  /** Level above which the endpoint is dropped when the detector is used as a filter. */
  readonly filterLimit: number;
}

/** A disagg-profile-handler's prefill decider: is this request worth a prefill on another pod? */
export interface PdDeciderPlugin {
  readonly kind: 'pd-decider';
  readonly type: string;
  readonly name: string;
  /** Whether the decider reads the prefix index (the scheduler then hashes prompts and keeps it). */
  readonly usesPrefix: boolean;
  /** `cachedTokens`: prompt tokens the prefix index places on the decode endpoint already. */
  disaggregate(promptTokens: number, cachedTokens: number): boolean;
}

/** disagg-profile-handler: which profiles decode and prefill, and which plugin decides on a prefill. */
export interface ProfileHandlerPlugin {
  readonly kind: 'profile-handler';
  readonly type: string;
  readonly name: string;
  readonly decodeProfile: string;
  readonly prefillProfile: string;
  /** Plugin name of the prefill decider; undefined: never disaggregate. */
  readonly prefillDecider: string | undefined;
}

/** token-producer: the source of a prompt's token ids (the lifecycle reads it; see token-producer.ts). */
export interface TokenProducerPlugin {
  readonly kind: 'token-producer';
  readonly type: string;
  readonly name: string;
  /** `estimate`: byte-packed pseudo-tokens; `vllm`: a model server's POST /tokenize. */
  readonly backend: 'estimate' | 'vllm';
  /** Deadline of one /tokenize call; past it the request goes on with the estimate. */
  readonly timeoutMs: number;
}

export type Plugin =
  | FilterPlugin
  | ContextFilterPlugin
  | ScorerPlugin
  | PickerPlugin
  | PrefixProducerPlugin
  | TokenProducerPlugin
  | SaturationDetectorPlugin
  | PdDeciderPlugin
  | ProfileHandlerPlugin;
