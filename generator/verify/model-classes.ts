import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { joinPaths, pointerToPath, type FieldError } from './openapi-schema.ts';

/** A `kubernetes-models` class: construct with data, `validate()` throws with ajv-style errors when invalid. */
interface ModelClass {
  new (data: unknown): { validate(): void };
}

interface AjvStyleError {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

const requireModule = createRequire(import.meta.url);

function findNodeModules(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'node_modules', 'kubernetes-models');
    if (existsSync(candidate)) {
      return join(dir, 'node_modules');
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error('kubernetes-models is not installed (run npm ci)');
    }
    dir = parent;
  }
}

export const nodeModules = findNodeModules();

/** True for the API groups of Kubernetes itself (those `kubernetes-models` covers). */
export function isCoreGroup(group: string): boolean {
  return packagesFor(group)[0] === 'kubernetes-models';
}

/** Which model packages define the kinds of an API group, in lookup order. */
function packagesFor(group: string): string[] {
  if (group === 'argoproj.io') {
    return ['@kubernetes-models/argo-cd', '@kubernetes-models/argo-rollouts'];
  }
  if (group === 'gateway.networking.k8s.io' || group === 'gateway.networking.x-k8s.io') {
    return ['@kubernetes-models/gateway-api'];
  }
  if (group === 'cert-manager.io' || group.endsWith('.cert-manager.io') || group === 'trust-manager.io') {
    return ['@kubernetes-models/cert-manager'];
  }
  if (group.endsWith('.istio.io')) {
    return ['@kubernetes-models/istio'];
  }
  if (group === 'monitoring.coreos.com') {
    return ['@kubernetes-models/prometheus-operator'];
  }
  if (group === 'keda.sh' || group === 'eventing.keda.sh') {
    return ['@kubernetes-models/keda'];
  }
  return ['kubernetes-models'];
}

const safeSegment = /^[A-Za-z0-9][A-Za-z0-9.-]*$/;
const cache = new Map<string, ModelClass | null>();

/**
 * The model class for `apiVersion`/`kind`, loaded on first use from the package's per-kind module (importing
 * whole packages would cost seconds), or undefined when no package defines the kind.
 */
export function findModelClass(apiVersion: string, kind: string): ModelClass | undefined {
  const cacheKey = `${apiVersion} ${kind}`;
  const cached = cache.get(cacheKey);
  if (cached !== undefined) {
    return cached ?? undefined;
  }
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
  let found: ModelClass | null = null;
  const safe =
    group !== undefined &&
    version !== undefined &&
    (group === '' || safeSegment.test(group)) &&
    safeSegment.test(version) &&
    safeSegment.test(kind);
  if (safe) {
    for (const pkg of packagesFor(group)) {
      // Core kinds live in `<package>/<version>/`, the others in `<package>/<group>/<version>/`.
      const file = join(nodeModules, pkg, group, version, `${kind}.js`);
      if (existsSync(file)) {
        const exported = (requireModule(file) as Record<string, unknown>)[kind];
        if (typeof exported === 'function') {
          found = exported as ModelClass;
          break;
        }
      }
    }
  }
  cache.set(cacheKey, found);
  return found ?? undefined;
}

/** Validates `data` with a model class and returns its errors as field errors under `basePath`. */
export function validateWithModel(model: ModelClass, data: unknown, basePath = ''): FieldError[] {
  try {
    new model(data).validate();
    return [];
  } catch (error) {
    const details = (error as { errors?: unknown }).errors;
    if (!Array.isArray(details)) {
      return [{ path: basePath, message: error instanceof Error ? error.message : String(error) }];
    }
    return (details as AjvStyleError[]).map((detail) => ajvFieldError(detail, basePath));
  }
}

/** An ajv error as a field error; a missing required property is reported at the property's own path. */
export function ajvFieldError(error: AjvStyleError, basePath = ''): FieldError {
  const path = joinPaths(basePath, pointerToPath(error.instancePath ?? ''));
  const missing = error.params?.missingProperty;
  if (typeof missing === 'string') {
    return { path: joinPaths(path, pointerToPath(`/${missing}`)), message: 'required field is missing' };
  }
  return { path, message: describeAjvError(error) };
}

export function describeAjvError(error: AjvStyleError): string {
  const params = error.params ?? {};
  if (typeof params.additionalProperty === 'string') {
    return `unknown field ${JSON.stringify(params.additionalProperty)}`;
  }
  if (Array.isArray(params.allowedValues)) {
    return `${error.message ?? 'invalid value'}: ${params.allowedValues.map((value) => JSON.stringify(value)).join(', ')}`;
  }
  return error.message ?? 'invalid value';
}
