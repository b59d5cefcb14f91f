// What a reviewer must not miss: deleted objects, GPU requests, images, a wider AppProject, a route that
// reaches another backend, a CustomResourceDefinition or an API version change.
import { isDeepStrictEqual } from 'node:util';
import { isJsonObject } from '../../verify/openapi-schema.ts';
import type { FieldChange } from './field-diff.ts';
import { describeId } from './objects.ts';
import type { ApplicationReview, Attention, AttentionReason, ObjectChange } from './report.ts';

const gpuField = /\.(requests|limits)(\.|\[).*(gpu|tpu|neuron|habana)/i;
const imageField = /(^|\.)image$|\.image\.(repository|tag|digest)$/;
const routeField = /(^|\.)(backendRefs|parentRefs|endpointPickerRef|selector)(\.|\[|$)/;
const routeKinds = new Set([
  'HTTPRoute',
  'GRPCRoute',
  'TLSRoute',
  'TCPRoute',
  'InferencePool',
  'VirtualService',
]);
const widening = ['sourceRepos', 'destinations', 'clusterResourceWhitelist', 'namespaceResourceWhitelist'];
const narrowing = ['clusterResourceBlacklist', 'namespaceResourceBlacklist'];

function show(value: unknown): string {
  return value === undefined ? '(none)' : JSON.stringify(value);
}

function fieldMessage(field: FieldChange): string {
  return `${field.path}: ${show(field.before)} → ${show(field.after)}`;
}

/** Entries of a project list present in `after` and not in `before`. */
function gained(before: unknown, after: unknown): unknown[] {
  const old = Array.isArray(before) ? (before as unknown[]) : [];
  const now = Array.isArray(after) ? (after as unknown[]) : [];
  return now.filter((item) => !old.some((previous) => isDeepStrictEqual(previous, item)));
}

/** How an AppProject permits more than before: lists that gained entries, deny lists that lost some. */
export function projectWidening(before: unknown, after: unknown): string[] {
  const spec = (value: unknown): Record<string, unknown> =>
    isJsonObject(value) && isJsonObject(value.spec) ? value.spec : {};
  const messages: string[] = [];
  for (const key of widening) {
    const extra = gained(spec(before)[key], spec(after)[key]);
    if (extra.length > 0) messages.push(`spec.${key} now also permits ${extra.map(show).join(', ')}`);
  }
  for (const key of narrowing) {
    const lifted = gained(spec(after)[key], spec(before)[key]);
    if (lifted.length > 0) messages.push(`spec.${key} no longer denies ${lifted.map(show).join(', ')}`);
  }
  return messages;
}

export function attentionFor(environment: string, review: ApplicationReview): Attention[] {
  const items: Attention[] = [];
  const add = (
    reason: AttentionReason,
    id: ObjectChange | ApplicationReview['removed'][number],
    message: string,
  ): void => {
    const { group, kind, namespace, name } = id;
    items.push({
      reason,
      environment,
      application: review.name,
      object: { group, kind, namespace, name },
      message,
    });
  };
  for (const removed of review.removed) {
    add('deleted', removed, `${describeId(removed)} is deleted`);
    if (removed.kind === 'CustomResourceDefinition')
      add('api', removed, `CustomResourceDefinition ${removed.name} is deleted`);
  }
  for (const added of review.added) {
    if (added.kind === 'CustomResourceDefinition')
      add('api', { ...added, fields: [] }, `CustomResourceDefinition ${added.name} is added`);
  }
  for (const change of review.changed) {
    const subject = describeId(change);
    for (const field of change.fields) {
      if (gpuField.test(field.path)) add('gpu', change, `${subject}: GPU ${fieldMessage(field)}`);
      if (imageField.test(field.path)) add('image', change, `${subject}: image ${fieldMessage(field)}`);
      if (field.path === 'apiVersion') add('api', change, `${subject}: API version ${fieldMessage(field)}`);
      if (routeKinds.has(change.kind) && routeField.test(field.path)) {
        add('route', change, `${subject}: now routes differently, ${fieldMessage(field)}`);
      }
    }
    if (change.kind === 'CustomResourceDefinition')
      add(
        'api',
        change,
        `CustomResourceDefinition ${change.name} changes (${String(change.fields.length)} fields)`,
      );
    for (const message of change.widened ?? []) {
      add('project', change, `${subject}: ${message}`);
    }
  }
  return items;
}
