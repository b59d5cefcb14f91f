// Objects keyed as Argo CD tracks them: group, kind, namespace and name (the API version is a field of the
// object, so a version change shows as a change, not as a removal and an addition).
import { isJsonObject, type JsonObject } from '../../verify/openapi-schema.ts';
import { isClusterScoped } from '../../verify/projects.ts';

export interface ObjectId {
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

export interface KeyedObject extends ObjectId {
  object: JsonObject;
  /** The template or apps/ file it comes from. */
  source: string;
}

export function groupOf(apiVersion: unknown): string {
  return typeof apiVersion === 'string' && apiVersion.includes('/') ? (apiVersion.split('/')[0] ?? '') : '';
}

export function objectKey(id: ObjectId): string {
  return `${id.group}/${id.kind}/${id.namespace}/${id.name}`;
}

/** `Deployment.apps llm/qwen-vllm`, the way kubectl names a resource. */
export function describeId(id: ObjectId): string {
  const kind = id.group === '' ? id.kind : `${id.kind}.${id.group}`;
  return `${kind} ${id.namespace === '' ? '' : `${id.namespace}/`}${id.name}`;
}

/** Keys an object; a namespaced object without a namespace lands in `defaultNamespace`, as Argo CD places it. */
export function keyObject(object: JsonObject, source: string, defaultNamespace: string): KeyedObject {
  const metadata = isJsonObject(object.metadata) ? object.metadata : {};
  const group = groupOf(object.apiVersion);
  const kind = typeof object.kind === 'string' ? object.kind : '';
  const namespace = isClusterScoped(group, kind, undefined)
    ? ''
    : typeof metadata.namespace === 'string'
      ? metadata.namespace
      : defaultNamespace;
  const name = typeof metadata.name === 'string' ? metadata.name : '(unnamed)';
  return { group, kind, namespace, name, object, source };
}
