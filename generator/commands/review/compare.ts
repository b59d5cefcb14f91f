// Compares what two checkouts deploy: renders only the Applications whose inputs differ, then matches
// objects by group, kind, namespace and name.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isJsonObject } from '../../verify/openapi-schema.ts';
import { mapWithConcurrency } from '../../verify/pool.ts';
import { attentionFor, projectWidening } from './attention.ts';
import { fieldChanges } from './field-diff.ts';
import { keyObject, objectKey, type KeyedObject } from './objects.ts';
import type { PlannedApplication, PlannedEnvironment, PlannedTree } from './plan.ts';
import { renderApplication } from './render.ts';
import { routingImpact } from './routing.ts';
import type {
  ApplicationReview,
  EnvironmentReview,
  ObjectEntry,
  ReviewReport,
  RoutingImpact,
} from './report.ts';

interface Side {
  /** Keyed objects per Application; undefined when the Application does not exist on this side. */
  applications: Map<string, KeyedObject[]>;
}

function entry(keyed: KeyedObject): ObjectEntry {
  const { group, kind, namespace, name, source, object } = keyed;
  return { group, kind, namespace, name, source, object, apiVersion: String(object.apiVersion) };
}

function byKey(objects: readonly KeyedObject[]): Map<string, KeyedObject> {
  return new Map(objects.map((object) => [objectKey(object), object]));
}

export function compareObjects(
  name: string,
  before: readonly KeyedObject[],
  after: readonly KeyedObject[],
): ApplicationReview {
  const old = byKey(before);
  const now = byKey(after);
  const keys = [...new Set([...old.keys(), ...now.keys()])].sort();
  const review: ApplicationReview = { name, added: [], removed: [], changed: [] };
  for (const key of keys) {
    const a = old.get(key);
    const b = now.get(key);
    if (a === undefined && b !== undefined) {
      review.added.push(entry(b));
    } else if (b === undefined && a !== undefined) {
      review.removed.push(entry(a));
    } else if (a !== undefined && b !== undefined) {
      const fields = fieldChanges(a.object, b.object);
      if (fields.length > 0) {
        const { group, kind, namespace, name, source, apiVersion } = entry(b);
        const widened = kind === 'AppProject' ? projectWidening(a.object, b.object) : [];
        review.changed.push({
          group,
          kind,
          namespace,
          name,
          source,
          apiVersion,
          fields,
          ...(widened.length > 0 ? { widened } : {}),
        });
      }
    }
  }
  return review;
}

function manifestObjects(environment: PlannedEnvironment | undefined): KeyedObject[] {
  return (environment?.manifests ?? []).flatMap(({ source, object }) =>
    isJsonObject(object) ? [keyObject(object, source, '')] : [],
  );
}

function isEmpty(review: ApplicationReview): boolean {
  return review.added.length + review.removed.length + review.changed.length === 0;
}

interface RenderTask {
  side: 'base' | 'head';
  env: string;
  application: PlannedApplication;
}

export async function compareTrees(
  base: PlannedTree,
  head: PlannedTree,
  labels: { base: string; head: string },
  options: { concurrency: number; routing: boolean },
  progress: (done: number, total: number) => void = () => undefined,
): Promise<ReviewReport> {
  const routing: RoutingImpact[] = [];
  const envNames = [...new Set([...base.environments.keys(), ...head.environments.keys()])].sort();
  const tasks: RenderTask[] = [];
  for (const env of envNames) {
    const before = base.environments.get(env)?.applications ?? new Map<string, PlannedApplication>();
    const after = head.environments.get(env)?.applications ?? new Map<string, PlannedApplication>();
    for (const name of new Set([...before.keys(), ...after.keys()])) {
      const a = before.get(name);
      const b = after.get(name);
      if (a !== undefined && b !== undefined && a.digest === b.digest) {
        continue;
      }
      if (a !== undefined) tasks.push({ side: 'base', env, application: a });
      if (b !== undefined) tasks.push({ side: 'head', env, application: b });
    }
  }
  const problems = [...base.problems.map((problem) => `base: ${problem}`), ...head.problems];
  const sides: Record<'base' | 'head', Map<string, Side>> = { base: new Map(), head: new Map() };
  const workDir = mkdtempSync(join(tmpdir(), 'switchyard-review-'));
  let done = 0;
  try {
    const results = await mapWithConcurrency(tasks, options.concurrency, async (task, index) => {
      const rendered = await renderApplication(task.application, workDir, index);
      done += 1;
      progress(done, tasks.length);
      return rendered;
    });
    results.forEach((result, index) => {
      const task = tasks[index] as RenderTask;
      problems.push(
        ...result.problems.map((problem) => (task.side === 'base' ? `base: ${problem}` : problem)),
      );
      const envSides = sides[task.side];
      const side = envSides.get(task.env) ?? { applications: new Map() };
      side.applications.set(task.application.name, result.objects);
      envSides.set(task.env, side);
    });
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }

  const environments: EnvironmentReview[] = [];
  for (const env of envNames) {
    const rootApplication =
      head.environments.get(env)?.rootApplication ?? base.environments.get(env)?.rootApplication ?? env;
    const reviews: ApplicationReview[] = [
      compareObjects(
        rootApplication,
        manifestObjects(base.environments.get(env)),
        manifestObjects(head.environments.get(env)),
      ),
    ];
    const before = sides.base.get(env)?.applications ?? new Map<string, KeyedObject[]>();
    const after = sides.head.get(env)?.applications ?? new Map<string, KeyedObject[]>();
    for (const name of [...new Set([...before.keys(), ...after.keys()])].sort()) {
      reviews.push(compareObjects(name, before.get(name) ?? [], after.get(name) ?? []));
      const impact = options.routing
        ? routingImpact(env, name, before.get(name) ?? [], after.get(name) ?? [])
        : undefined;
      if (impact !== undefined) routing.push(impact);
    }
    const applications = reviews.filter((review) => !isEmpty(review));
    const beforeNames = base.environments.get(env)?.applications.keys() ?? [];
    const afterNames = head.environments.get(env)?.applications.keys() ?? [];
    const total = new Set([rootApplication, ...beforeNames, ...afterNames]).size;
    environments.push({ name: env, applications, unchangedApplications: total - applications.length });
  }
  const all = environments.flatMap((environment) => environment.applications);
  return {
    base: labels.base,
    head: labels.head,
    summary: {
      environments: environments.filter((environment) => environment.applications.length > 0).length,
      applications: all.length,
      unchangedApplications: environments.reduce(
        (sum, environment) => sum + environment.unchangedApplications,
        0,
      ),
      added: all.reduce((sum, review) => sum + review.added.length, 0),
      removed: all.reduce((sum, review) => sum + review.removed.length, 0),
      changed: all.reduce((sum, review) => sum + review.changed.length, 0),
    },
    environments,
    attention: environments.flatMap((environment) =>
      environment.applications.flatMap((review) => attentionFor(environment.name, review)),
    ),
    routing,
    problems,
  };
}
