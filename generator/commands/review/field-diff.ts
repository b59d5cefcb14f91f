// Field-level differences between two versions of one object.
import { childPath, indexPath, isJsonObject } from '../../verify/openapi-schema.ts';

export interface FieldChange {
  /** `spec.template.spec.containers[0].image`; empty for the whole object. */
  path: string;
  /** Absent when the field is new. */
  before?: unknown;
  /** Absent when the field was removed. */
  after?: unknown;
}

export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) {
    return true;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, index) => sameValue(item, b[index]));
  }
  if (isJsonObject(a) && isJsonObject(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length && keys.every((key) => key in b && sameValue(a[key], b[key]))
    );
  }
  return false;
}

function change(path: string, before: unknown, after: unknown): FieldChange {
  return {
    path,
    ...(before === undefined ? {} : { before }),
    ...(after === undefined ? {} : { after }),
  };
}

/** The leaves that differ, in document order; lists are compared item by item. */
export function fieldChanges(before: unknown, after: unknown, path = ''): FieldChange[] {
  if (sameValue(before, after)) {
    return [];
  }
  if (isJsonObject(before) && isJsonObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => fieldChanges(before[key], after[key], childPath(path, key)));
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const length = Math.max(before.length, after.length);
    return Array.from({ length }, (_, index) =>
      fieldChanges(before[index], after[index], indexPath(path, index)),
    ).flat();
  }
  return [change(path, before, after)];
}
