#!/usr/bin/env node
// The sm8qbo command (npx sm8qbo --help). It runs the compiled CLI (dist/client/cli.js, written by
// `npm run build`) when that is newer than every source file: compiling TypeScript through tsx on each call
// costs seconds. Otherwise (no build, or sources edited since) it runs the sources through tsx and says so.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
// The folders tsconfig.build.json compiles: a change in any of them can change what the CLI does.
const SOURCE_DIRS = [
  'client',
  'infra',
  'domain',
  'workflows',
  'activities',
  'apis',
  'store',
  'routing',
  'workers',
  'simulators',
];

/** Newest modification time (ms) of the .ts files under dir, 0 when there are none. */
function newestSource(dir) {
  let newest = 0;
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0; // no sources (e.g. the Docker image ships dist/ only)
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** 'dist' when root/dist/client/cli.js exists and no source is newer, else why the sources are used. */
function chooseEntry(root) {
  const compiled = path.join(root, 'dist', 'client', 'cli.js');
  if (!fs.existsSync(compiled)) return { use: 'sources', why: 'no build in dist/' };
  const built = fs.statSync(compiled).mtimeMs;
  const newest = Math.max(...SOURCE_DIRS.map((d) => newestSource(path.join(root, d))));
  return newest > built
    ? { use: 'sources', why: 'the sources changed since the last build' }
    : { use: 'dist' };
}

function run() {
  const entry = chooseEntry(ROOT);
  if (entry.use === 'dist') {
    require(path.join(ROOT, 'dist', 'client', 'cli.js')).runFromProcess();
    return;
  }
  let tsx;
  try {
    tsx = require.resolve('tsx/cjs');
  } catch {
    process.stderr.write(`sm8qbo: ${entry.why} and tsx is not installed: run \`npm ci && npm run build\`\n`);
    process.exit(1);
  }
  process.stderr.write(
    `sm8qbo: ${entry.why}, running the TypeScript sources (slow): \`npm run build\` speeds it up\n`,
  );
  require(tsx);
  require(path.join(ROOT, 'client', 'cli.ts')).runFromProcess();
}

if (require.main === module) run();

module.exports = { chooseEntry };
