// Benchmark: how long `generate` takes to reject hostile inputs, in process (module loading excluded).
// npx node generator/bench/bad-input.ts [--json OUT]
// Cases: a 3.5 MB model spec of unknown keys (refused by the size limit), the largest spec the size limit admits
// filled with unknown keys (about 11,000 schema errors, capped in the output), and an alias bomb.
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { InputError } from '../errors.ts';
import { yamlLimits } from '../load/yaml-source.ts';
import { buildOutputs } from '../pipeline.ts';

const { values } = parseArgs({ options: { json: { type: 'string' } } });
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const modelFile = 'environments/dev/models/qwen-basic.yaml';
const head =
  'name: qwen-basic\nnamespace: llm\nmodel:\n  uri: hf://Qwen/Qwen2.5-0.5B-Instruct\naccelerator:\n  type: nvidia-gpu\n';
const keyLine = (i: number): string => `unknown-key-${String(i).padStart(7, '0')}: 1\n`;
const unknownKeys = (count: number): string =>
  head + Array.from({ length: count }, (_, i) => keyLine(i)).join('');

const bomb = [
  head,
  'a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n',
  ...Array.from({ length: 8 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(9).fill(`*a${i}`).join(', ')}]\n`),
].join('');

const cases: Record<string, string> = {
  'unknown keys, 3.5 MB': unknownKeys(160_000),
  'unknown keys, at the size limit': unknownKeys(
    Math.floor((yamlLimits.maxBytes - head.length) / keyLine(0).length),
  ),
  'alias bomb': bomb,
};

const scratch = mkdtempSync(join(tmpdir(), 'switchyard-bench-bad-input-'));
const results: { case: string; bytes: number; seconds: number; problemsShown: number }[] = [];
try {
  // The valid baseline first: it pays the one-time costs (schema compilation, first use of each module) and is
  // the reference a rejection is compared with.
  const baseline = join(scratch, 'baseline');
  cpSync(join(repoRoot, 'test/fixtures/inputs/baseline/environments'), join(baseline, 'environments'), {
    recursive: true,
  });
  cpSync(join(repoRoot, 'charts'), join(baseline, 'charts'), { recursive: true });
  for (const run of ['first', 'again']) {
    const started = performance.now();
    buildOutputs(baseline);
    console.log(`valid baseline (${run}): built in ${((performance.now() - started) / 1000).toFixed(3)} s`);
  }
  for (const [name, text] of Object.entries(cases)) {
    const root = join(scratch, String(results.length));
    cpSync(join(repoRoot, 'test/fixtures/inputs/baseline/environments'), join(root, 'environments'), {
      recursive: true,
    });
    cpSync(join(repoRoot, 'charts'), join(root, 'charts'), { recursive: true });
    mkdirSync(join(root, 'environments/dev/models'), { recursive: true });
    writeFileSync(join(root, modelFile), text);
    const started = performance.now();
    let shown = 0;
    try {
      buildOutputs(root);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      shown = error.problems.length;
    }
    const seconds = (performance.now() - started) / 1000;
    if (shown === 0) throw new Error(`${name}: accepted`);
    results.push({ case: name, bytes: Buffer.byteLength(text), seconds, problemsShown: shown });
    console.log(
      `${name}: ${Buffer.byteLength(text)} bytes rejected in ${seconds.toFixed(3)} s (${shown} problems shown)`,
    );
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(results, null, 2)}\n`);
