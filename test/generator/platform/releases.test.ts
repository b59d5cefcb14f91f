import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../generator/errors.ts';
import { buildOutputs } from '../../../generator/pipeline.ts';
import {
  COMPONENT_VERSION_KEYS,
  PLATFORM_RELEASE_IDS,
  PLATFORM_RELEASES,
  resolveRelease,
} from '../../../generator/platform/releases.ts';
import { isInRange, parseVersion } from '../../../generator/platform/versions.ts';
import { platformProfileProblems } from '../../../generator/normalize/platform.ts';
import { exampleEnvironments, repoRoot, tempRepo } from '../helpers.ts';
import { writeFileSync } from 'node:fs';

const schema = JSON.parse(readFileSync(join(repoRoot, 'schemas/platform.schema.json'), 'utf8')) as {
  properties: { release: { enum: string[] }; releaseOverrides: { properties: Record<string, unknown> } };
};

describe('platform release table', () => {
  it.each(PLATFORM_RELEASES.map((release) => [release.id, release] as const))(
    'release %s pins every component to a release version inside its own compatible range',
    (_id, release) => {
      for (const key of COMPONENT_VERSION_KEYS) {
        const pin = release.versions[key];
        expect(parseVersion(pin.version), `${key} ${pin.version}`).toBeDefined();
        expect(isInRange(pin.version, pin.compatible), `${key} ${pin.version}`).toBe(true);
        expect(pin.because.length, key).toBeGreaterThan(10);
        // Upstream tags differ on the leading "v": the range uses the pin's own form.
        expect(pin.compatible.minimum.startsWith('v'), key).toBe(pin.version.startsWith('v'));
      }
    },
  );

  it('keeps the Sail operator on the Istio minor version and KServe on the LLMInferenceService version it serves', () => {
    for (const release of PLATFORM_RELEASES) {
      const istio = parseVersion(release.versions.istio.version);
      const sail = parseVersion(release.versions.sailOperator.version);
      expect(sail?.minor).toBe(istio?.minor);
      const kserve = parseVersion(release.versions.kserve.version);
      expect(release.llmInferenceServiceApiVersion).toBe(
        (kserve?.minor ?? 0) >= 17 ? 'serving.kserve.io/v1alpha2' : 'serving.kserve.io/v1alpha1',
      );
    }
  });

  it('matches the schema: the release enum and the overridable components', () => {
    expect(schema.properties.release.enum).toEqual([...PLATFORM_RELEASE_IDS]);
    expect(Object.keys(schema.properties.releaseOverrides.properties).sort()).toEqual(
      [...COMPONENT_VERSION_KEYS].sort(),
    );
  });
});

describe('release overrides', () => {
  it('applies an override inside the compatible range', () => {
    const result = resolveRelease('2026.11', { istio: '1.28.3', certManager: 'v1.19.1' });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.release.versions.istio).toBe('1.28.3');
    expect(result.release.overridden).toEqual(['istio']);
    expect(result.release.versions.gatewayApi).toBe('v1.4.0');
  });

  it('rejects an override the release marks incompatible, naming the field and the expected range', () => {
    const result = resolveRelease('2026.11', { istio: '1.27.3' });
    expect(result).toEqual({
      ok: false,
      errors: [
        {
          pointer: '/release/overrides/istio',
          message: expect.stringContaining('istio 1.27.3 is incompatible with platform release 2026.11'),
          expected: 'a version >= 1.28.0 and < 1.29.0',
        },
      ],
    });
  });

  it('rejects unknown components, malformed versions and unknown releases', () => {
    const result = resolveRelease('2026.05', { nginx: '1.0.0', kserve: '0.16.0', gatewayApi: 'latest' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((error) => [error.pointer, error.expected])).toEqual([
      ['/release/overrides/gatewayApi', 'vMAJOR.MINOR.PATCH'],
      ['/release/overrides/kserve', 'vMAJOR.MINOR.PATCH'],
      ['/release/overrides/nginx', `one of ${COMPONENT_VERSION_KEYS.join(', ')}`],
    ]);
    const unknown = resolveRelease('1999.01');
    expect(unknown.ok).toBe(false);
    if (!unknown.ok) expect(unknown.errors[0]?.expected).toBe(`one of ${PLATFORM_RELEASE_IDS.join(', ')}`);
  });

  it('checks a versioned router image against the release', () => {
    const base = {
      release: '2026.11' as const,
      cloud: { provider: 'eks' as const },
      argocd: { repoURL: 'https://git.example.com/x.git', targetRevision: 'main' },
      vllm: { image: { repository: 'v', tag: '1' } },
    };
    expect(
      platformProfileProblems({ ...base, router: { image: { repository: 'r', tag: '0.1.4' } } }),
    ).toEqual([]);
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(platformProfileProblems({ ...base, router: { image: { repository: 'r', tag: digest } } })).toEqual(
      [],
    );
    expect(
      platformProfileProblems({ ...base, router: { image: { repository: 'r', tag: '0.3.0' } } }),
    ).toEqual([
      {
        pointer: '/router/image/tag',
        message: expect.stringContaining('router 0.3.0 is incompatible with platform release 2026.11'),
        expected: 'a version >= 0.1.0 and < 0.2.0 or an image digest',
      },
    ]);
  });

  it('fails generation with file:line:column, the field and what was expected', () => {
    const repo = tempRepo(exampleEnvironments);
    try {
      const file = join(repo.root, 'environments/prod/platform.yaml');
      writeFileSync(file, `${readFileSync(file, 'utf8')}releaseOverrides:\n  gatewayApi: v1.3.0\n`);
      const lines = readFileSync(file, 'utf8').split('\n');
      const line = lines.findIndex((text) => text.includes('gatewayApi: v1.3.0')) + 1;
      let error: unknown;
      try {
        buildOutputs(repo.root);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(InputError);
      expect((error as InputError).problems).toEqual([
        {
          file: 'environments/prod/platform.yaml',
          line,
          column: 15,
          pointer: '/releaseOverrides/gatewayApi',
          sourceLine: '  gatewayApi: v1.3.0',
          message: expect.stringMatching(
            /^gatewayApi v1\.3\.0 is incompatible with platform release 2026\.11: .*; expected a version >= v1\.4\.0 and < v1\.5\.0$/,
          ),
        },
      ]);
    } finally {
      repo.cleanup();
    }
  });
});
