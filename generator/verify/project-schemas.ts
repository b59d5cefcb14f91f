// The project's own JSON Schemas (schemas/crds/*.json) for the custom resources it emits that no npm package
// describes. One ajv instance, every schema compiled once on first use.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { ajvFieldError } from './model-classes.ts';
import { isJsonObject, type FieldError } from './openapi-schema.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

export const projectSchemaDir = fileURLToPath(new URL('../../schemas/crds/', import.meta.url));

interface ProjectSchema {
  file: string;
  validate: ValidateFunction;
}

let compiled: Map<string, ProjectSchema> | undefined;

function constOf(schema: Record<string, unknown>, property: string): string {
  const properties = schema.properties;
  const entry = isJsonObject(properties) ? properties[property] : undefined;
  const value = isJsonObject(entry) ? entry.const : undefined;
  if (typeof value !== 'string') {
    throw new Error(`schemas/crds schema must fix properties.${property}.const`);
  }
  return value;
}

function compileAll(): Map<string, ProjectSchema> {
  const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true });
  addFormats(ajv);
  const byKind = new Map<string, ProjectSchema>();
  for (const file of readdirSync(projectSchemaDir)
    .filter((name) => name.endsWith('.schema.json'))
    .sort()) {
    const schema = JSON.parse(readFileSync(`${projectSchemaDir}${file}`, 'utf8')) as Record<string, unknown>;
    const key = `${constOf(schema, 'apiVersion')} ${constOf(schema, 'kind')}`;
    byKind.set(key, { file: `schemas/crds/${file}`, validate: ajv.compile(schema) });
  }
  return byKind;
}

/** The project schema for `apiVersion`/`kind`, or undefined when the project has none. */
export function findProjectSchema(apiVersion: string, kind: string): ProjectSchema | undefined {
  compiled ??= compileAll();
  return compiled.get(`${apiVersion} ${kind}`);
}

export function validateWithProjectSchema(schema: ProjectSchema, object: unknown): FieldError[] {
  if (schema.validate(object)) {
    return [];
  }
  return (schema.validate.errors ?? []).map((error) => {
    const fieldError = ajvFieldError(error);
    return { ...fieldError, message: `${fieldError.message} (${schema.file})` };
  });
}
