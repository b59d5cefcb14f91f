import { celEnv, isCelError, parse, plan, type CelInput, type CelResult } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import {
  childPath,
  indexPath,
  isJsonObject,
  type FieldError,
  type OpenApiSchema,
  type ValidationRule,
} from './openapi-schema.ts';
import { typeMatches } from './structural.ts';

// The API server's CEL environment is the standard library plus Kubernetes libraries and cel-go's string
// extension. The reference CustomResourceDefinitions use only the standard library and `split` from the string
// extension, so that is what this environment offers; any other function makes the rule fail as unsupported.
const environment = celEnv({ funcs: strings });

/** Operators and macros the evaluator handles itself rather than through its function table. */
const builtinOperators = new Set(['_&&_', '_||_', '_?_:_', '_[_]', '@not_strictly_false']);

const supportedFunctions: ReadonlySet<string> = new Set([
  ...builtinOperators,
  ...Array.from(environment.funcs, (func) => func.name),
]);

type Bindings = Record<string, CelInput>;

interface CompiledRule {
  /** Rules that read `oldSelf` compare an update with the stored object; there is none on create. */
  transition: boolean;
  unsupported: string[];
  evaluate: (bindings: Bindings) => CelResult;
}

const compiled = new Map<string, CompiledRule | Error>();

/** Parses and plans a CEL expression once; later calls with the same text reuse the plan. */
export function compileRule(expression: string): CompiledRule | Error {
  let entry = compiled.get(expression);
  if (entry === undefined) {
    try {
      const parsed = parse(expression);
      const calls = new Set<string>();
      const identifiers = new Set<string>();
      collectNames(parsed.expr, calls, identifiers);
      entry = {
        transition: identifiers.has('oldSelf'),
        unsupported: [...calls].filter((name) => !supportedFunctions.has(name)).sort(),
        evaluate: plan(environment, parsed) as (bindings: Bindings) => CelResult,
      };
    } catch (error) {
      entry = new Error(
        `CEL expression does not compile: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    compiled.set(expression, entry);
  }
  return entry;
}

interface ExprNode {
  exprKind?: { case?: string; value?: unknown };
}

function collectNames(node: unknown, calls: Set<string>, identifiers: Set<string>): void {
  if (Array.isArray(node)) {
    for (const child of node) {
      collectNames(child, calls, identifiers);
    }
    return;
  }
  if (typeof node !== 'object' || node === null) {
    return;
  }
  const kind = (node as ExprNode).exprKind;
  if (kind?.case === 'callExpr') {
    calls.add((kind.value as { function: string }).function);
  } else if (kind?.case === 'identExpr') {
    identifiers.add((kind.value as { name: string }).name);
  }
  for (const child of Object.values(node)) {
    if (typeof child === 'object' && child !== null) {
      collectNames(child, calls, identifiers);
    }
  }
}

/**
 * Converts a JSON value to CEL the way the API server types it from the schema: integers become CEL ints
 * (bigint), objects become maps so `has()` and field selection work, untyped numbers keep their JSON kind.
 */
export function toCelValue(value: unknown, schema: OpenApiSchema | undefined): CelInput {
  if (value === null || value === undefined) {
    return null;
  }
  if (typeof value === 'number') {
    const integer =
      schema?.type === 'integer' ||
      schema?.['x-kubernetes-int-or-string'] === true ||
      (schema?.type === undefined && Number.isInteger(value));
    return integer && Number.isInteger(value) ? BigInt(value) : value;
  }
  if (typeof value === 'string' || typeof value === 'boolean') {
    return value;
  }
  if (Array.isArray(value)) {
    return value.map((item) => toCelValue(item, schema?.items));
  }
  if (isJsonObject(value)) {
    const additional =
      typeof schema?.additionalProperties === 'object' ? schema.additionalProperties : undefined;
    const entries = Object.entries(value).map(([key, child]): [string, CelInput] => [
      key,
      toCelValue(child, schema?.properties?.[key] ?? additional),
    ]);
    return new Map(entries);
  }
  return null;
}

/**
 * Evaluates every `x-kubernetes-validations` rule in `schema` against `value` (already defaulted), as on create:
 * transition rules are skipped, rules that fail, error out or use unsupported functions are reported.
 */
export function evaluateValidationRules(
  value: unknown,
  schema: OpenApiSchema,
  path: string,
  errors: FieldError[],
): void {
  // A value of the wrong type is already a structural error; its rules would only fail again, less clearly.
  if (value === undefined || value === null || !typeMatches(value, schema)) {
    return;
  }
  const rules = schema['x-kubernetes-validations'];
  if (rules !== undefined && rules.length > 0) {
    const self = toCelValue(value, schema);
    for (const rule of rules) {
      const failure = evaluateRule(rule, self);
      if (failure !== undefined) {
        errors.push({ path: joinFieldPath(path, rule.fieldPath), message: failure });
      }
    }
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    const items = schema.items;
    value.forEach((item, index) => {
      evaluateValidationRules(item, items, indexPath(path, index), errors);
    });
  } else if (isJsonObject(value)) {
    const additional =
      typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
    for (const [key, child] of Object.entries(value)) {
      const childSchema = schema.properties?.[key] ?? additional;
      if (childSchema !== undefined) {
        evaluateValidationRules(child, childSchema, childPath(path, key), errors);
      }
    }
  }
}

/** Returns the message to report when `rule` does not hold for `self`, undefined when it holds. */
export function evaluateRule(rule: ValidationRule, self: CelInput): string | undefined {
  const program = compileRule(rule.rule);
  if (program instanceof Error) {
    return `${program.message} (rule: ${rule.rule})`;
  }
  if (program.transition) {
    if (rule.optionalOldSelf === true) {
      return `transition rule with optionalOldSelf is not supported by this validator (rule: ${rule.rule})`;
    }
    return undefined;
  }
  if (program.unsupported.length > 0) {
    return `CEL function ${program.unsupported.join(', ')} is not supported by this validator (rule: ${rule.rule})`;
  }
  const result = program.evaluate({ self });
  if (isCelError(result)) {
    return `CEL rule could not be evaluated: ${result.message} (rule: ${rule.rule})`;
  }
  if (result === true) {
    return undefined;
  }
  if (typeof result !== 'boolean') {
    return `CEL rule must evaluate to a bool (rule: ${rule.rule})`;
  }
  return failureMessage(rule, self);
}

function failureMessage(rule: ValidationRule, self: CelInput): string {
  if (rule.messageExpression !== undefined) {
    const program = compileRule(rule.messageExpression);
    if (!(program instanceof Error) && program.unsupported.length === 0 && !program.transition) {
      const message = program.evaluate({ self });
      if (typeof message === 'string' && message.trim() !== '') {
        return message;
      }
    }
  }
  return rule.message ?? `failed rule: ${rule.rule}`;
}

/** Appends a rule's relative `fieldPath` (such as `.spec.port` or `['key']`) to the path of the rule's node. */
function joinFieldPath(path: string, fieldPath: string | undefined): string {
  if (fieldPath === undefined || fieldPath === '') {
    return path;
  }
  if (fieldPath.startsWith('.')) {
    return path === '' ? fieldPath.slice(1) : `${path}${fieldPath}`;
  }
  return `${path}${fieldPath}`;
}
