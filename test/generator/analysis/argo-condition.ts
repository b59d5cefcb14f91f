// Argo Rollouts' analysis verdicts: successCondition and failureCondition are expr-lang expressions over
// `result`, which the Prometheus provider sets to the query's values ([]float64 for an instant vector, one
// value for a scalar). This evaluates the subset our templates use (len, isNaN, indexing, comparisons, !, &&,
// ||) with expr-lang's semantics; anything else is an error, not a guess.
import jsep, { type Expression } from 'jsep';

export type MeasurementPhase = 'Successful' | 'Failed' | 'Inconclusive';

type Value = number | boolean | readonly number[];

function evaluate(node: Expression, result: readonly number[]): Value {
  switch (node.type) {
    case 'Literal': {
      const value = node['value'];
      if (typeof value === 'number' || typeof value === 'boolean') return value;
      throw new Error(`unsupported literal ${String(node['raw'])}`);
    }
    case 'Identifier':
      if (node['name'] === 'result') return result;
      throw new Error(`unknown identifier ${String(node['name'])}`);
    case 'MemberExpression': {
      const object = evaluate(node['object'] as Expression, result);
      const index = evaluate(node['property'] as Expression, result);
      if (!Array.isArray(object) || typeof index !== 'number') throw new Error('unsupported member access');
      const element = (object as readonly number[])[index];
      // expr-lang fails the evaluation on an index out of range; Argo Rollouts counts that as an Error.
      if (element === undefined) throw new Error(`index out of range: ${index}`);
      return element;
    }
    case 'CallExpression': {
      const callee = (node['callee'] as Expression)['name'];
      const args = (node['arguments'] as Expression[]).map((arg) => evaluate(arg, result));
      const [first] = args;
      if (callee === 'len' && Array.isArray(first)) return first.length;
      if (callee === 'isNaN' && typeof first === 'number') return Number.isNaN(first);
      throw new Error(`unsupported call ${String(callee)}`);
    }
    case 'UnaryExpression': {
      const argument = evaluate(node['argument'] as Expression, result);
      if (node['operator'] === '!' && typeof argument === 'boolean') return !argument;
      if (node['operator'] === '-' && typeof argument === 'number') return -argument;
      throw new Error(`unsupported unary ${String(node['operator'])}`);
    }
    case 'BinaryExpression': {
      const operator = node['operator'] as string;
      const left = evaluate(node['left'] as Expression, result);
      // && and || short-circuit in expr-lang, which is what makes `len(result) > 0 && result[0] ...` safe.
      if (operator === '&&' || operator === '||') {
        if (typeof left !== 'boolean') throw new Error(`${operator} needs booleans`);
        if (operator === '&&' && !left) return false;
        if (operator === '||' && left) return true;
        const right = evaluate(node['right'] as Expression, result);
        if (typeof right !== 'boolean') throw new Error(`${operator} needs booleans`);
        return right;
      }
      const right = evaluate(node['right'] as Expression, result);
      if (typeof left !== 'number' || typeof right !== 'number') {
        throw new Error(`${operator} needs numbers`);
      }
      switch (operator) {
        case '<':
          return left < right;
        case '<=':
          return left <= right;
        case '>':
          return left > right;
        case '>=':
          return left >= right;
        case '==':
          return left === right;
        case '!=':
          return left !== right;
        default:
          throw new Error(`unsupported operator ${operator}`);
      }
    }
    default:
      throw new Error(`unsupported expression ${node.type}`);
  }
}

export function conditionHolds(condition: string, result: readonly number[]): boolean {
  const value = evaluate(jsep(condition), result);
  if (typeof value !== 'boolean') throw new Error(`condition "${condition}" is not a boolean`);
  return value;
}

/**
 * Argo Rollouts' rule (utils/evaluate, EvaluateResult): both conditions are evaluated; a met failure condition
 * fails the measurement, a met success condition passes it, neither met is Inconclusive.
 */
export function measurementPhase(
  metric: { readonly successCondition: string; readonly failureCondition: string },
  result: readonly number[],
): MeasurementPhase {
  const succeeded = conditionHolds(metric.successCondition, result);
  const failed = conditionHolds(metric.failureCondition, result);
  if (failed) return 'Failed';
  return succeeded ? 'Successful' : 'Inconclusive';
}
