// Validates a repository's generated output: helm lint of every chart, helm template of every Application's
// chart exactly as Argo CD renders it, and every resulting object against its schema (and CRDs when given).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMachineYaml } from './machine-yaml.ts';
import { loadCrdDirectory, validateAgainstCrd, type CrdIndex } from './crds.ts';
import { chartDocuments, defaultHelmConcurrency, runHelm } from './helm.ts';
import { objectErrors } from './objects.ts';
import { displayPath, isJsonObject, type JsonObject } from './openapi-schema.ts';
import { mapWithConcurrency } from './pool.ts';
import { valuesShape } from './values-shape.ts';
import { referenceProblems, type PlacedObject } from './references.ts';
import {
  applicationPermissionErrors,
  isClusterScoped,
  projectRules,
  resourcePermissionError,
  type ProjectRules,
} from './projects.ts';
import {
  applicationFiles,
  chartDirectories,
  platformRepoURLs,
  readYamlObjects,
  renderJobsFor,
  selectEnvironments,
  templateArgs,
  type Problem,
  type RenderJob,
  type SourcedObject,
} from './repository.ts';

export interface ValidateRepositoryOptions {
  root: string;
  envs?: readonly string[] | undefined;
  crdsDir?: string | undefined;
  /** helm processes run at once; default: defaultHelmConcurrency(). */
  concurrency?: number;
  /** Called after each helm run with the runs done and the runs planned. */
  progress?: (done: number, total: number) => void;
}

export interface ValidationReport {
  problems: Problem[];
  objects: number;
  charts: number;
  applications: number;
  crdDefinitions: number;
}

/** `<apiVersion>/<kind> <namespace>/<name>` for report lines. */
export function describeObject(object: JsonObject, defaultNamespace?: string): string {
  const metadata = isJsonObject(object.metadata) ? object.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : '(unnamed)';
  const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : defaultNamespace;
  return `${String(object.apiVersion)}/${String(object.kind)} ${namespace === undefined ? '' : `${namespace}/`}${name}`;
}

/** One report line: `<source>: <apiVersion>/<kind> <namespace>/<name>: <json path>: <message>`. */
export function formatProblem(problem: Problem): string {
  if (problem.object === undefined) {
    return `${problem.source}: ${problem.message}`;
  }
  return `${problem.source}: ${describeObject(problem.object, problem.namespace)}: ${displayPath(problem.path ?? '')}: ${problem.message}`;
}

function checkObject(
  sourced: SourcedObject,
  crds: CrdIndex | undefined,
  suffix: string,
  namespace?: string,
): Problem[] {
  const { object, source } = sourced;
  const version =
    isJsonObject(object) && typeof object.apiVersion === 'string' && typeof object.kind === 'string'
      ? crds?.find(object.apiVersion, object.kind)
      : undefined;
  const errors = objectErrors(object, version !== undefined);
  if (!isJsonObject(object)) {
    return errors.map((error) => ({ source, message: `${error.message}${suffix}` }));
  }
  if (version !== undefined) {
    const tag = ` (CRD ${version.crdName})`;
    // Metadata problems are found by both; report them once.
    const seen = new Set(errors.map((error) => `${error.path}\u0000${error.message}`));
    const crdErrors = validateAgainstCrd(object, version).filter(
      (error) => !seen.has(`${error.path}\u0000${error.message}`),
    );
    errors.push(...crdErrors.map((error) => ({ ...error, message: error.message + tag })));
  }
  return errors.map((error) => ({
    source,
    object,
    namespace,
    path: error.path,
    message: `${error.message}${suffix}`,
  }));
}

interface LintJob {
  chartDir: string;
  /** Repository-relative value files; empty: the chart's own defaults. */
  valueFiles: readonly string[];
}

/**
 * One `helm lint --strict` per chart and values shape (valuesShape: the keys set, booleans and URI schemes)
 * some Application renders it with, and one of each chart that no Application uses, with its defaults.
 */
function lintJobs(
  root: string,
  renderJobs: readonly RenderJob[],
  envs: readonly string[] | undefined,
): LintJob[] {
  const jobs = new Map<string, LintJob>();
  for (const job of renderJobs) {
    jobs.set(`${job.chartDir}\0${valuesShape(root, job.valueFiles)}`, {
      chartDir: job.chartDir,
      valueFiles: job.valueFiles,
    });
  }
  const used = new Set(renderJobs.map((job) => job.chartDir));
  if (envs === undefined || envs.length === 0) {
    for (const chartDir of chartDirectories(root)) {
      if (!used.has(chartDir)) jobs.set(chartDir, { chartDir, valueFiles: [] });
    }
  }
  return [...jobs.values()];
}

async function lint(root: string, job: LintJob): Promise<Problem[]> {
  const args = ['lint', '--strict', join(root, job.chartDir)];
  for (const file of job.valueFiles) {
    args.push('-f', join(root, file));
  }
  const result = await runHelm(args);
  if (result.ok) {
    return [];
  }
  const source = job.valueFiles.length === 0 ? job.chartDir : job.valueFiles.join(', ');
  const findings = `${result.stdout}\n${result.stderr}`
    .split('\n')
    .map((line) => line.trim())
    .filter(
      (line) =>
        /^\[(ERROR|WARNING)\]/.test(line) || (/^Error:/.test(line) && !/chart\(s\) linted/.test(line)),
    );
  const messages = findings.length > 0 ? findings : [result.stderr.trim() || 'helm lint failed'];
  return messages.map((message) => ({ source, message: `helm lint --strict: ${message}` }));
}

interface RenderedObject extends PlacedObject {
  source: string;
  suffix: string;
  env: string;
}

/** Reference problems between the objects each environment deploys (see references.ts). */
function crossReferenceProblems(rendered: readonly RenderedObject[]): Problem[] {
  const problems: Problem[] = [];
  const envs = [...new Set(rendered.map((entry) => entry.env))];
  for (const env of envs) {
    for (const problem of referenceProblems(rendered.filter((entry) => entry.env === env))) {
      const subject = problem.subject as RenderedObject;
      problems.push({
        source: subject.source,
        object: subject.object,
        namespace: subject.namespace,
        path: problem.path,
        message: `${problem.message}${subject.suffix}`,
      });
    }
  }
  return problems;
}

function permissionProblem(
  object: JsonObject,
  job: RenderJob,
  crds: CrdIndex | undefined,
): string | undefined {
  if (job.project === undefined || typeof object.apiVersion !== 'string' || typeof object.kind !== 'string') {
    return undefined;
  }
  const group = object.apiVersion.includes('/') ? (object.apiVersion.split('/')[0] ?? '') : '';
  const scope = crds?.find(object.apiVersion, object.kind)?.scope;
  const clusterScoped = isClusterScoped(group, object.kind, scope);
  return resourcePermissionError(job.project.rules, job.project.name, group, object.kind, clusterScoped);
}

async function render(
  root: string,
  job: RenderJob,
  crds: CrdIndex | undefined,
  workDir: string,
  index: number,
): Promise<{ problems: Problem[]; objects: number; placed: RenderedObject[] }> {
  const args = templateArgs(job, workDir, index, crds?.all() ?? []);
  const result = await runHelm(args);
  const suffix = ` [Application ${job.application}]`;
  if (!result.ok) {
    const message = result.stderr.trim().split('\n').join(' ') || 'helm template failed';
    return {
      problems: [{ source: job.appSource, message: `helm template ${job.chartDir}: ${message}${suffix}` }],
      objects: 0,
      placed: [],
    };
  }
  const problems: Problem[] = [];
  const placed: RenderedObject[] = [];
  let objects = 0;
  for (const { source, text } of chartDocuments(result.stdout, job.chartDir)) {
    const parsed = parseMachineYaml(text);
    if (!parsed.ok) {
      problems.push({ source, message: `rendered YAML is invalid: ${parsed.reason}${suffix}` });
      continue;
    }
    const object: unknown = parsed.documents[0];
    if (object === null || object === undefined) {
      continue;
    }
    objects += 1;
    problems.push(...checkObject({ source, object }, crds, suffix, job.namespace));
    // Argo CD never creates Helm test hooks: check their schema, not the project's permissions or references.
    if (isJsonObject(object) && isHelmTestHook(object)) {
      continue;
    }
    if (isJsonObject(object)) {
      const metadata = isJsonObject(object.metadata) ? object.metadata : {};
      const namespace =
        typeof metadata.namespace === 'string' ? metadata.namespace : (job.namespace ?? 'default');
      placed.push({ object, namespace, source, suffix, env: job.env ?? '' });
    }
    const denied = isJsonObject(object) ? permissionProblem(object, job, crds) : undefined;
    if (denied !== undefined && isJsonObject(object)) {
      problems.push({ source, object, namespace: job.namespace, path: '', message: `${denied}${suffix}` });
    }
  }
  return { problems, objects, placed };
}

/** A Helm test hook (`helm.sh/hook: test`), which `helm test` runs and Argo CD skips when it syncs. */
export function isHelmTestHook(object: JsonObject): boolean {
  const metadata = isJsonObject(object.metadata) ? object.metadata : {};
  const annotations = isJsonObject(metadata.annotations) ? metadata.annotations : {};
  const hook = annotations['helm.sh/hook'];
  return (
    typeof hook === 'string' &&
    hook.split(',').every((type) => ['test', 'test-success', 'test-failure'].includes(type.trim()))
  );
}

/**
 * The AppProject an Application belongs to. Argo CD's built-in `default` project permits everything unless the
 * repository defines it; any other project must be defined in the environment's apps/ folder.
 */
function projectOf(
  application: JsonObject,
  projects: ReadonlyMap<string, ProjectRules>,
  env: string,
): { name: string; rules?: ProjectRules; problem?: { path: string; message: string } } {
  const spec = isJsonObject(application.spec) ? application.spec : {};
  const name = typeof spec.project === 'string' && spec.project !== '' ? spec.project : 'default';
  const rules = projects.get(name);
  if (rules !== undefined) {
    return { name, rules };
  }
  if (name === 'default') {
    return { name };
  }
  return {
    name,
    problem: { path: 'spec.project', message: `AppProject ${name} is not defined in apps/${env}` },
  };
}

export async function validateRepository(options: ValidateRepositoryOptions): Promise<ValidationReport> {
  const { root } = options;
  const concurrency = options.concurrency ?? defaultHelmConcurrency();
  const problems: Problem[] = [];
  let crds: CrdIndex | undefined;
  let crdDefinitions = 0;
  if (options.crdsDir !== undefined) {
    const loaded = loadCrdDirectory(options.crdsDir);
    problems.push(...loaded.errors.map((message) => ({ source: '--crds', message })));
    crds = loaded.index;
    crdDefinitions = loaded.index.definitions;
  }
  const selected = selectEnvironments(root, options.envs);
  problems.push(...selected.problems);

  let objects = 0;
  let applications = 0;
  const renderJobs: RenderJob[] = [];
  for (const env of selected.envs) {
    const envObjects: SourcedObject[] = [];
    for (const file of applicationFiles(root, env)) {
      const read = readYamlObjects(root, file);
      problems.push(...read.problems);
      envObjects.push(...read.objects);
    }
    const envApplications = envObjects
      .map((sourced) => sourced.object)
      .filter(isJsonObject)
      .filter((object) => object.kind === 'Application');
    const repoURLs = platformRepoURLs(envApplications);
    const projects = new Map<string, ProjectRules>();
    for (const { object } of envObjects) {
      if (isJsonObject(object) && object.kind === 'AppProject' && isJsonObject(object.metadata)) {
        projects.set(String(object.metadata.name), projectRules(object));
      }
    }
    for (const sourced of envObjects) {
      objects += 1;
      problems.push(...checkObject(sourced, crds, ''));
      const application = sourced.object;
      if (isJsonObject(application) && application.kind === 'Application') {
        applications += 1;
        const project = projectOf(application, projects, env);
        if (project.problem !== undefined) {
          problems.push({ source: sourced.source, object: application, ...project.problem });
        }
        if (project.rules !== undefined) {
          const denied = applicationPermissionErrors(application, project.rules, project.name);
          problems.push(
            ...denied.map((error) => ({ source: sourced.source, object: application, ...error })),
          );
        }
        const planned = renderJobsFor(root, application, sourced.source, repoURLs);
        problems.push(...planned.problems);
        const projectRef =
          project.rules === undefined ? undefined : { name: project.name, rules: project.rules };
        renderJobs.push(...planned.jobs.map((job) => ({ ...job, env, project: projectRef })));
      }
    }
  }

  const lints = lintJobs(root, renderJobs, options.envs);
  const total = lints.length + renderJobs.length;
  let done = 0;
  const counted = <T>(result: T): T => {
    done += 1;
    options.progress?.(done, total);
    return result;
  };
  const lintProblems = await mapWithConcurrency(lints, concurrency, async (job) =>
    counted(await lint(root, job)),
  );
  problems.push(...lintProblems.flat());

  const workDir = mkdtempSync(join(tmpdir(), 'switchyard-validate-'));
  try {
    const rendered = await mapWithConcurrency(renderJobs, concurrency, async (job, index) =>
      counted(await render(root, job, crds, workDir, index)),
    );
    for (const result of rendered) {
      objects += result.objects;
      problems.push(...result.problems);
    }
    problems.push(...crossReferenceProblems(rendered.flatMap((result) => result.placed)));
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  const charts = new Set(lints.map((job) => job.chartDir)).size;
  if (charts === 0 && applications === 0 && selected.problems.length === 0) {
    problems.push({
      source: root,
      message: 'nothing to validate: no Argo CD objects under apps/ and no charts under charts/',
    });
  }
  return { problems, objects, charts, applications, crdDefinitions };
}
