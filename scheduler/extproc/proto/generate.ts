// Regenerates descriptors.generated.ts from the .proto files next to it:
//   node scheduler/extproc/proto/generate.ts          (write)
//   node scheduler/extproc/proto/generate.ts --check  (exit 1 when the committed file is stale)
// The router loads the JSON descriptors at run time, so the bundled router needs no .proto side files.
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { format } from 'prettier';

const protoDir = dirname(fileURLToPath(import.meta.url));
export const protoFiles = ['external_processor.proto', 'health.proto'] as const;
export const generatedPath = join(protoDir, 'descriptors.generated.ts');

export async function renderDescriptorModule(): Promise<string> {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) =>
    target.startsWith('google/') || target.startsWith(protoDir) ? target : join(protoDir, target);
  root.loadSync(
    protoFiles.map((file) => join(protoDir, file)),
    { keepCase: false },
  );
  root.resolveAll();
  const json = JSON.stringify(root.toJSON({ keepComments: false }));
  const source = [
    '// Generated from scheduler/extproc/proto/*.proto by scheduler/extproc/proto/generate.ts; do not edit.',
    '',
    '// protobufjs JSON descriptors (Root.toJSON); typed loosely because protobufjs declares them incompletely.',
    `export const protoDescriptors: Readonly<Record<string, unknown>> = ${json};`,
    '',
  ].join('\n');
  return format(source, { parser: 'typescript', singleQuote: true, printWidth: 110, trailingComma: 'all' });
}

async function main(): Promise<void> {
  const rendered = await renderDescriptorModule();
  if (process.argv.includes('--check')) {
    const committed = await readFile(generatedPath, 'utf8').catch(() => '');
    if (committed !== rendered) {
      console.error(`${generatedPath} is out of date: run node scheduler/extproc/proto/generate.ts`);
      process.exit(1);
    }
    return;
  }
  await writeFile(generatedPath, rendered);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main();
}
