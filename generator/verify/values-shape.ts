// The shape of a chart's values: which keys are set, and the booleans and URI schemes that templates branch
// on, without the strings and numbers that differ from one model to the next. `helm lint` runs once per
// chart and shape; every Application is still rendered and validated on its own.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { isJsonObject } from './openapi-schema.ts';

function leaves(value: unknown, path: string, out: Set<string>): void {
  if (isJsonObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0) out.add(`${path}={}`);
    for (const key of keys) leaves(value[key], `${path}.${key}`, out);
  } else if (Array.isArray(value)) {
    if (value.length === 0) out.add(`${path}=[]`);
    for (const item of value as unknown[]) leaves(item, `${path}[]`, out);
  } else if (typeof value === 'boolean' || value === null) {
    out.add(`${path}=${String(value)}`);
  } else if (typeof value === 'string') {
    out.add(`${path}:${/^([a-z][a-z0-9+.-]*):\/\//.exec(value)?.[1] ?? 'string'}`);
  } else {
    out.add(`${path}:${typeof value}`);
  }
}

/** A key equal for value files that differ only in strings and numbers; the file names when one is unreadable. */
export function valuesShape(root: string, files: readonly string[]): string {
  return files
    .map((file) => {
      try {
        const out = new Set<string>();
        leaves(parse(readFileSync(join(root, file), 'utf8')) as unknown, '', out);
        return [...out].sort().join('\n');
      } catch {
        return `unreadable ${file}`;
      }
    })
    .join('\0');
}
