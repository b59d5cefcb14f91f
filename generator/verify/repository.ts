// Reads the generated layout: Argo CD objects under apps/<env>/ and Helm charts under charts/.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, matchesGlob, posix } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import { isJsonObject, type JsonObject } from './openapi-schema.ts';
import type { ProjectRules } from './projects.ts';

export interface SourcedObject {
  /** Repository-relative file (and line) the object comes from. */
  source: string;
  object: unknown;
}

export interface Problem {
  source: string;
  message: string;
  object?: JsonObject;
  path?: string;
  /** Namespace the object lands in when its metadata names none (the Application's destination). */
  namespace?: string | undefined;
}

function listFiles(dir: string, pattern: RegExp): string[] {
  if (!existsSync(dir)) {
    return [];
  }
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => name.split('\\').join('/'))
    .filter((name) => pattern.test(name) && statSync(join(dir, name)).isFile())
    .sort();
}

/** The environments that have an apps/<env>/ folder, or the requested ones (missing ones are problems). */
export function selectEnvironments(
  root: string,
  requested: readonly string[] | undefined,
): {
  envs: string[];
  problems: Problem[];
} {
  const appsDir = join(root, 'apps');
  const present = existsSync(appsDir)
    ? readdirSync(appsDir)
        .filter((name) => statSync(join(appsDir, name)).isDirectory())
        .sort()
    : [];
  if (requested === undefined || requested.length === 0) {
    return { envs: present, problems: [] };
  }
  const problems = requested
    .filter((env) => !present.includes(env))
    .map((env) => ({
      source: `apps/${env}`,
      message: `environment ${env} has no generated Argo CD objects`,
    }));
  return { envs: requested.filter((env) => present.includes(env)), problems };
}

/** Parses every YAML document of a file; syntax errors become problems naming file:line:column. */
export function readYamlObjects(
  root: string,
  relativeFile: string,
): { objects: SourcedObject[]; problems: Problem[] } {
  const text = readFileSync(join(root, relativeFile), 'utf8');
  const lineCounter = new LineCounter();
  const objects: SourcedObject[] = [];
  const problems: Problem[] = [];
  for (const document of parseAllDocuments(text, { lineCounter })) {
    if (document.errors.length > 0) {
      for (const error of document.errors) {
        const { line, col } = lineCounter.linePos(error.pos[0]);
        problems.push({
          source: `${relativeFile}:${String(line)}:${String(col)}`,
          message: (error.message.split('\n')[0] ?? '').replace(/:\s*$/, ''),
        });
      }
      continue;
    }
    const value: unknown = document.toJS();
    if (value === null || value === undefined) {
      continue;
    }
    objects.push({ source: relativeFile, object: value });
  }
  return { objects, problems };
}

/**
 * The manifest files of apps/<env>/ as Argo CD applies them: every YAML file, less what the app-of-apps
 * (root.yaml, an Application whose source path is the folder itself) excludes with `directory.exclude`,
 * such as the values files other Applications read.
 */
export function applicationFiles(root: string, env: string): string[] {
  const names = listFiles(join(root, 'apps', env), /\.ya?ml$/);
  const excludes: string[] = [];
  const rootFile = join(root, 'apps', env, 'root.yaml');
  if (existsSync(rootFile)) {
    for (const { object } of readYamlObjects(root, posix.join('apps', env, 'root.yaml')).objects) {
      const spec = isJsonObject(object) && isJsonObject(object.spec) ? object.spec : {};
      for (const { source } of sourcesOf(spec)) {
        const directory = (source as { directory?: { exclude?: unknown } }).directory;
        if (source.path === `apps/${env}` && typeof directory?.exclude === 'string') {
          excludes.push(directory.exclude);
        }
      }
    }
  }
  return (
    names
      // root.yaml is applied by hand (it is the app-of-apps), so it is validated although it excludes itself.
      .filter((name) => name === 'root.yaml' || !excludes.some((pattern) => matchesGlob(name, pattern)))
      .map((name) => posix.join('apps', env, name))
  );
}

/** Chart directories (repository-relative) under charts/, not counting subcharts vendored inside a chart. */
export function chartDirectories(root: string): string[] {
  return listFiles(join(root, 'charts'), /(^|\/)Chart\.yaml$/)
    .map((name) => posix.dirname(posix.join('charts', name)))
    .filter((dir) => !dir.slice('charts/'.length).includes('/charts/'));
}

/** A `helm template` run that reproduces what Argo CD renders for one Application source. */
export interface RenderJob {
  application: string;
  appSource: string;
  chartDir: string;
  /** Repository-relative value files, in the order helm reads them. */
  valueFiles: string[];
  releaseName: string;
  namespace: string | undefined;
  args: string[];
  /** Values given inline in the Application (helm.valuesObject / helm.values), passed as -f after the files. */
  inlineValues: string | undefined;
  /** helm.parameters as --set/--set-string, which Argo CD applies last. */
  setArgs: string[];
  /** The environment (apps/<env>) the Application belongs to. */
  env?: string;
  /** The Application's AppProject, when the environment defines it. */
  project?: { name: string; rules: ProjectRules } | undefined;
}

interface HelmSource {
  repoURL?: unknown;
  path?: unknown;
  ref?: unknown;
  helm?: {
    releaseName?: unknown;
    valueFiles?: unknown;
    parameters?: unknown;
    valuesObject?: unknown;
    values?: unknown;
    skipCrds?: unknown;
  };
}

function sourcesOf(spec: JsonObject): { source: HelmSource; path: string }[] {
  if (Array.isArray(spec.sources)) {
    return (spec.sources as unknown[]).filter(isJsonObject).map((source, index) => ({
      source: source as HelmSource,
      path: `spec.sources[${String(index)}]`,
    }));
  }
  return isJsonObject(spec.source) ? [{ source: spec.source as HelmSource, path: 'spec.source' }] : [];
}

/**
 * The repository URLs that mean "this repository" for an environment: those of the app-of-apps Applications,
 * whose source path is the environment's own apps/ folder.
 */
export function platformRepoURLs(applications: readonly JsonObject[]): Set<string> {
  const urls = new Set<string>();
  for (const application of applications) {
    const spec = isJsonObject(application.spec) ? application.spec : {};
    for (const { source } of sourcesOf(spec)) {
      if (
        typeof source.repoURL === 'string' &&
        typeof source.path === 'string' &&
        /^apps(\/|$)/.test(source.path)
      ) {
        urls.add(source.repoURL);
      }
    }
  }
  return urls;
}

/** Builds the helm template invocation Argo CD would run for each local-chart source of an Application. */
export function renderJobsFor(
  root: string,
  application: JsonObject,
  appSource: string,
  repoURLs: ReadonlySet<string>,
): { jobs: RenderJob[]; problems: Problem[] } {
  const jobs: RenderJob[] = [];
  const problems: Problem[] = [];
  const metadata = isJsonObject(application.metadata) ? application.metadata : {};
  const spec = isJsonObject(application.spec) ? application.spec : {};
  const name = typeof metadata.name === 'string' ? metadata.name : '(unnamed)';
  const destination = isJsonObject(spec.destination) ? spec.destination : {};
  const namespace = typeof destination.namespace === 'string' ? destination.namespace : undefined;
  for (const { source, path } of sourcesOf(spec)) {
    if (typeof source.path !== 'string' || !/^charts\//.test(posix.normalize(source.path))) {
      continue;
    }
    if (repoURLs.size > 0 && !repoURLs.has(String(source.repoURL))) {
      continue;
    }
    const chartDir = posix.normalize(source.path).replace(/\/$/, '');
    const problem = (field: string, message: string): void => {
      problems.push({ source: appSource, object: application, path: `${path}.${field}`, message });
    };
    if (!existsSync(join(root, chartDir, 'Chart.yaml'))) {
      problem('path', `${chartDir} is not a chart in this repository (no Chart.yaml)`);
      continue;
    }
    const helm = source.helm ?? {};
    const releaseName =
      typeof helm.releaseName === 'string' && helm.releaseName !== '' ? helm.releaseName : name;
    const args = ['template', releaseName, join(root, chartDir)];
    if (namespace !== undefined) {
      args.push('--namespace', namespace);
    }
    if (helm.skipCrds !== true) {
      args.push('--include-crds');
    }
    const valueFiles = Array.isArray(helm.valueFiles) ? (helm.valueFiles as unknown[]) : [];
    let missing = false;
    const files: string[] = [];
    valueFiles.forEach((file, index) => {
      const resolved = resolveValueFile(spec, String(file), chartDir, repoURLs);
      const field = `helm.valueFiles[${String(index)}]`;
      if (typeof file !== 'string' || 'error' in resolved) {
        problem(field, 'error' in resolved ? resolved.error : 'expected a string');
        missing = true;
      } else if (!existsSync(join(root, resolved.path))) {
        problem(field, `value file ${resolved.path} does not exist in this repository`);
        missing = true;
      } else {
        files.push(resolved.path);
        args.push('-f', join(root, resolved.path));
      }
    });
    if (missing) {
      continue;
    }
    let inlineValues: string | undefined;
    if (isJsonObject(helm.valuesObject)) {
      inlineValues = JSON.stringify(helm.valuesObject);
    } else if (typeof helm.values === 'string' && helm.values.trim() !== '') {
      inlineValues = helm.values;
    }
    const parameters = Array.isArray(helm.parameters) ? (helm.parameters as unknown[]) : [];
    const setArgs = parameters
      .filter(isJsonObject)
      .flatMap((parameter) => [
        parameter.forceString === true ? '--set-string' : '--set',
        `${String(parameter.name)}=${String(parameter.value)}`,
      ]);
    jobs.push({
      application: name,
      appSource,
      chartDir,
      valueFiles: files,
      releaseName,
      namespace,
      args,
      inlineValues,
      setArgs,
    });
  }
  return { jobs, problems };
}

/**
 * Where a value file of a chart source lives, as Argo CD resolves it: relative to the chart path, or
 * `$<ref>/<path>` from the root of the source whose `ref` is <ref> (multi-source Applications). Either way
 * it must stay inside this repository.
 */
export function resolveValueFile(
  spec: JsonObject,
  file: string,
  chartDir: string,
  repoURLs: ReadonlySet<string>,
): { path: string } | { error: string } {
  const reference = /^\$([^/]+)\/(.+)$/.exec(file);
  if (reference === null) {
    const resolved = posix.normalize(posix.join(chartDir, file));
    return resolved.startsWith('..')
      ? { error: `value file ${file} leaves the repository` }
      : { path: resolved };
  }
  const [, ref = '', rest = ''] = reference;
  const source = sourcesOf(spec).find((candidate) => candidate.source.ref === ref)?.source;
  if (source === undefined) {
    return { error: `value file ${file} names $${ref}, but no source of the Application has ref: ${ref}` };
  }
  if (repoURLs.size > 0 && !repoURLs.has(String(source.repoURL))) {
    return { error: `value file ${file} comes from ${String(source.repoURL)}, not this repository` };
  }
  const resolved = posix.normalize(rest);
  return resolved.startsWith('..')
    ? { error: `value file ${file} leaves the repository` }
    : { path: resolved };
}

/** A served API of the cluster, as `--api-versions` tells helm (from CRDs given with --crds). */
export interface ServedApi {
  served: boolean;
  apiVersion: string;
  kind: string;
}

/**
 * The complete `helm template` arguments of a job: its own, the inline values written as one more value file
 * in `workDir`, the parameters, and every served API as `--api-versions` the way Argo CD passes the cluster's.
 */
export function templateArgs(
  job: RenderJob,
  workDir: string,
  index: number,
  apis: readonly ServedApi[],
): string[] {
  const args = [...job.args];
  if (job.inlineValues !== undefined) {
    const file = join(workDir, `inline-values-${String(index)}.yaml`);
    writeFileSync(file, job.inlineValues);
    args.push('-f', file);
  }
  args.push(...job.setArgs);
  for (const api of apis) {
    if (api.served) {
      args.push('--api-versions', api.apiVersion, '--api-versions', `${api.apiVersion}/${api.kind}`);
    }
  }
  return args;
}
