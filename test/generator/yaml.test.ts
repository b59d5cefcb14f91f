// The stable YAML writer: any JSON value reads back unchanged under YAML 1.2 and YAML 1.1 (how Helm reads
// values), keys are sorted, and output is deterministic.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { toStableYaml } from '../../generator/render/yaml.ts';

const tricky = fc.constantFrom(
  'yes',
  'No',
  'ON',
  'off',
  'y',
  'n',
  'true',
  'False',
  'null',
  '~',
  '',
  ' ',
  '-',
  '- a',
  '-1',
  '+1',
  '.5',
  '.inf',
  '-.inf',
  '.NaN',
  '0x1F',
  '0o17',
  '017',
  '1_000',
  '1e3',
  '1:20',
  '2026-11-27',
  '2026.11',
  '0.1.0',
  'a: b',
  'a #b',
  '#c',
  'key:',
  '*alias',
  '&anchor',
  '!tag',
  '%dir',
  '@at',
  '`tick',
  '{x}',
  '[y]',
  '|',
  '>',
  "'q'",
  '"d"',
  'multi\nline',
  'tab\there',
  'hf://Qwen/Qwen2.5-0.5B-Instruct',
  '--block-size',
  'nvidia.com/gpu',
  'sha256:abc',
  'é',
  '---',
  '--- x',
  '...',
  '%x',
  '<<',
  '=',
  '0b101',
  '1.5e+3',
  '1.',
  '+.inf',
  'NULL',
  'tab\t',
  ' lead',
  'trail ',
);

const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.oneof(
      fc.string(),
      tricky,
      fc.integer(),
      // -0 is not a JSON value (JSON.stringify writes 0), so it cannot round-trip through the JSON oracle.
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (Object.is(d, -0) ? 0 : d)),
      fc.boolean(),
      fc.constant(null),
    ),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string(), tricky), tie('value'), { maxKeys: 4 }),
  ),
})).value;

describe('toStableYaml', () => {
  it('round-trips any JSON value under YAML 1.2 and 1.1', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        const text = toStableYaml(value);
        const expected: unknown = JSON.parse(JSON.stringify(value));
        expect(parse(text, { version: '1.2' })).toEqual(expected);
        expect(parse(text, { version: '1.1' })).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('writes what the yaml package writes with the same options (the string-style cache changes nothing)', () => {
    const reference = (value: unknown): string =>
      stringify(value, {
        version: '1.2',
        compat: 'yaml-1.1',
        sortMapEntries: true,
        aliasDuplicateObjects: false,
        lineWidth: 0,
      });
    fc.assert(
      fc.property(fc.array(jsonValue, { maxLength: 3 }), (values) => {
        for (const value of [...values, { nested: values }, values]) {
          expect(toStableYaml(value)).toBe(reference(value));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('sorts keys and indents sequences under keys', () => {
    expect(toStableYaml({ b: [1, { d: 'x', c: [] }], a: { z: true, y: null } })).toBe(
      ['a:', '  "y": null', '  z: true', 'b:', '  - 1', '  - c: []', '    d: x', ''].join('\n'),
    );
  });

  it('quotes strings that another YAML reader could take for something else', () => {
    expect(
      toStableYaml(['yes', '0.1.0', '-1', 'plain-text', '--flag', 'a: b', '16Gi', '1e3', 'two words']),
    ).toBe('- "yes"\n- 0.1.0\n- "-1"\n- plain-text\n- --flag\n- "a: b"\n- 16Gi\n- "1e3"\n- two words\n');
  });
});
