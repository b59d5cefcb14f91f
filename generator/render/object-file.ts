import type { OutputFile } from './types.ts';
import { yamlFile } from './yaml.ts';

/**
 * A YAML file of one environment holding objects the generator builds itself (Applications, AppProjects).
 * The objects ride along so the output check validates them without parsing the text back; the YAML
 * writer's round-trip property test is what makes the two the same.
 */
export function objectFile(path: string, environment: string, ...objects: readonly object[]): OutputFile {
  return { path, content: yamlFile(...objects), environment, objects };
}
