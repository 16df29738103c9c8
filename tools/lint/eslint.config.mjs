// ESLint flat config for scripts/lint.sh, which runs it from the repository root
// (`eslint --config tools/lint/eslint.config.mjs`), so the patterns below are relative to the root.
// Rules: ESLint's `recommended` set — problems, not style: undefined names, unused variables and
// imports, unreachable code, duplicate keys, constant conditions and the like — plus a few more
// checks of the same kind that are not in it.
import js from '@eslint/js';
import globals from 'globals';

export default [
  {
    ignores: ['**/node_modules/**', 'www/pkg/**', 'tests/e2e/artifacts/**', 'target/**'],
  },
  js.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: { ecmaVersion: 2024, sourceType: 'module' },
    rules: {
      'array-callback-return': 'error',         // a map/filter/find callback that forgets to return
      'no-constructor-return': 'error',
      'no-self-compare': 'error',               // x === x
      'no-template-curly-in-string': 'error',   // '${x}' in a plain string
      'no-unreachable-loop': 'error',           // a loop whose body always exits on the first pass
    },
  },
  // The page: ES modules in the browser.
  {
    files: ['www/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
  // The wasm module's JavaScript half (src/wasm_trace.js), imported by its glue in the worker.
  {
    files: ['src/**/*.js'],
    languageOptions: { globals: globals.worker },
  },
  // Module Web Workers: the page's inference worker and the benchmark's.
  {
    files: ['www/worker.js', 'tests/e2e/bench-worker.js'],
    languageOptions: { globals: globals.worker },
  },
  // The page's pure modules, unit-tested under Node's test runner.
  {
    files: ['tests/unit/**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  // The end-to-end tests: Node scripts whose page.evaluate() callbacks run in the page.
  {
    files: ['tests/e2e/**/*.mjs'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
];
