// Validates the Kubernetes objects the generator writes directly (Argo CD Applications and AppProjects),
// from the objects each renderer attaches to its file; values files carry none, and chart templates are
// checked by `npm run validate`, which renders them with helm.
import { validateObject } from '../verify/objects.ts';
import type { OutputFile } from '../render/types.ts';

export function outputObjectErrors(files: readonly OutputFile[]): string[] {
  return files.flatMap((file) =>
    (file.objects ?? []).flatMap((object) => validateObject(object).map((error) => `${file.path}: ${error}`)),
  );
}
