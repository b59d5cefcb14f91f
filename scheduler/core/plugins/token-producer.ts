// token-producer: where the prompt's token ids come from. `estimate` (the default) packs the prompt's bytes
// into pseudo-tokens (tokens.ts): free, and enough for the approximate prefix index. `vllm` asks a model
// server of the pool for the real ids (vLLM's POST /tokenize), which the precise prefix index needs: its keys
// are hashed from the engine's token ids. The core only holds the setting; the request lifecycle calls the
// model server before the pick (one call per request, only when a precise-prefix-cache-producer is
// configured), and falls back to the estimate when the call fails or times out.
import type { PluginSpec } from '../types.ts';
import { onlyFields, paramReader } from './params.ts';
import type { TokenProducerPlugin } from './plugin.ts';

export const TOKEN_BACKENDS = ['estimate', 'vllm'] as const;

export function tokenProducer(spec: PluginSpec): TokenProducerPlugin {
  onlyFields(spec.name, 'parameters.', spec.parameters, ['backend', 'timeout']);
  const params = paramReader(spec.name, spec.parameters);
  return {
    kind: 'token-producer',
    type: spec.type,
    name: spec.name,
    backend: params.string('backend', 'estimate', TOKEN_BACKENDS),
    timeoutMs: params.number('timeout', 200, { min: 1, max: 60_000, duration: true }),
  };
}
