// Lint rules are deliberately few: typecheck carries the weight; these catch what tsc does not.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import pluginBoundary from './eslint-rules/plugin-boundary.js';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tap/**', 'coverage/**', 'var/**', 'data/**', 'data-demo/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': ['error', { allow: ['error'] }],
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    // Tests beside the plugins use what a custom plugin's tests can: thermocline/testing (src/testing).
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/test/**'], message: 'src/ does not import test/: use src/testing (thermocline/testing).' }] },
      ],
    },
  },
  {
    // A built-in plugin imports what a custom one can: docs/plugins.md#what-a-plugin-may-import.
    files: ['src/plugins/**/*.ts'],
    plugins: { thermocline: { rules: { 'plugin-boundary': pluginBoundary } } },
    rules: { 'thermocline/plugin-boundary': 'error' },
  },
  {
    files: ['src/cli.ts', 'src/cli/**/*.ts', 'src/demo/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts', '**/*.test.ts', 'examples/**'],
    rules: { 'no-console': 'off' },
  },
);
