// @ts-check
// ESLint (flat config): the rules this code already follows. `npm run lint` lints src/, test/, bench/, scripts/,
// public/ and the root config files. TypeScript gets the recommended rules plus the type-aware ones that are
// cheap to satisfy (promises: no-floating-promises, await-thenable, no-misused-promises, ...); the `no-unsafe-*`
// family, require-await and a few others are off because the code does not follow them today (see below).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/out/', 'test-results/', 'coverage/', '.ci/'] },
  // An eslint-disable comment that disables nothing is an error: each one must stay meaningful.
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },

  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // `_name` marks a parameter or binding kept on purpose (a callback's position, a rest sibling).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Async callbacks handed to setTimeout, http.createServer and the like catch their own errors here;
      // promises in conditions and spreads are still errors.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      // Not followed today: JSON payloads, raw YAML and zod-less boundaries flow as `any`/`unknown` by design.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      // Not followed today: async functions implement async interfaces (Fastify handlers, probes) without awaiting.
      '@typescript-eslint/require-await': 'off',
      // Not followed today: methods are passed as callbacks from objects whose methods are arrow functions.
      '@typescript-eslint/unbound-method': 'off',
      // Would be 56 mechanical `--fix` edits across files other branches are changing; enable after they land.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  {
    // Tests read untyped JSON (HTTP bodies, /sim/state, journal rows) and say so with `any`.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Deliberate `any` in src, one file each: heterogeneous registries of generic kinds, the raw YAML tree the
    // config loader walks before zod sees it, error handlers installed on apps of every type provider, and the
    // benchmark reading the simulator's untyped JSON. Anywhere else `any` is an error.
    files: ['src/policies/registry.ts', 'src/probes/registry.ts', 'src/config/load.ts', 'src/http/errors.ts', 'src/bench/scale.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // TEMPORARY EXCEPTIONS (issue 19) — delete each line as its fix lands:
    // - notify/notifier.ts, notify/render.ts, commands/plan.ts: event data is an untyped bag, so its fields may
    //   stringify as [object Object]; removed by the events-as-a-discriminated-union work (notify worker).
    files: ['src/notify/notifier.ts', 'src/notify/render.ts', 'src/commands/plan.ts'],
    rules: { '@typescript-eslint/no-base-to-string': 'off' },
  },

  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [js.configs.recommended],
    languageOptions: { globals: { ...globals.node } },
  },
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs' } },
  {
    // The dashboard: a browser ES module; uPlot is a global from /assets/uplot.js (a classic script).
    files: ['public/**/*.js'],
    languageOptions: { globals: { ...globals.browser, uPlot: 'readonly' } },
  },
);
