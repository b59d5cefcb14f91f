// vLLM's command line, derived from the spec so that parallelism, GPUs and cache settings agree.
import type { ModelSource } from './types.ts';
import { kvEventsPort, vllmPort } from './defaults.ts';

/**
 * Flags the generator sets itself or the router depends on, with the spec field that controls each; a spec may
 * not pass them in vllm.extraArgs in any spelling (`--flag`, `--flag=value`, `--flag_with_underscores`, a short
 * alias, or the `--no-` form of a boolean).
 */
export const derivedVllmFlags: Readonly<Record<string, string>> = {
  '--model': 'model.uri',
  '--port': 'the chart (vLLM listens on 8000)',
  '--host': 'the chart',
  '--served-model-name': 'model.servedName',
  '--revision': 'model.revision',
  '--tensor-parallel-size': 'parallelism.tensor',
  '--pipeline-parallel-size': 'parallelism.pipeline',
  '--data-parallel-size': 'parallelism.data',
  '--data-parallel-size-local': 'parallelism.dataLocal',
  '--enable-expert-parallel': 'parallelism.expert',
  '--distributed-executor-backend': 'parallelism (Ray when a replica spans nodes)',
  '--enable-prefix-caching': 'the router (prefix caching stays on: the router scores prefix hits)',
  '--enable-prompt-tokens-details':
    "the router (usage reports cached_tokens, which the router's prefix index learns from)",
  '--block-size': 'vllm.blockSize',
  '--max-model-len': 'vllm.maxModelLen',
  '--gpu-memory-utilization': 'vllm.gpuMemoryUtilization',
  '--api-key': 'vllm.apiKeySecret',
  '--enable-lora': 'lora',
  '--lora-modules': 'lora.adapters',
  '--max-loras': 'lora.maxLoras',
  '--max-lora-rank': 'lora.maxRank',
  '--kv-transfer-config': 'disaggregation.kvConnector',
  '--kv-events-config': 'router.prefixCache',
};

/**
 * vLLM's KV-cache event publisher for the router's precise prefix cache: a ZMQ PUB socket bound on every pod
 * (a `*` endpoint binds), which each router replica dials. The topic names the pod as llm-d's does
 * (`kv@<pod IP>:<port>@<model>`; the chart sets POD_IP); the router knows the pod by the socket it dialled.
 */
export function kvEventsConfig(port: number, servedName: string): string {
  return JSON.stringify({
    enable_kv_cache_events: true,
    publisher: 'zmq',
    endpoint: `tcp://*:${String(kvEventsPort)}`,
    topic: `kv@$(POD_IP):${String(port)}@${servedName}`,
  });
}

/** vLLM's KV-transfer settings of both stages of a disaggregated model (NIXL, either direction). */
export const nixlKvTransferConfig = JSON.stringify({ kv_connector: 'NixlConnector', kv_role: 'kv_both' });

const shortAliases: Readonly<Record<string, string>> = {
  '-tp': '--tensor-parallel-size',
  '-pp': '--pipeline-parallel-size',
  '-dp': '--data-parallel-size',
  '-dpl': '--data-parallel-size-local',
};

export const modelMountPath = '/mnt/models';

export function modelArgument(source: ModelSource): string {
  switch (source.kind) {
    case 'hf':
      return source.repository;
    case 'pvc':
      return `${modelMountPath}/${source.path}`;
    case 'oci':
      return modelMountPath;
  }
}

export interface VllmArgsInput {
  readonly source: ModelSource;
  /** Where vLLM listens (default vllmPort; a decode pod's vLLM is behind its routing sidecar). */
  readonly port?: number;
  /** Move the KV cache between prefill and decode pods over NIXL. */
  readonly kvTransfer?: boolean;
  /** Publish KV-cache events for the router's precise prefix cache. */
  readonly kvEvents?: boolean;
  readonly servedName: string;
  readonly tensor: number;
  readonly pipeline: number;
  readonly data: number;
  readonly dataLocal: number;
  readonly expert: boolean;
  /** Nodes one replica spans; above 1 the replica runs on a Ray cluster of its LeaderWorkerSet group. */
  readonly nodes: number;
  readonly lora?: {
    readonly adapters: readonly { readonly name: string; readonly path: string }[];
    readonly maxLoras: number;
    readonly maxRank: number;
  };
  readonly blockSize: number;
  readonly maxModelLen?: number;
  readonly gpuMemoryUtilization?: number;
  readonly extraArgs: readonly string[];
}

export function vllmArgs(input: VllmArgsInput): string[] {
  const args = [
    modelArgument(input.source),
    '--port',
    String(input.port ?? vllmPort),
    '--served-model-name',
    input.servedName,
  ];
  if (input.source.kind === 'hf' && input.source.revision !== undefined) {
    args.push('--revision', input.source.revision);
  }
  args.push('--tensor-parallel-size', String(input.tensor));
  if (input.pipeline > 1) {
    args.push('--pipeline-parallel-size', String(input.pipeline));
  }
  if (input.data > 1) {
    args.push(
      '--data-parallel-size',
      String(input.data),
      '--data-parallel-size-local',
      String(input.dataLocal),
    );
  }
  if (input.expert) {
    args.push('--enable-expert-parallel');
  }
  if (input.nodes > 1) {
    args.push('--distributed-executor-backend', 'ray');
  }
  if (input.lora !== undefined) {
    args.push(
      '--enable-lora',
      '--max-loras',
      String(input.lora.maxLoras),
      '--max-lora-rank',
      String(input.lora.maxRank),
      '--lora-modules',
      ...input.lora.adapters.map((adapter) =>
        JSON.stringify({ name: adapter.name, path: adapter.path, base_model_name: input.servedName }),
      ),
    );
  }
  // Without it vLLM leaves prompt_tokens_details (cached_tokens) out of usage, and the router's index cannot
  // correct itself from completions.
  args.push(
    '--enable-prefix-caching',
    '--enable-prompt-tokens-details',
    '--block-size',
    String(input.blockSize),
  );
  if (input.maxModelLen !== undefined) {
    args.push('--max-model-len', String(input.maxModelLen));
  }
  if (input.gpuMemoryUtilization !== undefined) {
    args.push('--gpu-memory-utilization', String(input.gpuMemoryUtilization));
  }
  if (input.kvTransfer === true) {
    args.push('--kv-transfer-config', nixlKvTransferConfig);
  }
  if (input.kvEvents === true) {
    args.push('--kv-events-config', kvEventsConfig(input.port ?? vllmPort, input.servedName));
  }
  args.push('--disable-uvicorn-access-log');
  return [...args, ...input.extraArgs];
}

/**
 * The derived flag an extra argument tries to set, in its canonical spelling, if any: `--flag`, `--flag=value`,
 * `--flag_with_underscores`, short aliases (`-tp 4`, `-tp=4`) and `--no-flag`.
 */
export function conflictingFlag(arg: string): string | undefined {
  const name = (arg.split('=')[0] ?? arg).trim();
  const short = shortAliases[name];
  if (short !== undefined) return short;
  if (!name.startsWith('--')) return undefined;
  const canonical = `--${name.slice(2).replaceAll('_', '-')}`;
  if (canonical in derivedVllmFlags) return canonical;
  const negated = canonical.startsWith('--no-') ? `--${canonical.slice('--no-'.length)}` : undefined;
  return negated !== undefined && negated in derivedVllmFlags ? negated : undefined;
}
