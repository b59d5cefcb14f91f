// InferenceObjective and InferenceModelRewrite tables of the pool's namespace, built from the watched objects.

/** Priority per InferenceObjective name, for objectives whose spec.poolRef names our pool. */
export function objectivePriorities(objects: Iterable<unknown>, poolName: string): Map<string, number> {
  const table = new Map<string, number>();
  for (const obj of objects) {
    const o = obj as {
      metadata?: { name?: string };
      spec?: { poolRef?: { name?: string }; priority?: unknown };
    };
    const name = o.metadata?.name;
    if (name === undefined || o.spec?.poolRef?.name !== poolName) {
      continue;
    }
    const p = o.spec.priority;
    table.set(name, typeof p === 'number' && Number.isInteger(p) ? p : 0);
  }
  return table;
}

export interface RewriteTarget {
  readonly model: string;
  readonly weight: number;
}

export interface RewriteRule {
  /** Exact model names this rule matches; empty matches every model. */
  readonly models: readonly string[];
  readonly targets: readonly RewriteTarget[];
  /** "namespace/name#index" of the rule, for logs. */
  readonly source: string;
}

/**
 * Rules of the InferenceModelRewrites that reference our pool, in precedence order: oldest object first
 * (creationTimestamp, then name), rules in the order written; rules naming a model exactly come before
 * catch-all rules.
 */
export function rewriteRules(objects: Iterable<unknown>, poolName: string): RewriteRule[] {
  interface Raw {
    metadata?: { name?: string; namespace?: string; creationTimestamp?: unknown };
    spec?: {
      poolRef?: { name?: string };
      rules?: {
        matches?: { model?: { value?: string } }[];
        targets?: { modelRewrite?: string; weight?: number }[];
      }[];
    };
  }
  const list = [...objects]
    .map((o) => o as Raw)
    .filter((o) => o.spec?.poolRef?.name === poolName)
    .sort((a, b) => {
      const ta = String(timeOf(a.metadata?.creationTimestamp));
      const tb = String(timeOf(b.metadata?.creationTimestamp));
      if (ta !== tb) {
        return ta < tb ? -1 : 1;
      }
      const na = a.metadata?.name ?? '';
      const nb = b.metadata?.name ?? '';
      return na < nb ? -1 : na > nb ? 1 : 0;
    });
  const exact: RewriteRule[] = [];
  const catchAll: RewriteRule[] = [];
  for (const o of list) {
    (o.spec?.rules ?? []).forEach((rule, index) => {
      const targets = (rule.targets ?? [])
        .filter((t) => typeof t.modelRewrite === 'string' && t.modelRewrite.length > 0)
        .map((t) => ({ model: t.modelRewrite ?? '', weight: typeof t.weight === 'number' ? t.weight : 1 }));
      if (targets.length === 0) {
        return;
      }
      const models = (rule.matches ?? [])
        .map((m) => m.model?.value)
        .filter((v): v is string => typeof v === 'string' && v.length > 0);
      const source = `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}#${index}`;
      (models.length > 0 ? exact : catchAll).push({ models, targets, source });
    });
  }
  return [...exact, ...catchAll];
}

function timeOf(t: unknown): string {
  if (t instanceof Date) {
    return t.toISOString();
  }
  return typeof t === 'string' ? t : '';
}

/** Applies the first matching rule; `pick` in [0,1) chooses among weighted targets. */
export function applyRewrite(
  rules: readonly RewriteRule[],
  model: string,
  pick: number,
): { targetModel: string; rewritten: boolean } {
  for (const rule of rules) {
    if (rule.models.length > 0 && !rule.models.includes(model)) {
      continue;
    }
    const total = rule.targets.reduce((s, t) => s + t.weight, 0);
    let threshold = Math.min(Math.max(pick, 0), 0.999999999) * total;
    for (const t of rule.targets) {
      threshold -= t.weight;
      if (threshold < 0) {
        return { targetModel: t.model, rewritten: t.model !== model };
      }
    }
    const last = rule.targets[rule.targets.length - 1];
    if (last !== undefined) {
      return { targetModel: last.model, rewritten: last.model !== model };
    }
  }
  return { targetModel: model, rewritten: false };
}
