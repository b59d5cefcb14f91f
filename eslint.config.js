import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['node_modules/', '.tools/', 'charts/', 'apps/', 'dist/', 'coverage/', 'scheduler/dist/'],
  },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: {
      parserOptions: { projectService: false },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  // The generator's layers, bottom first: a folder may import only folders below it (model/ and platform/ sit
  // below all; verify/ is a library the output check and the commands use). render reads only normalized data.
  ...generatorLayers(
    ['model', 'platform', 'load', 'validate', 'normalize', 'render', 'output', 'write', 'commands'],
    {
      render: ['load', 'validate'],
      output: ['load', 'normalize'],
      write: ['load', 'validate', 'normalize', 'output'],
      verify: ['load', 'normalize', 'render', 'output', 'write', 'commands'],
    },
  ),
);

/**
 * One no-restricted-imports rule per generator folder: it may not import the folders above it in `order`, nor
 * the extra folders listed for it; verify/ is imported from output/ and commands/ only.
 */
function generatorLayers(order, extra) {
  const folders = [...order, 'verify'];
  return folders.map((folder) => {
    const index = order.indexOf(folder);
    const above = index < 0 ? [] : order.slice(index + 1);
    const forbidden = [
      ...new Set([
        ...above,
        ...(extra[folder] ?? []),
        ...(['output', 'commands', 'verify'].includes(folder) ? [] : ['verify']),
      ]),
    ].filter((f) => f !== folder);
    return {
      files: [`generator/${folder}/**`],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: forbidden.map((other) => ({
              group: [`**/${other}/*`, `../${other}/*`, `./${other}/*`],
              message: `${folder}/ may not import ${other}/ (the generator's layers; see docs/generator.md).`,
            })),
          },
        ],
      },
    };
  });
}
