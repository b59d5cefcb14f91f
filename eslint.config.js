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
  // The generator's layers: load → validate → normalize → render → output check → write, with the commands on
  // top. A layer imports only layers below it; model/ (types), platform/ (data) and errors.ts are below all.
  ...generatorLayers({
    'generator/model/**': [
      'load',
      'validate',
      'normalize',
      'render',
      'output',
      'write',
      'commands',
      'platform',
      'verify',
    ],
    'generator/platform/**': [
      'load',
      'validate',
      'normalize',
      'render',
      'output',
      'write',
      'commands',
      'verify',
    ],
    'generator/load/**': ['validate', 'normalize', 'render', 'output', 'write', 'commands', 'verify'],
    'generator/validate/**': ['normalize', 'render', 'output', 'write', 'commands', 'verify'],
    'generator/normalize/**': ['render', 'output', 'write', 'commands', 'verify'],
    'generator/render/**': ['load', 'validate', 'output', 'write', 'commands', 'verify'],
    'generator/output/**': ['load', 'normalize', 'write', 'commands'],
    'generator/write/**': ['load', 'validate', 'normalize', 'output', 'commands', 'verify'],
    'generator/verify/**': ['load', 'normalize', 'render', 'output', 'write', 'commands'],
  }),
);

/** One no-restricted-imports rule per generator folder, naming the folders it may not import. */
function generatorLayers(forbidden) {
  return Object.entries(forbidden).map(([files, folders]) => ({
    files: [files],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: folders.map((folder) => ({
            group: [`**/${folder}/*`, `../${folder}/*`, `./${folder}/*`],
            message: `${files.split('/')[1]}/ sits below ${folder}/ in the generator's layers; see docs/generator.md.`,
          })),
        },
      ],
    },
  }));
}
