// Reading plugin parameters with defaults. The JSON Schema already checks configs read from files; these
// checks cover configs built in code and name the plugin and field on failure.

export class PluginConfigError extends Error {
  override readonly name = 'PluginConfigError';
  /** Where in the EndpointPickerConfig the problem is (["plugins", 2, "parameters"]), when known. */
  readonly path: readonly (string | number)[] | undefined;
  constructor(message: string, path?: readonly (string | number)[]) {
    super(message);
    this.path = path;
  }
}

/** Strict plugins reject fields they do not know: a misspelt threshold must not silently mean its default. */
export function onlyFields(
  pluginName: string,
  where: string,
  value: Readonly<Record<string, unknown>>,
  allowed: readonly string[],
): void {
  for (const field of Object.keys(value)) {
    if (!allowed.includes(field)) {
      const expected = allowed.length === 0 ? 'none' : allowed.join(', ');
      throw new PluginConfigError(
        `plugin "${pluginName}": unknown parameter ${where}${field} (expected ${expected})`,
      );
    }
  }
}

export interface ParamReader {
  number(
    field: string,
    fallback: number,
    range?: { min?: number; max?: number; integer?: boolean; duration?: boolean },
  ): number;
  boolean(field: string, fallback: boolean): boolean;
  string<T extends string>(field: string, fallback: T, allowed?: readonly T[]): T;
  record(field: string): Readonly<Record<string, unknown>> | undefined;
  array(field: string): readonly unknown[] | undefined;
}

/** Durations may be given as milliseconds or as strings like "200ms", "2s", "1m". */
function durationMs(value: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(value);
  if (match === null) return undefined;
  const amount = Number(match[1]);
  return match[2] === 'ms' ? amount : match[2] === 's' ? amount * 1000 : amount * 60_000;
}

export function paramReader(pluginName: string, params: Readonly<Record<string, unknown>>): ParamReader {
  const fail = (field: string, expected: string): never => {
    throw new PluginConfigError(
      `plugin "${pluginName}": parameters.${field} must be ${expected}, got ${JSON.stringify(params[field])}`,
    );
  };
  return {
    number(field, fallback, range = {}) {
      const raw = params[field];
      if (raw === undefined) return fallback;
      const { min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY, integer = false } = range;
      const value = typeof raw === 'string' && range.duration === true ? durationMs(raw) : raw;
      const unit = range.duration === true ? ' (milliseconds, or a duration like "200ms")' : '';
      const expected = `${integer ? 'an integer' : 'a number'} in [${min}, ${max}]${unit}`;
      if (typeof value !== 'number' || !Number.isFinite(value)) return fail(field, expected);
      if (value < min || value > max || (integer && !Number.isInteger(value))) return fail(field, expected);
      return value;
    },
    boolean(field, fallback) {
      const raw = params[field];
      if (raw === undefined) return fallback;
      return typeof raw === 'boolean' ? raw : fail(field, 'a boolean');
    },
    string(field, fallback, allowed) {
      const raw = params[field];
      if (raw === undefined) return fallback;
      if (typeof raw !== 'string') return fail(field, 'a string');
      if (allowed !== undefined && !(allowed as readonly string[]).includes(raw)) {
        return fail(field, `one of ${allowed.join(', ')}`);
      }
      return raw as typeof fallback;
    },
    record(field) {
      const raw = params[field];
      if (raw === undefined) return undefined;
      return typeof raw === 'object' && raw !== null && !Array.isArray(raw)
        ? (raw as Record<string, unknown>)
        : fail(field, 'an object');
    },
    array(field) {
      const raw = params[field];
      if (raw === undefined) return undefined;
      return Array.isArray(raw) ? raw : fail(field, 'a list');
    },
  };
}
