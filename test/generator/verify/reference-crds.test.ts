// Checks against the upstream CustomResourceDefinitions in ../shared/reference/crds (relative to the
// repository root). Skipped where that folder is absent, e.g. on a fresh clone.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileRule } from '../../../generator/verify/cel-rules.ts';
import { loadCrdDirectory, validateAgainstCrd, type CrdIndex } from '../../../generator/verify/crds.ts';
import { validateObject } from '../../../generator/verify/objects.ts';
import {
  isJsonObject,
  type FieldError,
  type OpenApiSchema,
} from '../../../generator/verify/openapi-schema.ts';
import { projectSchemaDir } from '../../../generator/verify/project-schemas.ts';
import { validateStructure } from '../../../generator/verify/structural.ts';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));
const referenceCrds = join(repositoryRoot, '../shared/reference/crds');

const route = (rule: Record<string, unknown>): Record<string, unknown> => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'qwen', namespace: 'llm' },
  spec: { parentRefs: [{ name: 'inference-gateway', namespace: 'gateway' }], rules: [rule] },
});

describe.skipIf(!existsSync(referenceCrds))('upstream CustomResourceDefinitions', () => {
  let index: CrdIndex;
  beforeAll(() => {
    const loaded = loadCrdDirectory(referenceCrds);
    expect(loaded.errors).toEqual([]);
    index = loaded.index;
  });

  function crdErrors(object: Record<string, unknown>): string[] {
    const version = index.find(String(object.apiVersion), String(object.kind));
    if (version === undefined) {
      throw new Error(`no CRD for ${String(object.apiVersion)} ${String(object.kind)}`);
    }
    return validateAgainstCrd(object, version).map((error) => `${error.path}: ${error.message}`);
  }

  it('implements every CEL function their validation rules use', () => {
    const rules = new Set<string>();
    const collect = (node: unknown): void => {
      if (Array.isArray(node)) {
        node.forEach(collect);
      } else if (isJsonObject(node)) {
        for (const [key, value] of Object.entries(node)) {
          if (key === 'x-kubernetes-validations' && Array.isArray(value)) {
            for (const rule of value as { rule: string }[]) {
              rules.add(rule.rule);
            }
          } else {
            collect(value);
          }
        }
      }
    };
    for (const version of index.all()) {
      collect(version.schema);
    }
    expect(rules.size).toBeGreaterThan(50);
    const problems = [...rules].flatMap((rule) => {
      const compiled = compileRule(rule);
      if (compiled instanceof Error) {
        return [`${rule}: ${compiled.message}`];
      }
      return compiled.unsupported.length > 0 ? [`${rule}: ${compiled.unsupported.join(', ')}`] : [];
    });
    expect(problems).toEqual([]);
  });

  it('catches a relative HTTPRoute path and a Service backendRef without a port, which schemas alone pass', () => {
    const broken = route({
      matches: [{ path: { type: 'PathPrefix', value: 'llm/qwen/' } }],
      backendRefs: [{ name: 'qwen-vllm' }],
    });
    // What a schema-only validator (kubeconform, kubernetes-models) sees: nothing wrong.
    expect(validateObject(broken)).toEqual([]);
    const version = index.find('gateway.networking.k8s.io/v1', 'HTTPRoute');
    const structural: FieldError[] = [];
    validateStructure(broken, version?.schema as OpenApiSchema, '', structural, true);
    expect(structural).toEqual([]);
    // With the CEL rules, as the API server would answer at sync time.
    expect(crdErrors(broken)).toEqual([
      "spec.rules[0].matches[0].path: value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']",
      'spec.rules[0].backendRefs[0]: Must have port for Service reference',
    ]);
  });

  it('accepts the same route once fixed, and an InferencePool backend without a port', () => {
    expect(
      crdErrors(
        route({
          matches: [{ path: { type: 'PathPrefix', value: '/llm/qwen/' } }],
          backendRefs: [{ name: 'qwen-vllm', port: 8000 }],
        }),
      ),
    ).toEqual([]);
    expect(
      crdErrors(
        route({
          backendRefs: [{ group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'qwen' }],
        }),
      ),
    ).toEqual([]);
  });

  it('rejects unknown fields and applies defaults before the InferencePool rules', () => {
    const pool = {
      apiVersion: 'inference.networking.k8s.io/v1',
      kind: 'InferencePool',
      metadata: { name: 'qwen' },
      spec: {
        selector: { matchLabels: { app: 'qwen' } },
        targetPorts: [{ number: 8000 }],
        endpointPickerRef: { name: 'qwen-router' },
        targetPortNumber: 8000,
      },
    };
    // endpointPickerRef.kind defaults to Service, which makes the port rule apply.
    expect(crdErrors(pool)).toEqual([
      'spec.targetPortNumber: unknown field (not in the schema)',
      "spec.endpointPickerRef: port is required when kind is 'Service' or unspecified (defaults to 'Service')",
    ]);
  });

  it('has project schemas whose every property exists upstream with the same type', () => {
    const mismatches: string[] = [];
    for (const file of readdirSync(projectSchemaDir).filter((name) => name.endsWith('.schema.json'))) {
      const schema = JSON.parse(readFileSync(join(projectSchemaDir, file), 'utf8')) as ProjectSchemaNode;
      const apiVersion = schema.properties?.apiVersion?.const;
      const kind = schema.properties?.kind?.const;
      if (notInReferenceSet.has(String(apiVersion))) {
        continue;
      }
      const upstream = index.find(String(apiVersion), String(kind));
      if (upstream === undefined) {
        mismatches.push(`${file}: no upstream CRD for ${String(apiVersion)} ${String(kind)}`);
        continue;
      }
      compareSchemas(schema, schema, upstream.schema, file, mismatches);
    }
    expect(mismatches).toEqual([]);
  });
});

/** API versions the reference CRD set does not hold (the Sail operator's): their schemas say so in `description`. */
const notInReferenceSet = new Set(['sailoperator.io/v1']);

interface ProjectSchemaNode {
  $ref?: string;
  $defs?: Record<string, ProjectSchemaNode>;
  type?: string | string[];
  const?: unknown;
  properties?: Record<string, ProjectSchemaNode>;
  items?: ProjectSchemaNode;
  additionalProperties?: ProjectSchemaNode | boolean;
}

/** The node a `$ref` names: a definition of the same schema (`#/$defs/x`) or of another project schema file. */
function resolveRef(root: ProjectSchemaNode, node: ProjectSchemaNode): ProjectSchemaNode {
  const [file, pointer] = node.$ref?.split('#') ?? [];
  if (pointer?.startsWith('/$defs/') === true) {
    const holder =
      file === '' || file === undefined
        ? root
        : (JSON.parse(readFileSync(join(projectSchemaDir, file), 'utf8')) as ProjectSchemaNode);
    const target = holder.$defs?.[pointer.slice('/$defs/'.length)];
    if (target !== undefined) {
      return target;
    }
  }
  return node;
}

function upstreamType(node: OpenApiSchema): string | undefined {
  return node['x-kubernetes-int-or-string'] === true ? 'integer|string' : node.type;
}

function projectType(node: ProjectSchemaNode): string | undefined {
  if (Array.isArray(node.type)) {
    return [...node.type].sort().join('|');
  }
  if (node.type === undefined && typeof node.const === 'string') {
    return 'string';
  }
  return node.type;
}

function compareSchemas(
  root: ProjectSchemaNode,
  mineRaw: ProjectSchemaNode,
  upstream: OpenApiSchema,
  path: string,
  mismatches: string[],
): void {
  const mine = resolveRef(root, mineRaw);
  const mineType = projectType(mine);
  const theirType = upstreamType(upstream);
  if (mineType !== undefined && theirType !== undefined && mineType !== theirType) {
    mismatches.push(`${path}: type ${mineType}, upstream ${theirType}`);
    return;
  }
  for (const [name, child] of Object.entries(mine.properties ?? {})) {
    const counterpart = upstream.properties?.[name];
    if (counterpart === undefined) {
      mismatches.push(`${path}.${name}: not in the upstream CRD`);
    } else {
      compareSchemas(root, child, counterpart, `${path}.${name}`, mismatches);
    }
  }
  if (mine.items !== undefined) {
    if (upstream.items === undefined) {
      mismatches.push(`${path}[]: upstream is not a list`);
    } else {
      compareSchemas(root, mine.items, upstream.items, `${path}[]`, mismatches);
    }
  }
  if (typeof mine.additionalProperties === 'object') {
    if (typeof upstream.additionalProperties !== 'object') {
      mismatches.push(`${path}{}: upstream is not a map`);
    } else {
      compareSchemas(root, mine.additionalProperties, upstream.additionalProperties, `${path}{}`, mismatches);
    }
  }
}
