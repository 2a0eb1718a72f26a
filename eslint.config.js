// ESLint flat config for the browser client's sources, the build script and the test pages.
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['node_modules/**', '.venv/**', 'src/archivist/web/static/**', 'src/archivist/sample/static/**'] },
  js.configs.recommended,
  {
    files: ['src/archivist/web/src/**/*.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: globals.browser },
    rules: {
      'no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'prefer-const': 'error',
      'no-var': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['scripts/**/*.mjs'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: globals.node },
  },
  {
    files: ['tests/**/*.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'script', globals: { ...globals.browser, OT: 'readonly', T: 'writable' } },
    rules: { 'no-unused-vars': ['error', { args: 'none', varsIgnorePattern: '^(SAMPLE_SERVER_BASE_URL|API_KEY|SESSION_ID|TOKEN)$' }] },
  },
  {
    // the web-sample pages: classic scripts sharing globals across files, as the samples do
    files: ['tests/websamples/pages/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: {
        ...globals.browser, OT: 'readonly', $: 'readonly', Filters: 'readonly',
        SAMPLE_SERVER_BASE_URL: 'readonly', API_KEY: 'readonly', SESSION_ID: 'readonly', TOKEN: 'readonly',
      },
    },
    rules: { 'no-unused-vars': ['error', { vars: 'local', args: 'none' }] },
  },
  {
    files: ['tests/websamples/pages/**/config.js', 'tests/websamples/pages/**/filters.js'],
    rules: { 'no-redeclare': 'off' },
  },
  {
    files: ['tests/**/*.mjs'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: globals.browser },
  },
];
