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
    files: ['tests/**/*.mjs'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: globals.browser },
  },
];
