// Kubernetes object names: at most 63 characters, shortened with a stable hash suffix when longer.
import { createHash } from 'node:crypto';

export const maxNameLength = 63;

export function objectName(...parts: readonly string[]): string {
  const full = parts.filter((p) => p !== '').join('-');
  if (full.length <= maxNameLength) {
    return full;
  }
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  const head = full.slice(0, maxNameLength - hash.length - 1).replace(/-+$/, '');
  return `${head}-${hash}`;
}
