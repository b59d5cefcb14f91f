// Unknown fields in core Kubernetes objects. The kubernetes-models schemas allow extra properties, but the API
// server rejects them under strict field validation (kubectl's default), so a misspelt field would otherwise
// pass here and fail at sync. The field names come from @kubernetes/client-node's generated models.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { isCoreGroup, nodeModules } from './model-classes.ts';
import { childPath, indexPath, isJsonObject, type FieldError } from './openapi-schema.ts';

interface Attribute {
  baseName: string;
  type: string;
}

const requireModule = createRequire(import.meta.url);
const modelsDir = join(nodeModules, '@kubernetes', 'client-node', 'dist', 'gen', 'models');
const attributeCache = new Map<string, ReadonlyMap<string, string> | null>();

/** Field name → type name of a client-node model class, or undefined when there is no such class. */
function attributesOf(className: string): ReadonlyMap<string, string> | undefined {
  const cached = attributeCache.get(className);
  if (cached !== undefined) {
    return cached ?? undefined;
  }
  let attributes: ReadonlyMap<string, string> | null = null;
  const file = join(modelsDir, `${className}.js`);
  if (/^[A-Za-z0-9]+$/.test(className) && existsSync(file)) {
    const model = (requireModule(file) as Record<string, { attributeTypeMap?: Attribute[] } | undefined>)[
      className
    ];
    if (model?.attributeTypeMap !== undefined) {
      attributes = new Map(model.attributeTypeMap.map((attribute) => [attribute.baseName, attribute.type]));
    }
  }
  attributeCache.set(className, attributes);
  return attributes ?? undefined;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The client-node class of a top-level kind: `V1Deployment`, or group-prefixed like `CoreV1Event`. */
function topLevelClass(apiVersion: string, kind: string): string | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
  if (group === undefined || version === undefined) {
    return undefined;
  }
  const prefix = group === '' ? 'Core' : capitalize(group.split('.')[0] ?? '');
  const candidates = [`${capitalize(version)}${kind}`, `${prefix}${capitalize(version)}${kind}`];
  return candidates.find((name) => {
    const attributes = attributesOf(name);
    return attributes?.has('apiVersion') === true && attributes.has('kind');
  });
}

const arrayType = /^Array<(.+)>$/;
const mapType = /^\{ \[key: string\]: (.+); \}$/;

function walk(value: unknown, type: string, path: string, errors: FieldError[]): void {
  const arrayItem = arrayType.exec(type)?.[1];
  if (arrayItem !== undefined) {
    if (Array.isArray(value)) {
      value.forEach((item, index) => {
        walk(item, arrayItem, indexPath(path, index), errors);
      });
    }
    return;
  }
  const mapValue = mapType.exec(type)?.[1];
  if (mapValue !== undefined) {
    if (isJsonObject(value)) {
      for (const [key, child] of Object.entries(value)) {
        walk(child, mapValue, childPath(path, key), errors);
      }
    }
    return;
  }
  const attributes = attributesOf(type);
  if (attributes === undefined || !isJsonObject(value)) {
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    const childType = attributes.get(key);
    if (childType === undefined) {
      errors.push({ path: childPath(path, key), message: 'unknown field (not in the schema)' });
    } else {
      walk(child, childType, childPath(path, key), errors);
    }
  }
}

/** Unknown fields of a core Kubernetes object; empty for other groups and for kinds without a model. */
export function unknownCoreFields(
  object: Record<string, unknown>,
  apiVersion: string,
  kind: string,
): FieldError[] {
  const group = apiVersion.includes('/') ? (apiVersion.split('/')[0] ?? '') : '';
  if (!isCoreGroup(group)) {
    return [];
  }
  const className = topLevelClass(apiVersion, kind);
  if (className === undefined) {
    return [];
  }
  const errors: FieldError[] = [];
  walk(object, className, '', errors);
  return errors;
}

/** Unknown fields of an embedded core type (`V1PodSpec`, `V1PodTemplateSpec`) at `path`. */
export function unknownFieldsOfType(value: unknown, className: string, path: string): FieldError[] {
  const errors: FieldError[] = [];
  walk(value, className, path, errors);
  return errors;
}
