// Validates the Kubernetes objects the generator writes directly (Argo CD Applications and AppProjects),
// from the objects a renderer attached or else by parsing the file; chart templates are checked by
// `npm run validate`, which renders them with helm.
import { parseAllDocuments } from 'yaml';
import { validateObject } from '../verify/objects.ts';
import type { OutputFile } from '../render/types.ts';

export function outputObjectErrors(files: readonly OutputFile[]): string[] {
  const errors: string[] = [];
  for (const file of files) {
    if (file.objects !== undefined) {
      for (const object of file.objects) {
        errors.push(...validateObject(object).map((error) => `${file.path}: ${error}`));
      }
      continue;
    }
    if (!file.path.startsWith('apps/') || !file.path.endsWith('.yaml')) {
      continue;
    }
    for (const document of parseAllDocuments(file.content)) {
      if (document instanceof Array || document.errors.length > 0) {
        errors.push(`${file.path}: generated YAML does not parse`);
        continue;
      }
      const object: unknown = document.toJS();
      if (object === null) {
        continue;
      }
      errors.push(...validateObject(object).map((error) => `${file.path}: ${error}`));
    }
  }
  return errors;
}
