import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/**
 * The layers (docs/architecture.md), lowest first. A folder imports only the folders below it:
 *
 *   core/      pure domain                          imports nothing of ours
 *   contract/  config, limits, lake layout, SQL     imports core/
 *   lambdas/   handlers and their SDK adapters      imports contract/, core/
 *   lib/       CDK constructs and the stack         imports contract/, core/ (a construct names its
 *              handler's entry file by path for bundling; it never imports lambdas/ code)
 *   bin/       the CDK app entry                    imports lib/, contract/, core/
 *   local/     local runtime                        imports lambdas/, contract/, core/ (no CDK: lib/ is
 *              not a runtime dependency of anything)
 *   cli/       the `sluice` command, the top        imports local/, lambdas/, contract/, core/
 *   test/, bench/                                   may import anything; nothing imports them
 */
const LAYERS = {
  core: [],
  contract: ['core'],
  lambdas: ['contract', 'core'],
  lib: ['contract', 'core'],
  bin: ['lib', 'contract', 'core'],
  local: ['lambdas', 'contract', 'core'],
  cli: ['local', 'lambdas', 'contract', 'core'],
};
const OWN_FOLDERS = [...Object.keys(LAYERS), 'test', 'bench'];

/** One `no-restricted-paths` zone per layer: every folder of ours that the layer may not import. */
const layerZones = Object.entries(LAYERS).map(([layer, allowed]) => ({
  target: `./${layer}`,
  from: OWN_FOLDERS.filter((folder) => folder !== layer && !allowed.includes(folder)).map((f) => `./${f}`),
  message: `${layer}/ may import only ${allowed.length ? allowed.map((f) => `${f}/`).join(', ') : 'itself'} (docs/architecture.md).`,
}));

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'cdk.out/**',
      '.sluice/**',
      'coverage/**',
      'test-results/**',
      '.scratch*',
      '.scratch*/**',
      // Deliberate violations for test/unit/architecture/layers.test.ts, linted only by that test.
      'test/fixtures/layers/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // Layers and cycles; `import type` does not count as a cycle (it is erased at compile time).
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // Without these, import-x reads no TypeScript module and no-cycle sees no imports at all.
      'import-x/extensions': ['.ts', '.js', '.cjs', '.mjs'],
      'import-x/external-module-folders': ['node_modules', 'node_modules/@types'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The dashboard page's script runs in the browser, with Chart.js loaded by a <script> tag.
    files: ['local/dashboard/static/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: Object.fromEntries(
        ['window', 'document', 'fetch', 'setTimeout', 'clearTimeout', 'setInterval', 'console'].map(
          (name) => [name, 'readonly'],
        ),
      ),
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: {
      globals: {
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        process: 'readonly',
        console: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
