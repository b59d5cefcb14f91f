import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { evaluateValidationRules } from './cel-rules.ts';
import { parseMachineYaml } from './machine-yaml.ts';
import { isJsonObject, type FieldError, type JsonObject, type OpenApiSchema } from './openapi-schema.ts';
import { applyDefaults, validateStructure } from './structural.ts';

export interface CrdVersion {
  /** `<plural>.<group>`, the CustomResourceDefinition's name. */
  crdName: string;
  apiVersion: string;
  kind: string;
  served: boolean;
  /** `Namespaced` or `Cluster`. */
  scope: string;
  schema: OpenApiSchema;
}

/** Every CustomResourceDefinition version found in a directory, by `apiVersion` and `kind`. */
export interface CrdIndex {
  readonly definitions: number;
  find(apiVersion: string, kind: string): CrdVersion | undefined;
  all(): CrdVersion[];
}

export interface LoadedCrds {
  index: CrdIndex;
  errors: string[];
}

function key(apiVersion: string, kind: string): string {
  return `${apiVersion} ${kind}`;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => /\.(ya?ml|json)$/.test(name))
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile())
    .sort();
}

/** Reads every CustomResourceDefinition (also inside `kind: List` documents) from the YAML/JSON files in `dir`. */
export function loadCrdDirectory(dir: string): LoadedCrds {
  const versions = new Map<string, CrdVersion>();
  const errors: string[] = [];
  let definitions = 0;
  const add = (crd: JsonObject, source: string): void => {
    const spec = isJsonObject(crd.spec) ? crd.spec : {};
    const names = isJsonObject(spec.names) ? spec.names : {};
    const group = spec.group;
    const kind = names.kind;
    const crdName = isJsonObject(crd.metadata) ? String(crd.metadata.name) : '(unnamed)';
    if (typeof group !== 'string' || typeof kind !== 'string' || !Array.isArray(spec.versions)) {
      errors.push(
        `${source}: CustomResourceDefinition ${crdName}: spec.group, spec.names.kind and spec.versions are required`,
      );
      return;
    }
    definitions += 1;
    for (const version of spec.versions as unknown[]) {
      if (!isJsonObject(version) || typeof version.name !== 'string') {
        errors.push(`${source}: CustomResourceDefinition ${crdName}: spec.versions[] entry without a name`);
        continue;
      }
      const perVersion = isJsonObject(version.schema) ? version.schema.openAPIV3Schema : undefined;
      const shared = isJsonObject(spec.validation) ? spec.validation.openAPIV3Schema : undefined;
      const schema = perVersion ?? shared;
      if (!isJsonObject(schema)) {
        errors.push(
          `${source}: CustomResourceDefinition ${crdName} version ${version.name}: no openAPIV3Schema`,
        );
        continue;
      }
      versions.set(key(`${group}/${version.name}`, kind), {
        crdName,
        apiVersion: `${group}/${version.name}`,
        kind,
        served: version.served !== false,
        scope: spec.scope === 'Cluster' ? 'Cluster' : 'Namespaced',
        schema: schema as OpenApiSchema,
      });
    }
  };
  for (const file of yamlFiles(dir)) {
    const source = relative(process.cwd(), file) || file;
    const parsed = parseMachineYaml(readFileSync(file, 'utf8'));
    if (!parsed.ok) {
      errors.push(`${source}${parsed.at}: ${parsed.reason}`);
      continue;
    }
    for (const value of parsed.documents) {
      const items = isJsonObject(value) && Array.isArray(value.items) ? (value.items as unknown[]) : [value];
      for (const item of items) {
        if (isJsonObject(item) && item.kind === 'CustomResourceDefinition') {
          add(item, source);
        }
      }
    }
  }
  return {
    errors,
    index: {
      definitions,
      find: (apiVersion, kind) => versions.get(key(apiVersion, kind)),
      all: () => [...versions.values()],
    },
  };
}

/**
 * Validates one object as the API server would on create: defaults from the schema first, then the structural
 * schema (unknown fields are errors), then every CEL rule.
 */
export function validateAgainstCrd(object: JsonObject, version: CrdVersion): FieldError[] {
  const errors: FieldError[] = [];
  if (!version.served) {
    errors.push({
      path: 'apiVersion',
      message: `version is not served by CustomResourceDefinition ${version.crdName}`,
    });
  }
  const defaulted = applyDefaults(object, version.schema);
  validateStructure(defaulted, version.schema, '', errors, true);
  evaluateValidationRules(defaulted, version.schema, '', errors);
  return errors;
}
