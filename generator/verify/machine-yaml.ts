// YAML that machines wrote: helm's rendered output and third-party CustomResourceDefinitions. Both are large and
// need no source positions, so they are read with js-yaml, several times faster than the position-keeping
// parser used for the project's own files (load/yaml-source.ts). Core schema in both, as YAML 1.2 reads them.
import { CORE_SCHEMA, loadAll, YAMLException } from 'js-yaml';

export type MachineYaml =
  | { ok: true; documents: unknown[] }
  /** `at`: `:line:column` of the error, or empty when js-yaml gives no position. */
  | { ok: false; at: string; reason: string };

/** Every document of `text` (null documents included), or the first syntax error. */
export function parseMachineYaml(text: string): MachineYaml {
  const documents: unknown[] = [];
  try {
    loadAll(text, (document) => documents.push(document), { schema: CORE_SCHEMA });
  } catch (error) {
    if (error instanceof YAMLException) {
      const at =
        error.mark === undefined ? '' : `:${String(error.mark.line + 1)}:${String(error.mark.column + 1)}`;
      return { ok: false, at, reason: error.reason };
    }
    throw error;
  }
  return { ok: true, documents };
}
