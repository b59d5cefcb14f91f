// Field-level differences between two versions of one object.
import { isDeepStrictEqual } from 'node:util';
import { childPath, indexPath, isJsonObject } from '../../verify/openapi-schema.ts';

export interface FieldChange {
  /** `spec.template.spec.containers[0].image`; empty for the whole object. */
  path: string;
  /** Absent when the field is new. */
  before?: unknown;
  /** Absent when the field was removed. */
  after?: unknown;
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
  if (isDeepStrictEqual(before, after)) {
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
