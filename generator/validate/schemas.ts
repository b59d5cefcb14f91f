// One ajv instance for the input schemas, compiled once per process.
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ModelSpec } from '../model/generated/model.ts';
import type { PlatformProfile } from '../model/generated/platform.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/** Annotation on a `pattern`: what the pattern accepts, in words, for error messages. */
export const expectedKeyword = 'x-expected';

export const modelSchema = readSchema('model.schema.json');
export const platformSchema = readSchema('platform.schema.json');

function readSchema(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../../schemas/${name}`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;
}

interface Validators {
  model: ValidateFunction<ModelSpec>;
  platform: ValidateFunction<PlatformProfile>;
}

let compiled: Validators | undefined;

export function validators(): Validators {
  if (compiled === undefined) {
    const ajv = new Ajv2020({ allErrors: true, verbose: true });
    addFormats(ajv);
    ajv.addKeyword({ keyword: expectedKeyword, schemaType: 'string' });
    compiled = {
      model: ajv.compile<ModelSpec>(modelSchema),
      platform: ajv.compile<PlatformProfile>(platformSchema),
    };
  }
  return compiled;
}

export type SchemaError = ErrorObject;
