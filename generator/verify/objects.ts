import { unknownCoreFields, unknownFieldsOfType } from './core-fields.ts';
import { findModelClass, validateWithModel } from './model-classes.ts';
import { displayPath, isJsonObject, type FieldError, type JsonObject } from './openapi-schema.ts';
import { findProjectSchema, validateWithProjectSchema } from './project-schemas.ts';
import { objectNameErrors } from './object-names.ts';
import { checkObjectMeta } from './structural.ts';

/** Pod templates inside custom resources that the project schemas leave open, checked as core types. */
const embeddedPodTypes: Record<
  string,
  readonly (readonly [path: string, model: 'PodSpec' | 'PodTemplateSpec'])[]
> = {
  'leaderworkerset.x-k8s.io/v1 LeaderWorkerSet': [
    ['spec.leaderWorkerTemplate.leaderTemplate', 'PodTemplateSpec'],
    ['spec.leaderWorkerTemplate.workerTemplate', 'PodTemplateSpec'],
  ],
  ...Object.fromEntries(
    ['v1alpha1', 'v1alpha2'].flatMap((version) =>
      ['LLMInferenceService', 'LLMInferenceServiceConfig'].map((kind) => [
        `serving.kserve.io/${version} ${kind}`,
        [
          ['spec.template', 'PodSpec'],
          ['spec.worker', 'PodSpec'],
          ['spec.prefill.template', 'PodSpec'],
          ['spec.prefill.worker', 'PodSpec'],
          ['spec.router.scheduler.template', 'PodSpec'],
          ['spec.router.scheduler.tokenizer.template', 'PodSpec'],
        ] as const,
      ]),
    ),
  ),
};

function valueAt(object: JsonObject, path: string): unknown {
  let current: unknown = object;
  for (const key of path.split('.')) {
    current = isJsonObject(current) ? current[key] : undefined;
  }
  return current;
}

/**
 * Finds the problems in one Kubernetes object, dispatching on apiVersion/kind: the project's schemas for the
 * inference, LeaderWorkerSet and KServe kinds, `kubernetes-models` and `@kubernetes-models/*` for the rest.
 * Kinds no schema knows are errors, unless `definedElsewhere` says a CustomResourceDefinition describes them.
 */
export function objectErrors(doc: unknown, definedElsewhere = false): FieldError[] {
  if (!isJsonObject(doc)) {
    return [{ path: '', message: 'a Kubernetes object must be a mapping' }];
  }
  const { apiVersion, kind } = doc;
  if (typeof apiVersion !== 'string' || apiVersion === '' || typeof kind !== 'string' || kind === '') {
    return [{ path: '', message: 'apiVersion and kind must be non-empty strings' }];
  }
  const errors: FieldError[] = [];
  const key = `${apiVersion} ${kind}`;
  const projectSchema = findProjectSchema(apiVersion, kind);
  if (projectSchema !== undefined) {
    errors.push(...validateWithProjectSchema(projectSchema, doc));
    for (const [path, typeName] of embeddedPodTypes[key] ?? []) {
      const embedded = valueAt(doc, path);
      const model = findModelClass('v1', typeName);
      if (embedded !== undefined && model !== undefined) {
        errors.push(...validateWithModel(model, embedded, path));
        errors.push(...unknownFieldsOfType(embedded, `V1${typeName}`, path));
      }
    }
  } else {
    const model = findModelClass(apiVersion, kind);
    if (model !== undefined) {
      errors.push(...validateWithModel(model, doc));
      errors.push(...unknownCoreFields(doc, apiVersion, kind));
    } else if (!definedElsewhere) {
      return [{ path: '', message: `unknown kind: no schema for ${apiVersion} ${kind}` }];
    }
  }
  if (doc.metadata === undefined) {
    errors.push({ path: 'metadata', message: 'required field is missing' });
  } else {
    const seen = new Set(errors.map((error) => error.path));
    const metaErrors: FieldError[] = [];
    checkObjectMeta(doc.metadata, 'metadata', metaErrors);
    if (isJsonObject(doc.metadata)) {
      metaErrors.push(...objectNameErrors(apiVersion, kind, doc.metadata));
    }
    errors.push(...metaErrors.filter((error) => !seen.has(error.path)));
  }
  const unique = new Map(errors.map((error) => [`${error.path}\u0000${error.message}`, error]));
  return [...unique.values()];
}

/** Errors in one Kubernetes object as `<field path>: <message>`; empty when the object is valid. */
export function validateObject(doc: unknown): string[] {
  return objectErrors(doc).map((error) => `${displayPath(error.path)}: ${error.message}`);
}
