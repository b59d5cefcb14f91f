// Reads environments/<env>/platform.yaml and environments/<env>/models/*.yaml, each layered over the
// file with the same relative path under environments/base/.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { InputProblem } from '../errors.ts';
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

export function listEnvironmentNames(root: string): string[] {
  const dir = join(root, environmentsDir);
  if (!existsSync(dir)) {
    return [];
  }
  return readdirSync(dir)
    .filter((entry) => entry !== baseLayerName && statSync(join(dir, entry)).isDirectory())
    .sort();
}

export function loadEnvironments(root: string, only?: readonly string[]): LoadResult {
  const problems: InputProblem[] = [];
  const names = listEnvironmentNames(root);
  if (names.length === 0) {
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
    const platformFile = `${environmentsDir}/${name}/platform.yaml`;
    const platform = loadLayered(
      root,
      platformFile,
      `${environmentsDir}/${baseLayerName}/platform.yaml`,
      problems,
    );
    const models: LoadedModel[] = [];
    const modelsDir = join(root, environmentsDir, name, 'models');
    const modelFiles = existsSync(modelsDir) ? readdirSync(modelsDir).sort() : [];
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
  const base = existsSync(join(root, baseFile)) ? readSource(root, baseFile, problems, false) : undefined;
  return top === undefined ? undefined : layer(top, base);
}

function readSource(
  root: string,
  file: string,
  problems: InputProblem[],
  required: boolean,
): YamlSource | undefined {
  const path = join(root, file);
  if (!existsSync(path)) {
    if (required) {
      problems.push(fileProblem(file, 'expected this file to exist (file not found)'));
    }
    return undefined;
  }
  const result = parseYamlSource(file, readFileSync(path, 'utf8'));
  if (!result.ok) {
    problems.push(...result.problems);
    return undefined;
  }
  return result.source;
}

function fileProblem(file: string, message: string): InputProblem {
  return { file, line: 1, column: 1, pointer: '', message };
}
