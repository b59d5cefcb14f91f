import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildOutputs } from '../../../generator/pipeline.ts';
import {
  clusterProvidedCrds,
  platformComponents,
  SYNC_WAVES,
} from '../../../generator/platform/components.ts';

import { CRD_BUNDLES, kindKey } from '../../../generator/platform/kinds.ts';
import { repoRoot } from '../helpers.ts';
import {
  chartSource,
  generatedArgoObjects,
  groupOf,
  isApplication,
  renderRepositoryChart,
  syncWave,
  type ApplicationObject,
} from './platform-helpers.ts';

const CUSTOM_KINDS = new Set(Object.values(CRD_BUNDLES).flatMap((bundle) => bundle.map(kindKey)));

const { environments } = buildOutputs(repoRoot).repository;

interface AppFacts {
  readonly name: string;
  readonly wave: number;
  readonly installs: ReadonlySet<string>;
  readonly uses: ReadonlySet<string>;
}

/** What each generated Application installs and uses: charts of this repository are rendered with helm. */
function applicationFacts(environment: string): AppFacts[] {
  const env = environments.find((candidate) => candidate.name === environment);
  if (env === undefined) throw new Error(`no environment ${environment}`);
  const catalogue = new Map(platformComponents(env.platform).map((component) => [component.name, component]));
  return generatedArgoObjects(repoRoot, environment)
    .filter(isApplication)
    .map((application: ApplicationObject) => {
      const componentName = application.metadata.labels?.['app.kubernetes.io/component'];
      const component = componentName === undefined ? undefined : catalogue.get(componentName);
      const inRepository =
        chartSource(application).chart === undefined &&
        chartSource(application).repoURL === env.platform.argocd.repoURL;
      const rendered = inRepository
        ? renderRepositoryChart(repoRoot, application).map((object) =>
            kindKey({ group: groupOf(object.apiVersion), kind: object.kind }),
          )
        : [];
      const declared = (component?.usesKinds ?? []).map(kindKey);
      return {
        name: application.metadata.name,
        wave: syncWave(application),
        installs: new Set((component?.installsCrds ?? []).map(kindKey)),
        uses: new Set([...rendered, ...declared].filter((key) => CUSTOM_KINDS.has(key))),
      };
    });
}

describe.each(environments.map((env) => env.name))('sync waves of environment %s', (environment) => {
  const facts = applicationFacts(environment);
  const env = environments.find((candidate) => candidate.name === environment);
  const preinstalled = new Set(env === undefined ? [] : clusterProvidedCrds(env.platform).map(kindKey));

  it('has generated platform and model Applications to check', () => {
    expect(existsSync(join(repoRoot, 'apps', environment, 'platform'))).toBe(true);
    expect(facts.filter((app) => app.installs.size > 0).length).toBeGreaterThanOrEqual(3);
    expect(facts.some((app) => app.wave === SYNC_WAVES.models)).toBe(true);
  });

  it('never uses a custom kind before the wave that installs its CRD', () => {
    const violations: string[] = [];
    for (const app of facts) {
      for (const kind of app.uses) {
        if (app.installs.has(kind) || preinstalled.has(kind)) continue;
        const installers = facts.filter((other) => other.installs.has(kind));
        if (installers.length === 0) {
          violations.push(`${app.name} (wave ${app.wave}) uses ${kind}, which no Application installs`);
        } else if (!installers.some((installer) => installer.wave < app.wave)) {
          const waves = installers.map((installer) => `${installer.name} wave ${installer.wave}`).join(', ');
          violations.push(`${app.name} (wave ${app.wave}) uses ${kind} installed by ${waves}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('installs each CRD bundle in exactly one Application', () => {
    const owners = new Map<string, string[]>();
    for (const app of facts)
      for (const kind of app.installs) owners.set(kind, [...(owners.get(kind) ?? []), app.name]);
    expect([...owners.entries()].filter(([, apps]) => apps.length > 1)).toEqual([]);
  });

  it('orders the layers CRDs → cert-manager → issuers → mesh → controllers → gateway → models', () => {
    const wave = (suffix: string): number | undefined =>
      facts.find((app) => app.name.endsWith(`-${suffix}`))?.wave;
    const chain = ['inference-crds', 'cert-manager', 'pki', 'istio-base', 'istiod', 'lws', 'gateway'];
    const waves = chain.map((name) => wave(name)).filter((value): value is number => value !== undefined);
    expect(waves.length).toBe(chain.length);
    expect([...waves].sort((a, b) => a - b)).toEqual(waves);
    const models = facts.filter((app) => app.wave === SYNC_WAVES.models);
    expect(Math.max(...facts.filter((app) => !models.includes(app)).map((app) => app.wave))).toBeLessThan(
      SYNC_WAVES.models,
    );
  });

  it('declares every custom kind our platform charts create in the component catalogue', () => {
    const env = environments.find((candidate) => candidate.name === environment);
    if (env === undefined) throw new Error(`no environment ${environment}`);
    for (const component of platformComponents(env.platform)) {
      if (component.source.type !== 'local') continue;
      const application = generatedArgoObjects(repoRoot, environment)
        .filter(isApplication)
        .find((candidate) => candidate.metadata.labels?.['app.kubernetes.io/component'] === component.name);
      expect(application, component.name).toBeDefined();
      if (application === undefined) continue;
      const rendered = new Set(
        renderRepositoryChart(repoRoot, application)
          .map((object) => kindKey({ group: groupOf(object.apiVersion), kind: object.kind }))
          .filter((key) => CUSTOM_KINDS.has(key)),
      );
      expect([...rendered].sort(), component.name).toEqual(
        expect.arrayContaining(
          [...rendered].filter((key) => component.usesKinds.map(kindKey).includes(key)).sort(),
        ),
      );
      const undeclared = [...rendered].filter((key) => !component.usesKinds.map(kindKey).includes(key));
      expect(undeclared, component.name).toEqual([]);
    }
  });
});
