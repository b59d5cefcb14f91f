import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { formatProblem, validateRepository } from '../../../generator/verify/run.ts';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));
const fixtureRepo = fileURLToPath(new URL('../../fixtures/verify/repo/', import.meta.url));
const fixtureCrds = fileURLToPath(new URL('../../fixtures/verify/crds/', import.meta.url));
const referenceCrds = join(repositoryRoot, '../shared/reference/crds');

const scratch = mkdtempSync(join(tmpdir(), 'switchyard-validate-test-'));
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

let copies = 0;
/** A copy of the fixture repository with some files replaced or edited. */
function fixtureCopy(edits: Record<string, string | ((text: string) => string)>): string {
  copies += 1;
  const root = join(scratch, `repo-${String(copies)}`);
  cpSync(fixtureRepo, root, { recursive: true });
  for (const [file, edit] of Object.entries(edits)) {
    const path = join(root, file);
    mkdirSync(join(path, '..'), { recursive: true });
    const next = typeof edit === 'string' ? edit : edit(existsSync(path) ? readFileSync(path, 'utf8') : '');
    writeFileSync(path, next);
  }
  return root;
}

async function lines(root: string, options: { envs?: string[]; crdsDir?: string } = {}): Promise<string[]> {
  const report = await validateRepository({ root, ...options });
  return report.problems.map(formatProblem);
}

describe('validateRepository on the fixture repository', () => {
  it('lints the chart, renders it as the Application says and finds nothing wrong', async () => {
    const report = await validateRepository({ root: fixtureRepo, crdsDir: fixtureCrds });
    expect(report.problems.map(formatProblem)).toEqual([]);
    // 3 Argo CD objects + 7 rendered objects.
    expect(report).toMatchObject({ objects: 10, charts: 1, applications: 2, crdDefinitions: 2 });
  });

  it('fails helm lint --strict on a broken chart', async () => {
    const root = fixtureCopy({
      'charts/models/demo/templates/service.yaml': (text) => `${text}\n{{- if }}\n`,
    });
    const found = await lines(root);
    expect(found[0]).toBe(
      'charts/models/demo/values-dev.yaml: helm lint --strict: [ERROR] templates/: parse error at (demo/templates/service.yaml:13): missing value for if',
    );
    expect(
      found.some((line) =>
        /^apps\/dev\/demo\.yaml: helm template charts\/models\/demo: .*\[Application dev-demo\]$/.test(line),
      ),
    ).toBe(true);
  });

  it('reports a Deployment with a wrongly typed field at its template file', async () => {
    const root = fixtureCopy({ 'charts/models/demo/values-dev.yaml': 'replicas: two\n' });
    expect(await lines(root)).toEqual([
      'charts/models/demo/templates/deployment.yaml: apps/v1/Deployment llm/demo: spec.replicas: must be integer [Application dev-demo]',
    ]);
  });

  it('renders with helm.parameters and valuesObject exactly as Argo CD would', async () => {
    const root = fixtureCopy({
      'apps/dev/demo.yaml': (text) =>
        text.replace(
          '        - values-dev.yaml\n',
          // valuesObject overrides the value files and parameters override both, as in Argo CD.
          '        - values-dev.yaml\n      valuesObject:\n        replicas: many\n        pickerPort: 0\n      parameters:\n        - name: replicas\n          value: "3"\n',
        ),
    });
    expect(await lines(root)).toEqual([
      'charts/models/demo/templates/inferencepool.yaml: inference.networking.k8s.io/v1/InferencePool llm/demo: spec.endpointPickerRef.port.number: must be >= 1 (schemas/crds/inferencepool-v1.schema.json) [Application dev-demo]',
      'charts/models/demo/templates/inferencepool.yaml: inference.networking.k8s.io/v1/InferencePool llm/demo: spec.endpointPickerRef: refers to endpoint picker Service llm/demo-router has no port 0 [Application dev-demo]',
    ]);
  });

  it('renders multi-source Applications and helm.values strings', async () => {
    const root = fixtureCopy({
      'apps/dev/demo.yaml': (text) =>
        text
          .replace(
            '  source:\n    repoURL: https://git.example.com/platform.git\n    targetRevision: main\n    path: charts/models/demo',
            '  sources:\n  - repoURL: https://git.example.com/platform.git\n    targetRevision: main\n    path: charts/models/demo',
          )
          .replace(
            '        - values-dev.yaml\n',
            '        - values-dev.yaml\n      values: |\n        replicas: lots\n',
          ),
    });
    expect(readFileSync(join(root, 'apps/dev/demo.yaml'), 'utf8')).toContain('  sources:\n  - repoURL');
    expect(await lines(root)).toEqual([
      'charts/models/demo/templates/deployment.yaml: apps/v1/Deployment llm/demo: spec.replicas: must be integer [Application dev-demo]',
    ]);
  });

  it('reports missing value files, unknown kinds and YAML syntax errors with their location', async () => {
    const root = fixtureCopy({
      'apps/dev/demo.yaml': (text) => text.replace('values-dev.yaml', 'values-staging.yaml'),
      'apps/dev/broken.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [unclosed\n',
      'charts/models/demo/templates/widget.yaml':
        'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n',
    });
    const found = await lines(root);
    expect(found).toContain(
      'apps/dev/demo.yaml: argoproj.io/v1alpha1/Application argocd/dev-demo: spec.source.helm.valueFiles[0]: value file charts/models/demo/values-staging.yaml does not exist in this repository',
    );
    expect(found.some((line) => /^apps\/dev\/broken\.yaml:\d+:\d+: Flow/.test(line))).toBe(true);
    // The chart is still linted with its own values files, where the unknown kind is rendered.
    expect(found).toEqual(
      expect.not.arrayContaining([expect.stringMatching(/^charts\/models\/demo\/values-dev\.yaml/)]),
    );
  });

  it('validates rendered unknown kinds as errors', async () => {
    const root = fixtureCopy({
      'charts/models/demo/templates/widget.yaml':
        'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n',
    });
    expect(await lines(root)).toEqual([
      'charts/models/demo/templates/widget.yaml: example.com/v1/Widget llm/w: (root): unknown kind: no schema for example.com/v1 Widget [Application dev-demo]',
    ]);
  });

  it('fails when there is nothing to validate', async () => {
    const empty = join(scratch, 'empty');
    mkdirSync(empty, { recursive: true });
    const report = await validateRepository({ root: empty });
    expect(report.problems.map((problem) => problem.message)).toEqual([
      'nothing to validate: no Argo CD objects under apps/ and no charts under charts/',
    ]);
  });

  it('renders with the --crds APIs as cluster capabilities and validates kinds only those CRDs define', async () => {
    const root = fixtureCopy({
      'charts/models/demo/templates/widget.yaml':
        '{{- if .Capabilities.APIVersions.Has "fixtures.switchyard.dev/v1/Widget" }}\napiVersion: fixtures.switchyard.dev/v1\nkind: Widget\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  port: 80\n{{- end }}\n',
    });
    expect(await lines(root)).toEqual([]);
    expect(await lines(root, { crdsDir: fixtureCrds })).toEqual([
      'charts/models/demo/templates/widget.yaml: fixtures.switchyard.dev/v1/Widget llm/demo: spec: port is set exactly when mode is Manual (CRD widgets.fixtures.switchyard.dev) [Application dev-demo]',
    ]);
  });

  it('limits the run to one environment with envs', async () => {
    const root = fixtureCopy({
      'apps/prod/demo.yaml': (_text) =>
        readFileSync(join(fixtureRepo, 'apps/dev/demo.yaml'), 'utf8')
          .replaceAll('dev-', 'prod-')
          .replace('values-dev.yaml', 'values-prod.yaml'),
      'charts/models/demo/values-prod.yaml': 'replicas: many\n',
    });
    expect(await lines(root, { envs: ['dev'] })).toEqual([]);
    const all = await lines(root);
    expect(all).toEqual([
      'charts/models/demo/templates/deployment.yaml: apps/v1/Deployment llm/demo: spec.replicas: must be integer [Application prod-demo]',
    ]);
    expect(await lines(root, { envs: ['staging'] })).toEqual([
      'apps/staging: environment staging has no generated Argo CD objects',
    ]);
  });

  it("enforces the AppProject: kinds, cluster-scoped kinds, destinations and the project's existence", async () => {
    const root = fixtureCopy({
      'apps/dev/demo.yaml': (text) =>
        text
          .replace(
            '      namespace: llm\n---',
            '      namespace: llm\n  namespaceResourceWhitelist:\n    - group: apps\n      kind: Deployment\n    - group: ""\n      kind: Service\n    - group: "inference.networking*"\n      kind: "*"\n---',
          )
          .concat(
            '---\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: dev-stray\n  namespace: argocd\nspec:\n  project: dev-nowhere\n  source:\n    repoURL: https://git.example.com/platform.git\n    path: apps/none\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: other\n',
          ),
      'charts/models/demo/templates/clusterrole.yaml':
        'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: demo-reader\nrules: []\n',
    });
    expect(await lines(root)).toEqual([
      'apps/dev/demo.yaml: argoproj.io/v1alpha1/Application argocd/dev-stray: spec.project: AppProject dev-nowhere is not defined in apps/dev',
      'charts/models/demo/templates/clusterrole.yaml: rbac.authorization.k8s.io/v1/ClusterRole llm/demo-reader: (root): AppProject dev-models does not permit cluster-scoped rbac.authorization.k8s.io/ClusterRole [Application dev-demo]',
      'charts/models/demo/templates/httproute.yaml: gateway.networking.k8s.io/v1/HTTPRoute llm/demo: (root): AppProject dev-models does not permit namespaced gateway.networking.k8s.io/HTTPRoute [Application dev-demo]',
    ]);
    const elsewhere = fixtureCopy({
      'apps/dev/demo.yaml': (text) => text.replace(/namespace: llm\n$/, 'namespace: llm-prod\n'),
    });
    expect(await lines(elsewhere)).toEqual([
      'apps/dev/demo.yaml: argoproj.io/v1alpha1/Application argocd/dev-demo: spec.destination: AppProject dev-models does not permit destination https://kubernetes.default.svc namespace llm-prod',
    ]);
  });

  it.skipIf(!existsSync(referenceCrds))(
    'with the upstream CRDs, catches a relative HTTPRoute path and a Service backendRef without a port',
    async () => {
      const root = fixtureCopy({
        'charts/models/demo/values-dev.yaml': 'replicas: 2\npathPrefix: llm/demo/\n',
        'charts/models/demo/templates/httproute.yaml': (text) =>
          text.replace(
            '          name: {{ .Release.Name }}\n',
            '          name: {{ .Release.Name }}\n        - name: {{ .Release.Name }}\n',
          ),
      });
      expect(await lines(root, { crdsDir: referenceCrds })).toEqual([
        "charts/models/demo/templates/httproute.yaml: gateway.networking.k8s.io/v1/HTTPRoute llm/demo: spec.rules[0].matches[0].path: value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix'] (CRD httproutes.gateway.networking.k8s.io) [Application dev-demo]",
        'charts/models/demo/templates/httproute.yaml: gateway.networking.k8s.io/v1/HTTPRoute llm/demo: spec.rules[0].backendRefs[1]: Must have port for Service reference (CRD httproutes.gateway.networking.k8s.io) [Application dev-demo]',
      ]);
    },
  );
});

describe('npm run validate', () => {
  const node = join(repositoryRoot, 'node_modules/.bin/node');
  const cli = join(repositoryRoot, 'generator/cli.ts');
  const run = (args: string[]): Promise<{ code: number; stdout: string }> =>
    new Promise((resolve) => {
      execFile(node, [cli, ...args], { cwd: repositoryRoot }, (error, stdout) => {
        resolve({ code: error === null ? 0 : Number(error.code), stdout });
      });
    });

  it('prints the summary and exits 0 on a valid repository', async () => {
    const { code, stdout } = await run(['--root', fixtureRepo, 'validate', '--crds', fixtureCrds]);
    expect(stdout).toContain('validated 10 objects from 1 charts and 2 Applications: 0 errors');
    expect(code).toBe(0);
  });

  it('prints one line per error and exits 1', async () => {
    const root = fixtureCopy({ 'charts/models/demo/values-dev.yaml': 'replicas: two\n' });
    const { code, stdout } = await run(['--root', root, 'validate', '--env', 'dev']);
    expect(stdout.trim().split('\n')).toEqual([
      'charts/models/demo/templates/deployment.yaml: apps/v1/Deployment llm/demo: spec.replicas: must be integer [Application dev-demo]',
      'validated 10 objects from 1 charts and 2 Applications: 1 errors',
    ]);
    expect(code).toBe(1);
  });
});
