// What one checkout of the repository deploys, before rendering: per environment the Argo CD objects of
// apps/<env>/ (as its app-of-apps applies them) and, per Application, the helm template runs Argo CD makes,
// each with a digest of everything helm reads, so identical renders at two revisions are rendered once.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { isJsonObject, type JsonObject } from '../../verify/openapi-schema.ts';
import {
  applicationFiles,
  platformRepoURLs,
  readYamlObjects,
  renderJobsFor,
  selectEnvironments,
  type RenderJob,
  type SourcedObject,
} from '../../verify/repository.ts';

export interface PlannedApplication {
  name: string;
  /** The apps/ file that defines it. */
  source: string;
  jobs: RenderJob[];
  /** Digest of the jobs' complete input: arguments, chart files, value files, inline values. */
  digest: string;
}

export interface PlannedEnvironment {
  name: string;
  /** The app-of-apps, which applies the objects of apps/<env>/ (`<env>` when there is none). */
  rootApplication: string;
  manifests: SourcedObject[];
  applications: Map<string, PlannedApplication>;
}

export interface PlannedTree {
  root: string;
  environments: Map<string, PlannedEnvironment>;
  problems: string[];
}

function chartDigest(root: string, chartDir: string, cache: Map<string, string>): string {
  const cached = cache.get(chartDir);
  if (cached !== undefined) {
    return cached;
  }
  const hash = createHash('sha256');
  const dir = join(root, chartDir);
  const names = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => name.split('\\').join('/'))
    .filter((name) => statSync(join(dir, name)).isFile())
    .sort();
  for (const name of names) {
    hash
      .update(`${name}\0`)
      .update(readFileSync(join(dir, name)))
      .update('\0');
  }
  const digest = hash.digest('hex');
  cache.set(chartDir, digest);
  return digest;
}

function jobsDigest(root: string, jobs: readonly RenderJob[], charts: Map<string, string>): string {
  const hash = createHash('sha256');
  for (const job of jobs) {
    const args = job.args.map((arg) => (arg.startsWith(root) ? arg.slice(root.length) : arg));
    hash.update(JSON.stringify([args, job.inlineValues ?? null, job.setArgs]));
    hash.update(chartDigest(root, job.chartDir, charts));
    for (const file of job.valueFiles) {
      hash.update(readFileSync(join(root, file)));
    }
  }
  return hash.digest('hex');
}

function nameOf(object: JsonObject): string {
  const metadata = isJsonObject(object.metadata) ? object.metadata : {};
  return typeof metadata.name === 'string' ? metadata.name : '(unnamed)';
}

/** The app-of-apps of an environment: an Application in root.yaml whose source is apps/<env>. */
function rootApplicationName(manifests: readonly SourcedObject[], env: string): string {
  const rootFile = posix.join('apps', env, 'root.yaml');
  const found = manifests.find(
    ({ source, object }) => source === rootFile && isJsonObject(object) && object.kind === 'Application',
  );
  return found !== undefined && isJsonObject(found.object) ? nameOf(found.object) : env;
}

/** Plans every environment of the checkout at `root` (its generated apps/ folder). */
export function planTree(root: string): PlannedTree {
  const problems: string[] = [];
  const environments = new Map<string, PlannedEnvironment>();
  const charts = new Map<string, string>();
  const envs = existsSync(join(root, 'apps')) ? selectEnvironments(root, undefined).envs : [];
  for (const env of envs) {
    const manifests: SourcedObject[] = [];
    for (const file of applicationFiles(root, env)) {
      const read = readYamlObjects(root, file);
      problems.push(...read.problems.map((problem) => `${problem.source}: ${problem.message}`));
      manifests.push(...read.objects);
    }
    const applicationObjects = manifests.filter(
      (sourced): sourced is { source: string; object: JsonObject } =>
        isJsonObject(sourced.object) && sourced.object.kind === 'Application',
    );
    const repoURLs = platformRepoURLs(applicationObjects.map((sourced) => sourced.object));
    const applications = new Map<string, PlannedApplication>();
    for (const { source, object } of applicationObjects) {
      const planned = renderJobsFor(root, object, source, repoURLs);
      problems.push(...planned.problems.map((problem) => `${problem.source}: ${problem.message}`));
      const name = nameOf(object);
      applications.set(name, {
        name,
        source,
        jobs: planned.jobs,
        digest: jobsDigest(root, planned.jobs, charts),
      });
    }
    environments.set(env, {
      name: env,
      rootApplication: rootApplicationName(manifests, env),
      manifests,
      applications,
    });
  }
  return { root, environments, problems };
}
