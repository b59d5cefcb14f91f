// Turns ajv errors into positioned input problems.
import { describeValue, didYouMean, toPointer, type InputProblem } from '../errors.ts';
import { locateIn, type LayeredInput } from '../load/layers.ts';
import { expectedKeyword, type SchemaError } from './schemas.ts';

export function schemaProblems(input: LayeredInput, errors: readonly SchemaError[]): InputProblem[] {
  const problems = new Map<string, InputProblem>();
  for (const error of errors) {
    const segments = pointerSegments(error.instancePath);
    const { path, atKey, message } = explain(error, segments);
    const position = locateIn(input, path, atKey);
    const problem = { ...position, pointer: toPointer(path), message };
    problems.set(`${problem.pointer}\u0000${message}`, problem);
  }
  return [...problems.values()];
}

function explain(
  error: SchemaError,
  segments: string[],
): { path: string[]; atKey: boolean; message: string } {
  const params = error.params as Record<string, unknown>;
  // Only for keywords about one value: error.data of an object-level keyword is the whole object.
  const got = (): string => `, got ${describeValue(error.data)}`;
  switch (error.keyword) {
    case 'required':
      return {
        path: [...segments, String(params.missingProperty)],
        atKey: false,
        message: `expected required property "${String(params.missingProperty)}"`,
      };
    case 'additionalProperties': {
      const allowed = Object.keys((error.parentSchema?.properties ?? {}) as Record<string, unknown>);
      return {
        path: [...segments, String(params.additionalProperty)],
        atKey: true,
        message: `unknown property "${String(params.additionalProperty)}": expected one of ${allowed.join(', ')}${didYouMean(String(params.additionalProperty), allowed)}`,
      };
    }
    case 'type':
      return { path: segments, atKey: false, message: `expected ${String(params.type)}${got()}` };
    case 'enum': {
      const allowed = params.allowedValues as unknown[];
      const suggestion =
        typeof error.data === 'string'
          ? didYouMean(
              error.data,
              allowed.filter((value): value is string => typeof value === 'string'),
            )
          : '';
      return {
        path: segments,
        atKey: false,
        message: `expected one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}${got()}${suggestion}`,
      };
    }
    case 'pattern':
      return { path: segments, atKey: false, message: `expected ${expectedText(error)}${got()}` };
    case 'propertyNames':
      return {
        path: [...segments, String(params.propertyName)],
        atKey: true,
        message: `expected a property name that is a lowercase DNS label, got "${String(params.propertyName)}"`,
      };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return {
        path: segments,
        atKey: false,
        message: `expected a number ${String(params.comparison)} ${String(params.limit)}${got()}`,
      };
    case 'maxLength':
    case 'minLength':
      return {
        path: segments,
        atKey: false,
        message: `expected a string of ${error.keyword === 'maxLength' ? 'at most' : 'at least'} ${String(params.limit)} characters${got()}`,
      };
    case 'maxItems':
    case 'minItems':
      return {
        path: segments,
        atKey: false,
        message: `expected ${error.keyword === 'maxItems' ? 'at most' : 'at least'} ${String(params.limit)} items`,
      };
    case 'format':
      return { path: segments, atKey: false, message: `expected a valid ${String(params.format)}${got()}` };
    default:
      return {
        path: segments,
        atKey: false,
        message: `expected value to satisfy ${error.keyword}: ${error.message ?? ''}${got()}`,
      };
  }
}

/**
 * What a pattern means, in words: the schema's `x-expected` annotation (every pattern of the input schemas has
 * one; a test checks it), else its description.
 */
function expectedText(error: SchemaError): string {
  const schema = error.parentSchema ?? {};
  const words: unknown = schema[expectedKeyword];
  if (typeof words === 'string') return words;
  return typeof schema.description === 'string'
    ? `a string matching ${String(error.schema)} (${schema.description})`
    : `a string matching ${String(error.schema)}`;
}

function pointerSegments(pointer: string): string[] {
  if (pointer === '') {
    return [];
  }
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}
