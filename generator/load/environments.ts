// Reads environments/<env>/platform.yaml and environments/<env>/models/*.yaml, each layered over the
// file with the same relative path under environments/base/.
// Nothing is read through a symbolic link (see input-files.ts).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { InputProblem } from '../errors.ts';
import { entryKind, linkMessage, readInputFile } from './input-files.ts';
import { layer, type LayeredInput } from './layers.ts';
import { parseYamlSource, type YamlSource } from './yaml-source.ts';

export const environmentsDir = 'environments';
export const baseLayerName = 'base';

export interface LoadedModel {
  /** File name without .yaml; must equal the spec's `name`. */
  readonly fileStem: string;
  readonly input: LayeredInput;
}

export interface LoadedEnvironment {
  readonly name: string;
  readonly platform: LayeredInput;
  readonly models: readonly LoadedModel[];
}

export interface LoadResult {
  readonly environments: readonly LoadedEnvironment[];
  readonly problems: readonly InputProblem[];
}

const environmentNamePattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The environment directories (symbolic links included, so that loading can refuse them). */
export function listEnvironmentNames(root: string): string[] {
  if (entryKind(root, environmentsDir) !== 'directory') {
    return [];
  }
  return readdirSync(join(root, environmentsDir), { withFileTypes: true })
    .filter((entry) => entry.name !== baseLayerName && (entry.isDirectory() || entry.isSymbolicLink()))
    .map((entry) => entry.name)
    .sort();
}

export function loadEnvironments(root: string, only?: readonly string[]): LoadResult {
  const problems: InputProblem[] = [];
  const names = listEnvironmentNames(root);
  if (entryKind(root, environmentsDir) === 'link') {
    problems.push(fileProblem(environmentsDir, linkMessage));
  } else if (names.length === 0) {
    problems.push(
      fileProblem(environmentsDir, 'expected at least one environment directory environments/<env>/'),
    );
  }
  for (const wanted of only ?? []) {
    if (!names.includes(wanted)) {
      problems.push(
        fileProblem(
          `${environmentsDir}/${wanted}`,
          `expected an existing environment (found: ${names.join(', ') || 'none'})`,
        ),
      );
    }
  }
  const environments: LoadedEnvironment[] = [];
  for (const name of names) {
    if (!environmentNamePattern.test(name) || name.length > 40) {
      problems.push(
        fileProblem(
          `${environmentsDir}/${name}`,
          'expected an environment name that is a lowercase DNS label of at most 40 characters',
        ),
      );
      continue;
    }
    if (entryKind(root, `${environmentsDir}/${name}`) === 'link') {
      problems.push(fileProblem(`${environmentsDir}/${name}`, linkMessage));
      continue;
    }
    const platformFile = `${environmentsDir}/${name}/platform.yaml`;
    const platform = loadLayered(
      root,
      platformFile,
      `${environmentsDir}/${baseLayerName}/platform.yaml`,
      problems,
    );
    const models: LoadedModel[] = [];
    const modelsDir = `${environmentsDir}/${name}/models`;
    const modelsKind = entryKind(root, modelsDir);
    if (modelsKind === 'link') {
      problems.push(fileProblem(modelsDir, linkMessage));
    }
    const modelFiles = modelsKind === 'directory' ? readdirSync(join(root, modelsDir)).sort() : [];
    for (const entry of modelFiles) {
      const relative = `${environmentsDir}/${name}/models/${entry}`;
      if (entry.endsWith('.yml')) {
        problems.push(fileProblem(relative, 'expected the extension .yaml for model specs'));
        continue;
      }
      if (!entry.endsWith('.yaml')) {
        continue;
      }
      const input = loadLayered(
        root,
        relative,
        `${environmentsDir}/${baseLayerName}/models/${entry}`,
        problems,
      );
      if (input !== undefined) {
        models.push({ fileStem: entry.slice(0, -'.yaml'.length), input });
      }
    }
    if (platform !== undefined) {
      environments.push({ name, platform, models });
    }
  }
  return { environments, problems };
}

function loadLayered(
  root: string,
  file: string,
  baseFile: string,
  problems: InputProblem[],
): LayeredInput | undefined {
  const top = readSource(root, file, problems, true);
  const base = readSource(root, baseFile, problems, false);
  return top === undefined ? undefined : layer(top, base);
}

function readSource(
  root: string,
  file: string,
  problems: InputProblem[],
  required: boolean,
): YamlSource | undefined {
  const read = readInputFile(root, file);
  if (!read.ok) {
    if (required || !read.missing) {
      problems.push(read.problem);
    }
    return undefined;
  }
  const result = parseYamlSource(file, read.text);
  if (!result.ok) {
    problems.push(...result.problems);
    return undefined;
  }
  return result.source;
}

function fileProblem(file: string, message: string): InputProblem {
  return { file, line: 1, column: 1, pointer: '', message };
}
