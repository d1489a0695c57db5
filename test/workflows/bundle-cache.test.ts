/**
 * The worker's workflow bundle kept in DATA_DIR (workers/workflow-bundle.ts): a second start reuses it, a
 * change in any file the bundle is made of gives a new key (so a stale bundle is never used), and the key
 * covers every project module webpack puts into the bundle.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FAILURE_CONVERTER_PATH } from '../../infra/payload-codec';
import {
  cachedWorkflowBundle,
  workflowBundleKey,
  workflowSources,
  WORKFLOWS_PATH,
} from '../../workers/workflow-bundle';

const ROOT = path.resolve(__dirname, '..', '..');
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bundle-cache-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function countingBundler() {
  const calls: string[] = [];
  const bundler = async () => {
    calls.push('bundle');
    return { code: `// bundle ${calls.length}` };
  };
  return { calls, bundler };
}

test('a second start reuses the bundle; another key builds a new one and deletes the old', async () => {
  const { calls, bundler } = countingBundler();
  const first = await cachedWorkflowBundle({ dataDir: dir, key: 'a', bundler });
  expect(first).toMatchObject({
    built: true,
    bundle: { codePath: path.join(dir, 'workflow-bundle', 'a.js') },
  });
  const second = await cachedWorkflowBundle({ dataDir: dir, key: 'a', bundler });
  expect(second).toMatchObject({ built: false, bundle: first.bundle });
  expect(calls).toHaveLength(1);

  const changed = await cachedWorkflowBundle({ dataDir: dir, key: 'b', bundler });
  expect(changed.built).toBe(true);
  expect(calls).toHaveLength(2);
  expect(fs.readdirSync(path.join(dir, 'workflow-bundle'))).toEqual(['b.js']);
});

test('a DATA_DIR that cannot be written: the bundle is used from memory', async () => {
  const { bundler } = countingBundler();
  const file = path.join(dir, 'not-a-folder');
  fs.writeFileSync(file, '');
  const result = await cachedWorkflowBundle({ dataDir: file, key: 'a', bundler });
  expect(result).toMatchObject({ built: true, bundle: { code: '// bundle 1' } });
});

test('the key changes with the content of any file reached through imports, and with nothing else', () => {
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(dir, 'index.ts'), "export * from './a';\nimport { b } from './sub';\n");
  fs.writeFileSync(
    path.join(dir, 'a.ts'),
    "import type { X } from '../nowhere-in-a-comment';\nexport const a = 1;\n",
  );
  fs.writeFileSync(path.join(dir, 'sub', 'index.ts'), "export const b = require('./c');\n");
  fs.writeFileSync(path.join(dir, 'sub', 'c.ts'), 'module.exports = 1;\n');
  fs.writeFileSync(path.join(dir, 'unrelated.ts'), 'export {};\n');
  const entry = [path.join(dir, 'index.ts')];
  expect(workflowSources(entry).files.map((f) => path.relative(dir, f))).toEqual([
    'a.ts',
    'index.ts',
    path.join('sub', 'c.ts'),
    path.join('sub', 'index.ts'),
  ]);
  const before = workflowBundleKey(entry);
  fs.writeFileSync(path.join(dir, 'unrelated.ts'), 'export const changed = 1;\n');
  expect(workflowBundleKey(entry)).toBe(before);
  fs.writeFileSync(path.join(dir, 'sub', 'c.ts'), 'module.exports = 2;\n');
  expect(workflowBundleKey(entry)).not.toBe(before);
});

test('every project module in the real bundle is one of the files its key is made of', async () => {
  const built = await cachedWorkflowBundle({ dataDir: dir });
  const code = fs.readFileSync((built.bundle as { codePath: string }).codePath, 'utf8');
  const modules = [...code.matchAll(/^\/\*\*\*\/ "([^"]+)"/gm)]
    .map((m) => m[1] as string)
    .filter((m) => m.startsWith('.') && !m.includes('node_modules/'))
    .map((m) => path.resolve(ROOT, m));
  expect(modules.length).toBeGreaterThan(20);
  const { files } = workflowSources([WORKFLOWS_PATH, FAILURE_CONVERTER_PATH]);
  expect(modules.filter((m) => !files.includes(m))).toEqual([]);
  // And a second start finds it.
  expect(await cachedWorkflowBundle({ dataDir: dir })).toMatchObject({ built: false, bundle: built.bundle });
}, 120_000);
