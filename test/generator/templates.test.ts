// The Handlebars/Helm escape convention: in generator/render/model-chart/templates/*.hbs every Helm action
// is written `\{{ ... }}` and comes out as `{{ ... }}`; plain `{{ ... }}` is a Handlebars expression that
// the generator fills in.
import { readdirSync, readFileSync } from 'node:fs';
import Handlebars from 'handlebars';
import { describe, expect, it } from 'vitest';
import { chartTemplates } from '../../generator/render/model-chart/index.ts';
import { routerTemplateContext } from '../../generator/render/model-chart/router.ts';

const templatesDir = new URL('../../generator/render/model-chart/templates/', import.meta.url);
const sources = readdirSync(templatesDir)
  .filter((f) => f.endsWith('.hbs'))
  .sort()
  .map((file) => ({ file, source: readFileSync(new URL(file, templatesDir), 'utf8') }));

const context = {
  banner: '# banner',
  name: 'm',
  names: {
    vllm: 'm-vllm',
    pool: 'm',
    router: 'm-router',
    routerTls: 'm-router-tls',
    route: 'm',
    rewrites: 'm-aliases',
    objectives: [],
  },
  router: routerTemplateContext,
  vllmPort: 8000,
  startupProbePeriodSeconds: 10,
  modelMountPath: '/mnt/models',
  sources: { pvc: true, oci: true, external: true },
};

function countOccurrences(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

describe('chart templates', () => {
  it('are all compiled', () => {
    expect(chartTemplates().map((t) => `${t.output}.hbs`)).toEqual(sources.map((s) => s.file));
  });

  it.each(sources)(
    '$file: every escaped Helm action survives and no Handlebars expression is left',
    ({ file, source }) => {
      const template = chartTemplates().find((t) => `${t.output}.hbs` === file);
      const rendered = template?.render(context) ?? '';
      const helmActions = countOccurrences(source, '\\{{');
      expect(helmActions).toBeGreaterThan(0);
      expect(countOccurrences(rendered, '{{')).toBe(helmActions);
      expect(rendered).not.toContain('\\{{');
      expect(rendered.startsWith('# banner\n')).toBe(true);
    },
  );

  it('fails loudly on a Handlebars expression with no value (strict mode)', () => {
    const template = Handlebars.compile('name: {{missing}}', { strict: true, noEscape: true });
    expect(() => template({})).toThrow(/"missing" not defined/);
  });

  it('shows the convention on a small example', () => {
    const template = Handlebars.compile('name: {{name}}\nreplicas: \\{{ .Values.replicas }}\n', {
      strict: true,
      noEscape: true,
    });
    expect(template({ name: 'qwen' })).toBe('name: qwen\nreplicas: {{ .Values.replicas }}\n');
  });
});
