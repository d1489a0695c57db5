#!/usr/bin/env node
// `npm run build`: compiles the product to dist/ (tsconfig.build.json) and copies the files it reads at run
// time next to the compiled code, so `node dist/...` and the Docker image need no TypeScript and no sources.
// dist/ is emptied first: a module deleted from the sources must not linger in dist/.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const ASSETS = ['migrations', path.join('simulators', 'servicem8', 'openapi.json')];

fs.rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync(
  process.execPath,
  [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
if (tsc.status !== 0) {
  // noEmitOnError: nothing was written, so bin/sm8qbo.js keeps falling back to the sources.
  process.stderr.write('build failed: dist/ was not written (see the TypeScript errors above)\n');
  process.exit(tsc.status ?? 1);
}
for (const asset of ASSETS) fs.cpSync(path.join(root, asset), path.join(dist, asset), { recursive: true });
