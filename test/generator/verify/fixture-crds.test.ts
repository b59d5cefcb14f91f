import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCrdDirectory, validateAgainstCrd, type CrdVersion } from '../../../generator/verify/crds.ts';

const fixtureCrds = fileURLToPath(new URL('../../fixtures/verify/crds/', import.meta.url));
const { index, errors: loadErrors } = loadCrdDirectory(fixtureCrds);

function widgetVersion(): CrdVersion {
  const version = index.find('fixtures.switchyard.dev/v1', 'Widget');
  if (version === undefined) {
    throw new Error('fixture Widget CRD not loaded');
  }
  return version;
}

function widget(spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'fixtures.switchyard.dev/v1',
    kind: 'Widget',
    metadata: { name: 'w', namespace: 'ns' },
    spec,
  };
}

function check(spec: Record<string, unknown>): string[] {
  return validateAgainstCrd(widget(spec), widgetVersion()).map((error) => `${error.path}: ${error.message}`);
}

describe('CustomResourceDefinition loading', () => {
  it('reads plain documents and kubectl List exports', () => {
    expect(loadErrors).toEqual([]);
    expect(index.definitions).toBe(2);
    expect(index.find('fixtures.switchyard.dev/v1alpha1', 'Gadget')?.crdName).toBe(
      'gadgets.fixtures.switchyard.dev',
    );
    expect(index.find('fixtures.switchyard.dev/v2', 'Widget')).toBeUndefined();
  });

  it('reports YAML errors in CRD files with their position', () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-crds-'));
    try {
      writeFileSync(join(dir, 'broken.yaml'), 'apiVersion: v1\nkind: [oops\n');
      const { errors } = loadCrdDirectory(dir);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/broken\.yaml:3:1: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects versions the CRD does not serve', () => {
    const version = index.find('fixtures.switchyard.dev/v0', 'Widget');
    expect(version?.served).toBe(false);
    const errors = validateAgainstCrd(
      { ...widget({}), apiVersion: 'fixtures.switchyard.dev/v0' },
      version as CrdVersion,
    );
    expect(errors).toEqual([
      {
        path: 'apiVersion',
        message: 'version is not served by CustomResourceDefinition widgets.fixtures.switchyard.dev',
      },
    ]);
  });
});

describe('defaults are applied before CEL rules', () => {
  it('accepts a spec that satisfies the rules only once mode and maxReplicas are defaulted', () => {
    // Without defaults, `self.mode` and `self.maxReplicas` would be missing and the rules would error.
    expect(check({})).toEqual([]);
    expect(check({ minReplicas: 2 })).toEqual([]);
  });

  it('uses the defaulted value in the rule', () => {
    expect(check({ minReplicas: 4 })).toEqual(['spec.minReplicas: minReplicas must not exceed maxReplicas']);
    expect(check({ port: 8080 })).toEqual(['spec: port is set exactly when mode is Manual']);
    expect(check({ mode: 'Manual', port: 8080 })).toEqual([]);
  });

  it('defaults fields of nested objects before their rules run', () => {
    // group defaults to "" and kind to Service, so the reference needs a port.
    expect(check({ backendRef: { name: 'svc' } })).toEqual([
      'spec.backendRef: a Service reference needs a port',
    ]);
    expect(check({ backendRef: { name: 'svc', port: 80 } })).toEqual([]);
    expect(
      check({ backendRef: { name: 'pool', group: 'inference.networking.k8s.io', kind: 'InferencePool' } }),
    ).toEqual([]);
  });
});

describe('CEL rules', () => {
  it('reports messageExpression results', () => {
    expect(check({ maxReplicas: 12 })).toEqual(['spec: maxReplicas 12 exceeds 10']);
  });

  it('evaluates list macros and string functions', () => {
    expect(check({ paths: ['/a', '/b/c'] })).toEqual([]);
    expect(check({ paths: ['relative'] })).toEqual(['spec.paths: paths must be absolute']);
    expect(check({ paths: ['/a//b'] })).toEqual(['spec.paths: paths must be absolute']);
    expect(check({ labels: { 'example.com/a': 'x' } })).toEqual([]);
    expect(check({ labels: { 'a/b/c': 'x' } })).toEqual(['spec.labels: label keys have at most one prefix']);
  });

  it('evaluates durations', () => {
    expect(check({ timeout: '30m' })).toEqual([]);
    expect(check({ timeout: '2h' })).toEqual(['spec.timeout: timeout must be at most one hour']);
  });

  it('does not evaluate the rules of a value that already has the wrong type', () => {
    expect(check({ backendRef: 'svc' })).toEqual(['spec.backendRef: must be object, got string "svc"']);
  });

  it('skips transition rules (oldSelf) on create', () => {
    expect(check({ name: 'first' })).toEqual([]);
  });

  it('reports a rule using a function it does not implement instead of passing it', () => {
    const errors = check({ homepage: 'https://example.com' });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^spec\.homepage: CEL function isURL is not supported by this validator/);
  });
});

describe('structural schema', () => {
  it('rejects unknown fields, but keeps those under x-kubernetes-preserve-unknown-fields', () => {
    expect(check({ colour: 'red' })).toEqual(['spec.colour: unknown field (not in the schema)']);
    expect(check({ backendRef: { name: 's', port: 1, weight: 3 } })).toEqual([
      'spec.backendRef.weight: unknown field (not in the schema)',
    ]);
    expect(check({ extra: { anything: { goes: [1, 2] } } })).toEqual([]);
  });

  it('checks types, enums, patterns, lengths, bounds and formats', () => {
    expect(check({ mode: 'Sometimes', port: 1 })).toEqual([
      'spec.mode: must be one of "Auto", "Manual", got string "Sometimes"',
    ]);
    expect(check({ mode: 'Manual', port: 70000 })).toEqual([
      'spec.port: must be less than or equal to 65535, got 70000',
    ]);
    expect(check({ mode: 'Manual', port: '80' })[0]).toBe('spec.port: must be integer, got string "80"');
    expect(check({ name: 'Has_Capitals' })).toEqual([
      'spec.name: string "Has_Capitals" must match pattern ^[a-z]([-a-z0-9]*[a-z0-9])?$',
    ]);
    expect(check({ name: 'a-name-that-is-too-long' })).toEqual([
      'spec.name: must have at most 12 characters, got 23',
    ]);
    expect(check({ paths: ['/a', '/b', '/c', '/d'] })).toEqual([
      'spec.paths: must have at most 3 items, got 4',
    ]);
    expect(check({ createdAt: 'yesterday' })).toEqual([
      'spec.createdAt: string "yesterday" is not a valid date-time',
    ]);
    expect(check({ createdAt: '2026-11-27T10:00:00Z' })).toEqual([]);
    expect(check({ ports: [{ name: 'http', number: 3_000_000_000 }] })).toEqual([
      'spec.ports[0].number: must fit in a 32-bit integer, got 3000000000',
    ]);
  });

  it('accepts both integers and strings for x-kubernetes-int-or-string, nothing else', () => {
    expect(check({ size: 3 })).toEqual([]);
    expect(check({ size: '30%' })).toEqual([]);
    expect(check({ size: true })[0]).toBe('spec.size: must be integer or string, got boolean true');
  });

  it('enforces uniqueness of set and map lists', () => {
    expect(check({ paths: ['/a', '/a'] })).toEqual(['spec.paths[1]: duplicate entry: "/a"']);
    expect(
      check({
        ports: [
          { name: 'http', number: 1 },
          { name: 'http', number: 2 },
        ],
      }),
    ).toEqual(['spec.ports[1]: duplicate entry for key (name): ["http"]']);
  });

  it('requires required fields and validates embedded resources', () => {
    expect(check({ backendRef: {} })).toContain('spec.backendRef.name: required field is missing');
    expect(
      check({ template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { replicas: 1 } } }),
    ).toEqual([]);
    expect(check({ template: { spec: { replicas: 1 } } })).toEqual([
      'spec.template.apiVersion: embedded resource must have a non-empty string',
      'spec.template.kind: embedded resource must have a non-empty string',
    ]);
  });

  it('checks object metadata', () => {
    const object = { ...widget({}), metadata: { name: 'w', labels: { app: 'not valid!' } } };
    expect(validateAgainstCrd(object, widgetVersion())).toEqual([
      { path: 'metadata.labels.app', message: 'string "not valid!" is not a valid label value' },
    ]);
  });
});
