// vLLM's command line, derived from the spec so that parallelism, GPUs and cache settings agree.
import type { ModelSource } from './types.ts';
import { vllmPort } from './defaults.ts';

/** Flags the generator sets itself; a spec may not pass them in vllm.extraArgs. */
export const derivedVllmFlags = [
  '--port',
  '--host',
  '--served-model-name',
  '--tensor-parallel-size',
  '-tp',
  '--data-parallel-size',
  '-dp',
  '--data-parallel-size-local',
  '--block-size',
  '--max-model-len',
  '--gpu-memory-utilization',
  '--revision',
  '--model',
] as const;

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
  readonly servedName: string;
  readonly tensor: number;
  readonly data: number;
  readonly dataLocal: number;
  readonly blockSize: number;
  readonly maxModelLen?: number;
  readonly gpuMemoryUtilization?: number;
  readonly extraArgs: readonly string[];
}

export function vllmArgs(input: VllmArgsInput): string[] {
  const args = [
    modelArgument(input.source),
    '--port',
    String(vllmPort),
    '--served-model-name',
    input.servedName,
  ];
  if (input.source.kind === 'hf' && input.source.revision !== undefined) {
    args.push('--revision', input.source.revision);
  }
  args.push('--tensor-parallel-size', String(input.tensor));
  if (input.data > 1) {
    args.push(
      '--data-parallel-size',
      String(input.data),
      '--data-parallel-size-local',
      String(input.dataLocal),
    );
  }
  args.push('--enable-prefix-caching', '--block-size', String(input.blockSize));
  if (input.maxModelLen !== undefined) {
    args.push('--max-model-len', String(input.maxModelLen));
  }
  if (input.gpuMemoryUtilization !== undefined) {
    args.push('--gpu-memory-utilization', String(input.gpuMemoryUtilization));
  }
  args.push('--disable-uvicorn-access-log');
  return [...args, ...input.extraArgs];
}

/** Returns the derived flag an extra argument tries to set, if any (`--flag` or `--flag=value`). */
export function conflictingFlag(arg: string): string | undefined {
  const flag = arg.split('=')[0] ?? arg;
  return derivedVllmFlags.find((f) => f === flag);
}
