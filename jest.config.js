/**
 * Two projects:
 *  - "fast": pure domain logic, the owner loop's timer logic, the architecture checks and the API simulators
 *    (in-process HTTP only, no Temporal server, no PostgreSQL).
 *  - "integration": everything else, against a real Temporal dev server and a real PostgreSQL database,
 *    both prepared once in globalSetup (see test/setup/global-setup.ts).
 * Run one project with `npx jest --selectProjects fast`.
 */
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
const fastDirs = [
  '<rootDir>/test/domain/',
  '<rootDir>/test/simulators/',
  '<rootDir>/test/architecture/',
  '<rootDir>/test/workflows/',
];
// The soak's checks, judged on fabricated records (no stack).
const fastFiles = ['<rootDir>/test/soak-checks.test.ts'];
const fastMatch = [...fastDirs.map((dir) => `${dir}**/*.test.ts`), ...fastFiles];

module.exports = {
  testTimeout: 60_000,
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/test/setup/totals-reporter.js'],
  projects: [
    {
      displayName: 'fast',
      testEnvironment: 'node',
      transform,
      roots: ['<rootDir>/test/'],
      testMatch: fastMatch,
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform,
      roots: ['<rootDir>/test/'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...fastDirs, ...fastFiles],
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
      setupFiles: ['<rootDir>/test/setup/quiet-runtime.ts'],
    },
  ],
};
