// The models of one environment behind its shared OpenAI endpoint: every name a client may put in the body's
// `model` field (served names, aliases, LoRA adapters), the model that answers to it, the merged
// `GET /v1/models` list, and the objectives clients may choose themselves. The generator writes the catalog;
// the body-based router reads it.
import { parse } from 'yaml';

export type CatalogNameKind = 'model' | 'alias' | 'adapter';

export interface CatalogName {
  /** What clients send in `model`. */
  readonly name: string;
  /** The served name of the model that answers to it: the value of the routing header. */
  readonly model: string;
  readonly kind: CatalogNameKind;
}

export interface ModelCatalog {
  readonly names: ReadonlyMap<string, CatalogName>;
  /**
   * InferenceObjectives a client may ask for itself in `x-llm-d-inference-objective` (those that raise no
   * priority above normal); any other value is removed at the gateway.
   */
  readonly clientObjectives: ReadonlySet<string>;
  /** OpenAI's list-models response body. */
  modelList(created: number): { object: 'list'; data: Record<string, unknown>[] };
}

export class CatalogError extends Error {
  constructor(source: string, message: string) {
    super(`${source}: ${message}`);
    this.name = 'CatalogError';
  }
}

function stringList(value: unknown, source: string, where: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item.length > 0)) {
    throw new CatalogError(source, `${where}: expected a list of non-empty strings`);
  }
  return value as string[];
}

/**
 * Parses `models: [{name, aliases?, adapters?}]`. A name claimed twice is an error: a request naming it could
 * not say which model it means.
 */
export function parseModelCatalog(text: string, source: string): ModelCatalog {
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    throw new CatalogError(source, `not YAML: ${(error as Error).message}`);
  }
  const models = (document as { models?: unknown } | null)?.models;
  const clientObjectives = new Set(
    stringList(
      (document as { clientObjectives?: unknown } | null)?.clientObjectives,
      source,
      'clientObjectives',
    ),
  );
  if (!Array.isArray(models)) {
    throw new CatalogError(source, 'expected a mapping with a list "models"');
  }
  const names = new Map<string, CatalogName>();
  const claim = (entry: CatalogName, where: string): void => {
    const owner = names.get(entry.name);
    if (owner !== undefined) {
      throw new CatalogError(source, `${where}: "${entry.name}" is also a name of model "${owner.model}"`);
    }
    names.set(entry.name, entry);
  };
  models.forEach((item: unknown, index) => {
    const where = `models[${index}]`;
    const record = item as { name?: unknown; aliases?: unknown; adapters?: unknown } | null;
    if (typeof record?.name !== 'string' || record.name.length === 0) {
      throw new CatalogError(source, `${where}.name: expected a non-empty string`);
    }
    const model = record.name;
    claim({ name: model, model, kind: 'model' }, `${where}.name`);
    for (const alias of stringList(record.aliases, source, `${where}.aliases`)) {
      claim({ name: alias, model, kind: 'alias' }, `${where}.aliases`);
    }
    for (const adapter of stringList(record.adapters, source, `${where}.adapters`)) {
      claim({ name: adapter, model, kind: 'adapter' }, `${where}.adapters`);
    }
  });
  return {
    names,
    clientObjectives,
    modelList: (created) => ({
      object: 'list',
      data: [...names.values()].map((entry) => ({
        id: entry.name,
        object: 'model',
        created,
        owned_by: 'switchyard',
        // As vLLM lists them: an adapter's parent is its base model; an alias is the model under another name.
        root: entry.kind === 'adapter' ? entry.name : entry.model,
        parent: entry.kind === 'model' ? null : entry.model,
      })),
    }),
  };
}
