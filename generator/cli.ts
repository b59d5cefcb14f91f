// Switchyard's command line: generate, validate, new-model.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { runGenerate } from './commands/generate.ts';
import { runNewModel } from './commands/new-model.ts';
import { runReview } from './commands/review.ts';
import { runValidate } from './commands/validate.ts';

const defaultRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const terminal = { out: (line: string) => console.log(line), err: (line: string) => console.error(line) };

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) {
    throw new InvalidArgumentError('expected a positive integer');
  }
  return parsed;
}

export function buildProgram(): Command {
  const program = new Command()
    .name('switchyard')
    .description('Generates Helm charts and Argo CD Applications for serving LLMs from environments/.')
    .option('--root <dir>', 'repository root (default: the repository this CLI belongs to)');

  program
    .command('generate')
    .description(
      'validate environments/ and write charts/ and apps/ (atomically; nothing is written on error)',
    )
    .option('--env <name>', 'regenerate only the files of this environment')
    .option(
      '--check',
      'write nothing; exit 1 listing the files that differ from the committed output, with unified diffs',
    )
    .option('--json', 'print one JSON document (files written, or the differences with their diffs)')
    .addHelpText(
      'after',
      '\nExit codes: 0 written (or up to date with --check), 1 invalid input or stale output.',
    )
    .action((options: { env?: string; check?: boolean; json?: boolean }) => {
      const root = program.opts<{ root?: string }>().root ?? defaultRoot;
      process.exitCode = runGenerate(
        {
          root,
          ...(options.env === undefined ? {} : { env: options.env }),
          check: options.check === true,
          json: options.json === true,
        },
        terminal,
      );
    });

  program
    .command('validate')
    .description('helm lint/template every chart as the Applications say and validate every rendered object')
    .option('--env <name>', 'only this environment')
    .option(
      '--crds <dir>',
      'also validate against the CustomResourceDefinitions in this directory (with CEL rules)',
    )
    .option('--json', 'print one JSON document: the counts and every problem')
    .addHelpText(
      'after',
      '\nExit codes: 0 valid, 1 any problem, 2 bad arguments (a --crds path that is not a directory).',
    )
    .action(async (options: { env?: string; crds?: string; json?: boolean }) => {
      const root = program.opts<{ root?: string }>().root ?? defaultRoot;
      process.exitCode = await runValidate({
        root,
        json: options.json === true,
        ...(options.env === undefined ? {} : { envs: [options.env] }),
        ...(options.crds === undefined ? {} : { crdsDir: options.crds }),
      });
    });

  program
    .command('new-model')
    .description('write a model spec environments/<env>/models/<name>.yaml')
    .requiredOption('--name <name>', 'model name (lowercase DNS label, at most 53 characters)')
    .requiredOption('--uri <uri>', 'hf://org/repo, pvc://claim/path or oci://registry/image:tag')
    .requiredOption('--env <env>', 'environment')
    .option('--namespace <namespace>', 'Kubernetes namespace', 'llm')
    .option('--accelerator <type>', "accelerator type (default: the platform profile's first)")
    .option('--gpus <n>', 'GPUs per pod (tensor parallelism)', positiveInteger)
    .option('--replicas <n>', 'vLLM pods', positiveInteger)
    .addHelpText('after', '\nExit codes: 0 written, 1 invalid input or the file exists.')
    .action(
      (options: {
        name: string;
        uri: string;
        env: string;
        namespace: string;
        accelerator?: string;
        gpus?: number;
        replicas?: number;
      }) => {
        const root = program.opts<{ root?: string }>().root ?? defaultRoot;
        process.exitCode = runNewModel({ root, ...options }, terminal);
      },
    );
  program
    .command('review')
    .description(
      'render every Application at a base revision and in the working tree as Argo CD does; report the objects added, removed and changed',
    )
    .requiredOption('--base <ref>', 'git revision to compare with (branch, tag or commit)')
    .option('--json', 'print JSON (schemas/review.schema.json) instead of Markdown')
    .option('--output <file>', 'write the report to this file instead of stdout')
    .option('--no-routing', 'skip the routing-impact preview')
    .addHelpText(
      'after',
      '\nExit codes: 0 reviewed (whatever changed), 1 an Application could not be rendered, 2 bad arguments.',
    )
    .action(async (options: { base: string; json?: boolean; output?: string; routing: boolean }) => {
      const root = program.opts<{ root?: string }>().root ?? defaultRoot;
      process.exitCode = await runReview(
        {
          root,
          base: options.base,
          json: options.json === true,
          routing: options.routing,
          ...(options.output === undefined ? {} : { output: options.output }),
        },
        terminal,
      );
    });
  return program;
}

if (import.meta.main) {
  await buildProgram().parseAsync(process.argv);
}
