// Filters: drop candidates that must not serve the request.
import type { PluginSpec } from '../types.ts';
import { paramReader, PluginConfigError } from './params.ts';
import type { FilterPlugin } from './plugin.ts';

export const ROLE_LABEL = 'llm-d.ai/role';
const DECODE_ROLES = new Set(['decode', 'prefill-decode', 'encode-prefill-decode', 'both']);
const PREFILL_ROLES = new Set([
  'prefill',
  'prefill-decode',
  'encode-prefill',
  'encode-prefill-decode',
  'both',
]);

/** decode-filter keeps decode-capable pods and pods without a role label; prefill-filter keeps prefill pods. */
export function roleFilter(spec: PluginSpec, role: 'decode' | 'prefill'): FilterPlugin {
  const roles = role === 'decode' ? DECODE_ROLES : PREFILL_ROLES;
  return {
    kind: 'filter',
    type: spec.type,
    name: spec.name,
    filter(_request, candidates) {
      return candidates.filter((e) => {
        const value = e.labels[ROLE_LABEL];
        return value === undefined ? role === 'decode' : roles.has(value);
      });
    },
  };
}

interface LabelExpression {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values: readonly string[];
}

function readExpressions(name: string, raw: readonly unknown[] | undefined): LabelExpression[] {
  return (raw ?? []).map((item, i) => {
    const fail = (what: string): never => {
      throw new PluginConfigError(`plugin "${name}": parameters.matchExpressions[${i}] ${what}`);
    };
    if (typeof item !== 'object' || item === null) return fail('must be an object');
    const { key, operator, values } = item as Record<string, unknown>;
    if (typeof key !== 'string') return fail('needs a string "key"');
    if (operator !== 'In' && operator !== 'NotIn' && operator !== 'Exists' && operator !== 'DoesNotExist') {
      return fail('needs "operator" In, NotIn, Exists or DoesNotExist');
    }
    const list = values ?? [];
    if (!Array.isArray(list) || !list.every((v) => typeof v === 'string')) {
      return fail('"values" must be a list of strings');
    }
    if ((operator === 'In' || operator === 'NotIn') && list.length === 0) {
      return fail(`with operator ${operator} needs non-empty "values"`);
    }
    return { key, operator, values: list as string[] };
  });
}

/** label-selector-filter: Kubernetes label selector semantics (matchLabels AND matchExpressions). */
export function labelSelectorFilter(spec: PluginSpec): FilterPlugin {
  const params = paramReader(spec.name, spec.parameters);
  const matchLabels = Object.entries(params.record('matchLabels') ?? {}).map(([k, v]) => {
    if (typeof v !== 'string') {
      throw new PluginConfigError(`plugin "${spec.name}": parameters.matchLabels.${k} must be a string`);
    }
    return [k, v] as const;
  });
  const expressions = readExpressions(spec.name, params.array('matchExpressions'));
  return {
    kind: 'filter',
    type: spec.type,
    name: spec.name,
    filter(_request, candidates) {
      return candidates.filter((e) => {
        for (const [k, v] of matchLabels) if (e.labels[k] !== v) return false;
        for (const x of expressions) {
          const value = e.labels[x.key];
          const ok =
            x.operator === 'Exists'
              ? value !== undefined
              : x.operator === 'DoesNotExist'
                ? value === undefined
                : x.operator === 'In'
                  ? value !== undefined && x.values.includes(value)
                  : value === undefined || !x.values.includes(value);
          if (!ok) return false;
        }
        return true;
      });
    },
  };
}
