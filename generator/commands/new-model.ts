// `new-model --name --uri --env`: writes environments/<env>/models/<name>.yaml, a commented ~30-line spec.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatProblem } from '../errors.ts';
import { loadEnvironments } from '../load/environments.ts';
import { parseYamlSource } from '../load/yaml-source.ts';
import { layer } from '../load/layers.ts';
import { normalizeEnvironments } from '../normalize/index.ts';
import { expectedKeyword, modelSchema } from '../validate/schemas.ts';
import type { Console } from './generate.ts';

export interface NewModelOptions {
  readonly root: string;
  readonly name: string;
  readonly uri: string;
  readonly env: string;
  readonly namespace?: string;
  readonly accelerator?: string;
  readonly gpus?: number;
  readonly replicas?: number;
}

export function modelSpecText(options: NewModelOptions, accelerator: string): string {
  const gpus = options.gpus ?? 1;
  return `# Model spec (schemas/model.schema.json; reference: docs/model-spec.md).
# After editing, run: npm run generate
name: ${options.name}
namespace: ${options.namespace ?? 'llm'}
model:
  # hf://<org>/<repo>, pvc://<claim>/<path> or oci://<registry>/<image>:<tag>
  uri: ${JSON.stringify(options.uri)}
  # servedName: name clients send as "model" (default: the hf:// repository)
  # hfTokenSecret: { name: hf-token, key: token }  # for gated models
replicas: ${options.replicas ?? 1}
parallelism:
  tensor: ${gpus} # GPUs per pod = tensor x dataLocal
accelerator:
  type: ${accelerator} # a key of the platform profile's accelerators
  count: ${gpus}
resources:
  cpu: "4"
  memory: 16Gi
vllm:
  maxModelLen: 8192
  blockSize: 64 # the router's prefix-cache block size follows it
  extraArgs: []
router:
  profile: switchyard # switchyard | balanced | prefix-affinity | load
# objectives: default premium 100, normal 0, batch -10
# aliases:
#   - name: my-alias
`;
}

interface NameRule {
  readonly pattern: string;
  readonly maxLength: number;
  readonly [expectedKeyword]: string;
}

/** The name becomes a file name and the spec's `name`, so it is checked against the schema's rule first. */
function nameProblem(name: string): string | undefined {
  const rule = (modelSchema['properties'] as Record<string, NameRule>)['name'];
  if (rule === undefined || (new RegExp(rule.pattern, 'u').test(name) && name.length <= rule.maxLength)) {
    return undefined;
  }
  return `--name: expected ${rule[expectedKeyword]}, at most ${rule.maxLength} characters; got ${JSON.stringify(name)}`;
}

export function runNewModel(options: NewModelOptions, console: Console): number {
  const badName = nameProblem(options.name);
  if (badName !== undefined) {
    console.err(badName);
    return 1;
  }
  const relative = `environments/${options.env}/models/${options.name}.yaml`;
  const target = join(options.root, relative);
  if (existsSync(target)) {
    console.err(`${relative}:1:1: /: expected a new model, but this file already exists`);
    return 1;
  }
  const loaded = loadEnvironments(options.root, [options.env]);
  const env = loaded.environments.find((e) => e.name === options.env);
  if (loaded.problems.length > 0 || env === undefined) {
    loaded.problems.forEach((p) => console.err(formatProblem(p)));
    return 1;
  }
  const platformAccelerators =
    (env.platform.data as { accelerators?: Record<string, unknown> }).accelerators ?? {};
  const accelerator = options.accelerator ?? Object.keys(platformAccelerators).sort()[0] ?? 'nvidia-gpu';
  const text = modelSpecText(options, accelerator);
  const parsed = parseYamlSource(relative, text);
  if (!parsed.ok) {
    parsed.problems.forEach((p) => console.err(formatProblem(p)));
    console.err('new-model: the options do not make a readable spec; nothing written');
    return 1;
  }
  const result = normalizeEnvironments([
    { ...env, models: [{ fileStem: options.name, input: layer(parsed.source, undefined) }] },
  ]);
  if (!result.ok) {
    result.problems.forEach((p) => console.err(formatProblem(p)));
    console.err('new-model: the spec would be invalid; nothing written');
    return 1;
  }
  mkdirSync(join(options.root, 'environments', options.env, 'models'), { recursive: true });
  writeFileSync(target, text);
  console.out(`wrote ${relative}; run npm run generate`);
  return 0;
}
