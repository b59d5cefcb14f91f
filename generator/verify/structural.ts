import {
  childPath,
  indexPath,
  isJsonObject,
  type FieldError,
  type JsonObject,
  type OpenApiSchema,
} from './openapi-schema.ts';
import { matchesFormat } from './string-formats.ts';

/**
 * Returns a copy of `value` with the schema's `default`s filled in, the way the API server defaults a custom
 * resource before validating it: missing (or null, when not nullable) properties with a default get it, and the
 * defaulted value is itself defaulted.
 */
export function applyDefaults(value: unknown, schema: OpenApiSchema): unknown {
  if (Array.isArray(value)) {
    return schema.items === undefined ? value : value.map((item) => applyDefaults(item, schema.items ?? {}));
  }
  if (!isJsonObject(value)) {
    return value;
  }
  const result: JsonObject = { ...value };
  const properties = schema.properties ?? {};
  for (const [key, propertySchema] of Object.entries(properties)) {
    const current = result[key];
    const missing = current === undefined || (current === null && propertySchema.nullable !== true);
    if (missing && propertySchema.default !== undefined) {
      result[key] = structuredClone(propertySchema.default);
    }
  }
  for (const [key, child] of Object.entries(result)) {
    const childSchema = properties[key] ?? additionalSchema(schema);
    if (childSchema !== undefined) {
      result[key] = applyDefaults(child, childSchema);
    }
  }
  return result;
}

function additionalSchema(schema: OpenApiSchema): OpenApiSchema | undefined {
  return typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
}

/**
 * Checks `value` against a structural schema: types, unknown fields (pruning in the API server, an error here),
 * required, enum, pattern, lengths, bounds, formats, list types. `root` marks the top of a resource, where
 * apiVersion, kind and metadata are always known.
 */
export function validateStructure(
  value: unknown,
  schema: OpenApiSchema,
  path: string,
  errors: FieldError[],
  root = false,
): void {
  check(value, schema, path, errors, { unknownFields: true, root });
}

interface CheckMode {
  /** false inside allOf/anyOf/oneOf/not, which only constrain values and never declare fields. */
  unknownFields: boolean;
  root: boolean;
}

function check(
  value: unknown,
  schema: OpenApiSchema,
  path: string,
  errors: FieldError[],
  mode: CheckMode,
): void {
  if (value === null) {
    if (
      schema.nullable !== true &&
      (schema.type !== undefined || schema['x-kubernetes-int-or-string'] === true)
    ) {
      errors.push({ path, message: `must not be null (expected ${describeType(schema)})` });
    }
    return;
  }
  if (!checkType(value, schema, path, errors)) {
    return;
  }
  checkEnum(value, schema, path, errors);
  if (typeof value === 'string') {
    checkString(value, schema, path, errors);
  } else if (typeof value === 'number') {
    checkNumber(value, schema, path, errors);
  } else if (Array.isArray(value)) {
    checkArray(value, schema, path, errors, mode);
  } else if (isJsonObject(value)) {
    checkObject(value, schema, path, errors, mode);
  }
  checkCombinators(value, schema, path, errors);
}

function describeType(schema: OpenApiSchema): string {
  if (schema['x-kubernetes-int-or-string'] === true) {
    return 'integer or string';
  }
  return schema.type ?? 'any value';
}

/** Whether `value` has the JSON type the schema declares (any type when it declares none). */
export function typeMatches(value: unknown, schema: OpenApiSchema): boolean {
  if (schema['x-kubernetes-int-or-string'] === true) {
    return typeof value === 'string' || Number.isInteger(value);
  }
  switch (schema.type) {
    case 'object':
      return isJsonObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return true;
  }
}

function checkType(value: unknown, schema: OpenApiSchema, path: string, errors: FieldError[]): boolean {
  const ok = typeMatches(value, schema);
  if (!ok) {
    errors.push({ path, message: `must be ${describeType(schema)}, got ${describeValue(value)}` });
  }
  return ok;
}

export function describeValue(value: unknown): string {
  if (Array.isArray(value)) {
    return 'array';
  }
  if (value === null) {
    return 'null';
  }
  if (typeof value === 'number' && !Number.isInteger(value)) {
    return `number ${String(value)}`;
  }
  if (typeof value === 'string') {
    return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  }
  return typeof value === 'object' ? 'object' : `${typeof value} ${String(value)}`;
}

function checkEnum(value: unknown, schema: OpenApiSchema, path: string, errors: FieldError[]): void {
  if (schema.enum === undefined) {
    return;
  }
  const key = canonicalJson(value);
  if (!schema.enum.some((allowed) => canonicalJson(allowed) === key)) {
    const allowed = schema.enum.map((entry) => JSON.stringify(entry)).join(', ');
    errors.push({ path, message: `must be one of ${allowed}, got ${describeValue(value)}` });
  }
}

const patternCache = new Map<string, RegExp | Error>();

/** Compiles an RE2 pattern (the API server's dialect) as an ECMAScript regular expression. */
export function compilePattern(pattern: string): RegExp | Error {
  let compiled = patternCache.get(pattern);
  if (compiled === undefined) {
    try {
      compiled = new RegExp(pattern, 'u');
    } catch {
      try {
        compiled = new RegExp(pattern);
      } catch (error) {
        compiled = error instanceof Error ? error : new Error(String(error));
      }
    }
    patternCache.set(pattern, compiled);
  }
  return compiled;
}

/** A count of characters, items or entries within the schema's optional bounds. */
function checkCount(
  count: number,
  min: number | undefined,
  max: number | undefined,
  unit: string,
  path: string,
  errors: FieldError[],
): void {
  if (min !== undefined && count < min) {
    errors.push({ path, message: `must have at least ${String(min)} ${unit}, got ${String(count)}` });
  }
  if (max !== undefined && count > max) {
    errors.push({ path, message: `must have at most ${String(max)} ${unit}, got ${String(count)}` });
  }
}

function checkString(value: string, schema: OpenApiSchema, path: string, errors: FieldError[]): void {
  const length = [...value].length;
  checkCount(length, schema.minLength, schema.maxLength, 'characters', path, errors);
  if (schema.pattern !== undefined) {
    const regex = compilePattern(schema.pattern);
    if (regex instanceof Error) {
      errors.push({ path, message: `schema pattern ${schema.pattern} cannot be compiled: ${regex.message}` });
    } else if (!regex.test(value)) {
      errors.push({ path, message: `${describeValue(value)} must match pattern ${schema.pattern}` });
    }
  }
  if (schema.format !== undefined && !matchesFormat(schema.format, value)) {
    errors.push({ path, message: `${describeValue(value)} is not a valid ${schema.format}` });
  }
}

function checkNumber(value: number, schema: OpenApiSchema, path: string, errors: FieldError[]): void {
  if (schema.minimum !== undefined) {
    const below = schema.exclusiveMinimum === true ? value <= schema.minimum : value < schema.minimum;
    if (below) {
      const bound = schema.exclusiveMinimum === true ? 'greater than' : 'greater than or equal to';
      errors.push({ path, message: `must be ${bound} ${String(schema.minimum)}, got ${String(value)}` });
    }
  }
  if (schema.maximum !== undefined) {
    const above = schema.exclusiveMaximum === true ? value >= schema.maximum : value > schema.maximum;
    if (above) {
      const bound = schema.exclusiveMaximum === true ? 'less than' : 'less than or equal to';
      errors.push({ path, message: `must be ${bound} ${String(schema.maximum)}, got ${String(value)}` });
    }
  }
  if (schema.multipleOf !== undefined && value % schema.multipleOf !== 0) {
    errors.push({
      path,
      message: `must be a multiple of ${String(schema.multipleOf)}, got ${String(value)}`,
    });
  }
  if (schema.format === 'int32' && (value < -2_147_483_648 || value > 2_147_483_647)) {
    errors.push({ path, message: `must fit in a 32-bit integer, got ${String(value)}` });
  }
}

function checkArray(
  value: unknown[],
  schema: OpenApiSchema,
  path: string,
  errors: FieldError[],
  mode: CheckMode,
): void {
  checkCount(value.length, schema.minItems, schema.maxItems, 'items', path, errors);
  const itemSchema = schema.items;
  if (itemSchema !== undefined) {
    value.forEach((item, index) => {
      check(item, itemSchema, indexPath(path, index), errors, { ...mode, root: false });
    });
  }
  const listType = schema['x-kubernetes-list-type'];
  if (listType === 'set' || schema.uniqueItems === true) {
    reportDuplicates(
      value.map((item) => canonicalJson(item)),
      path,
      errors,
      'duplicate entry',
    );
  } else if (listType === 'map') {
    const keys = schema['x-kubernetes-list-map-keys'] ?? [];
    const tuples = value.map((item) =>
      canonicalJson(keys.map((key) => (isJsonObject(item) ? (item[key] ?? null) : null))),
    );
    reportDuplicates(tuples, path, errors, `duplicate entry for key (${keys.join(', ')})`);
  }
}

function reportDuplicates(keys: string[], path: string, errors: FieldError[], what: string): void {
  const seen = new Set<string>();
  keys.forEach((key, index) => {
    if (seen.has(key)) {
      errors.push({ path: indexPath(path, index), message: `${what}: ${key}` });
    }
    seen.add(key);
  });
}

const resourceFields = new Set(['apiVersion', 'kind', 'metadata']);

function checkObject(
  value: JsonObject,
  schema: OpenApiSchema,
  path: string,
  errors: FieldError[],
  mode: CheckMode,
): void {
  const properties = schema.properties ?? {};
  const additional = schema.additionalProperties;
  const embedded = schema['x-kubernetes-embedded-resource'] === true;
  for (const key of schema.required ?? []) {
    if (value[key] === undefined) {
      errors.push({ path: childPath(path, key), message: 'required field is missing' });
    }
  }
  const count = Object.keys(value).length;
  checkCount(count, schema.minProperties, schema.maxProperties, 'entries', path, errors);
  if ((mode.root || embedded) && value.metadata !== undefined && properties.metadata === undefined) {
    checkObjectMeta(value.metadata, childPath(path, 'metadata'), errors);
  }
  for (const [key, child] of Object.entries(value)) {
    const childPathText = childPath(path, key);
    const propertySchema = properties[key];
    if (propertySchema !== undefined) {
      if ((mode.root || embedded) && key === 'metadata') {
        checkObjectMeta(child, childPathText, errors);
      } else {
        check(child, propertySchema, childPathText, errors, { ...mode, root: false });
      }
    } else if (typeof additional === 'object') {
      check(child, additional, childPathText, errors, { ...mode, root: false });
    } else if ((mode.root || embedded) && resourceFields.has(key)) {
      if (key !== 'metadata' && typeof child !== 'string') {
        errors.push({ path: childPathText, message: `must be string, got ${describeValue(child)}` });
      }
    } else if (
      mode.unknownFields &&
      additional !== true &&
      schema['x-kubernetes-preserve-unknown-fields'] !== true &&
      (schema.type !== undefined || schema.properties !== undefined)
    ) {
      errors.push({ path: childPathText, message: 'unknown field (not in the schema)' });
    }
  }
  if (embedded) {
    for (const key of ['apiVersion', 'kind']) {
      if (typeof value[key] !== 'string' || value[key] === '') {
        errors.push({
          path: childPath(path, key),
          message: 'embedded resource must have a non-empty string',
        });
      }
    }
  }
}

const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const qualifiedName =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** The parts of ObjectMeta the API server checks on every object, custom or not. */
export function checkObjectMeta(metadata: unknown, path: string, errors: FieldError[]): void {
  if (!isJsonObject(metadata)) {
    errors.push({ path, message: `must be object, got ${describeValue(metadata)}` });
    return;
  }
  for (const key of ['name', 'namespace', 'generateName']) {
    const field = metadata[key];
    if (field !== undefined && typeof field !== 'string') {
      errors.push({ path: childPath(path, key), message: `must be string, got ${describeValue(field)}` });
    }
  }
  for (const key of ['labels', 'annotations']) {
    const map = metadata[key];
    if (map === undefined || map === null) {
      continue;
    }
    const mapPath = childPath(path, key);
    if (!isJsonObject(map)) {
      errors.push({ path: mapPath, message: `must be a map of strings, got ${describeValue(map)}` });
      continue;
    }
    for (const [entryKey, entryValue] of Object.entries(map)) {
      const entryPath = childPath(mapPath, entryKey);
      if (typeof entryValue !== 'string') {
        errors.push({ path: entryPath, message: `must be string, got ${describeValue(entryValue)}` });
      } else if (key === 'labels' && (entryValue.length > 63 || !labelValue.test(entryValue))) {
        errors.push({ path: entryPath, message: `${describeValue(entryValue)} is not a valid label value` });
      }
      if (!qualifiedName.test(entryKey) || (entryKey.split('/').at(-1) ?? '').length > 63) {
        errors.push({
          path: entryPath,
          message: `${JSON.stringify(entryKey)} is not a valid ${key.slice(0, -1)} key`,
        });
      }
    }
  }
}

function checkCombinators(value: unknown, schema: OpenApiSchema, path: string, errors: FieldError[]): void {
  const valueOnly: CheckMode = { unknownFields: false, root: false };
  const failures = (sub: OpenApiSchema): FieldError[] => {
    const found: FieldError[] = [];
    check(value, sub, path, found, valueOnly);
    return found;
  };
  for (const sub of schema.allOf ?? []) {
    errors.push(...failures(sub));
  }
  if (schema.anyOf !== undefined && !schema.anyOf.some((sub) => failures(sub).length === 0)) {
    const reasons = schema.anyOf.flatMap(failures).map((error) => error.message);
    errors.push({
      path,
      message: `must match at least one allowed shape (${[...new Set(reasons)].join('; ')})`,
    });
  }
  if (schema.oneOf !== undefined) {
    const matching = schema.oneOf.filter((sub) => failures(sub).length === 0).length;
    if (matching !== 1) {
      errors.push({ path, message: `must match exactly one allowed shape, matches ${String(matching)}` });
    }
  }
  if (schema.not !== undefined && failures(schema.not).length === 0) {
    errors.push({ path, message: 'must not match the excluded shape' });
  }
}

/** JSON with sorted keys, for equality of values regardless of key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map(canonicalJson).join(',')}]`;
  }
  if (isJsonObject(value)) {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
