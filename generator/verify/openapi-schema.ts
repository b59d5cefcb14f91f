/** The subset of a CustomResourceDefinition's openAPIV3Schema that the API server acts on. */
export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
  reason?: string;
  optionalOldSelf?: boolean;
}

export interface OpenApiSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  properties?: Record<string, OpenApiSchema>;
  additionalProperties?: OpenApiSchema | boolean;
  items?: OpenApiSchema;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  nullable?: boolean;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  allOf?: OpenApiSchema[];
  anyOf?: OpenApiSchema[];
  oneOf?: OpenApiSchema[];
  not?: OpenApiSchema;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: ValidationRule[];
}

/** One problem found in an object, located by a Kubernetes-style field path such as `spec.rules[0].matches`. */
export interface FieldError {
  path: string;
  message: string;
}

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const plainKey = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function childPath(parent: string, key: string): string {
  if (plainKey.test(key)) {
    return parent === '' ? key : `${parent}.${key}`;
  }
  return `${parent}[${JSON.stringify(key)}]`;
}

export function indexPath(parent: string, index: number): string {
  return `${parent}[${String(index)}]`;
}

/** Turns an ajv-style JSON pointer (`/spec/rules/0`) into a field path (`spec.rules[0]`). */
export function pointerToPath(pointer: string): string {
  if (pointer === '') {
    return '';
  }
  let path = '';
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    path = /^\d+$/.test(key) ? indexPath(path, Number(key)) : childPath(path, key);
  }
  return path;
}

/** Joins a field path and a path relative to it (`spec` + `containers[0]` → `spec.containers[0]`). */
export function joinPaths(base: string, relative: string): string {
  if (base === '' || relative === '') {
    return base + relative;
  }
  return relative.startsWith('[') ? `${base}${relative}` : `${base}.${relative}`;
}

export function displayPath(path: string): string {
  return path === '' ? '(root)' : path;
}
