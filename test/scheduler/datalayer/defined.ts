/** Narrows away undefined/null in tests, failing with a message that says what was missing. */
export function defined<T>(value: T | undefined | null, what = 'value'): T {
  if (value === undefined || value === null) {
    throw new Error(`expected ${what} to be defined`);
  }
  return value;
}
