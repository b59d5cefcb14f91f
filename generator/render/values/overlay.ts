// A values file that holds only what differs from a chart's defaults, with Helm's merge semantics: maps
// merge key by key, lists and scalars replace, and null deletes a default key.

type Values = Readonly<Record<string, unknown>>;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, index) => deepEqual(item, b[index]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length && keys.every((key) => key in b && deepEqual(a[key], b[key]))
    );
  }
  return false;
}

/** The smallest values file that turns `defaults` into `desired` when Helm merges it over them. */
export function valuesOverlay(defaults: Values, desired: Values): Record<string, unknown> {
  const overlay: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(desired)) {
    const base = defaults[key];
    if (isPlainObject(base) && isPlainObject(value)) {
      const nested = valuesOverlay(base, value);
      if (Object.keys(nested).length > 0) overlay[key] = nested;
    } else if (!(key in defaults) || !deepEqual(base, value)) {
      overlay[key] = value;
    }
  }
  for (const key of Object.keys(defaults)) {
    if (!(key in desired)) overlay[key] = null;
  }
  return overlay;
}

/** What Helm computes from defaults and one values file (the inverse of valuesOverlay). */
export function mergeValues(defaults: Values, overlay: Values): Record<string, unknown> {
  const merged = new Map<string, unknown>(Object.entries(defaults));
  for (const [key, value] of Object.entries(overlay)) {
    const base = merged.get(key);
    if (value === null) {
      merged.delete(key);
    } else if (isPlainObject(base) && isPlainObject(value)) {
      merged.set(key, mergeValues(base, value));
    } else {
      merged.set(key, value);
    }
  }
  return Object.fromEntries(merged);
}
