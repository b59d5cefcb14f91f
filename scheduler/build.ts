// `npm run build:router`: bundles scheduler/main.ts and every dependency into one ES module,
// dist/router/router.mjs, that runs with `node router.mjs` from a folder without node_modules. The one
// exception is `zeromq`, a native addon that cannot be bundled: it stays external, loaded with a dynamic
// import only when --kv-events-port is given, and the router image carries node_modules/zeromq (and
// cmake-ts, its addon loader) beside the bundle.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLE_NAME = 'router.mjs';
/** Packages left out of the bundle (native addons); the image copies them into node_modules beside it. */
export const EXTERNAL_PACKAGES = ['zeromq'] as const;
/** The Node.js major version the bundle is built for (package.json `engines`, the image's base). */
const NODE_MAJOR = 24;

/** Bundles the router into `outDir` (emptied first); returns the bundle's path and size. */
export async function buildRouterBundle(outDir: string): Promise<{ file: string; bytes: number }> {
  const file = join(outDir, BUNDLE_NAME);
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(ROOT, 'scheduler', 'main.ts')],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    keepNames: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    metafile: true,
    logLevel: 'warning',
    external: [...EXTERNAL_PACKAGES],
    // Bundled CommonJS dependencies call require() for Node built-ins; an ES module has no require of its own.
    // An older Node fails inside a dependency's start-up code; say so first, in words.
    banner: {
      js: [
        "import { createRequire as __routerCreateRequire } from 'node:module'; const require = __routerCreateRequire(import.meta.url);",
        `if (Number(process.versions.node.split('.')[0]) < ${String(NODE_MAJOR)}) { process.stderr.write('router.mjs needs Node.js ${String(NODE_MAJOR)} or later, not ' + process.version + ' (use npx node, as package.json pins it, or the router image)\\n'); process.exit(1); }`,
      ].join('\n'),
    },
  });
  await writeFile(join(outDir, 'meta.json'), JSON.stringify(result.metafile));
  const output = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith(BUNDLE_NAME));
  return { file, bytes: output?.[1].bytes ?? 0 };
}

if (import.meta.main) {
  new Command('build:router')
    .description(`Bundle the router into dist/router/${BUNDLE_NAME} (what scheduler/Dockerfile ships)`)
    .parse();
  const { file, bytes } = await buildRouterBundle(join(ROOT, 'dist', 'router'));
  process.stdout.write(`${relative(ROOT, file)}: ${(bytes / 1024 / 1024).toFixed(2)} MiB\n`);
}
