/**
 * The worker's workflow bundle, built once and kept in DATA_DIR/workflow-bundle/<key>.js, so a worker
 * restart (a crash, `npm start`, a container) does not spend 10–40 s bundling the workflows again.
 *
 * The key is a SHA-256 of everything the bundle is made of: the content of every project file reachable
 * from workflows/index.ts and the failure converter through relative imports (TypeScript sources or the
 * compiled dist/), the versions of the packages those files import and of the bundler. A changed workflow
 * file gives a new key, so a stale bundle is never used; bundles under other keys are deleted when a new one
 * is written. test/workflow-bundle.test.ts checks that every project module webpack put into the bundle is
 * one of the files the key was made of.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, type WorkerOptions } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from '../infra/payload-codec';

export const WORKFLOWS_PATH = require.resolve('../workflows');

/** Relative and package imports: `from '…'`, `import '…'`, `import('…')`, `require('…')`. */
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"]([^'"]+)['"]/g;
const EXTENSIONS = ['.ts', '.js', '/index.ts', '/index.js'];

function resolveRelative(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [base, ...EXTENSIONS.map((ext) => base + ext)]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? spec);
}

/** The project files the bundle is made of (sorted) and the packages they import. */
export function workflowSources(entries: string[]): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = [...entries];
  while (todo.length) {
    const file = todo.pop() as string;
    if (files.has(file)) continue;
    files.add(file);
    for (const match of fs.readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = match[1] as string;
      if (spec.startsWith('.')) {
        // Unresolvable: text in a comment (a real import that is missing fails the bundling itself).
        const target = resolveRelative(file, spec);
        if (target) todo.push(target);
      } else if (!spec.startsWith('node:')) {
        packages.add(packageName(spec));
      }
    }
  }
  return { files: [...files].sort(), packages: [...packages].sort() };
}

function packageVersion(name: string): string {
  try {
    return (
      JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }
    ).version;
  } catch {
    return 'unknown'; // a package without an exported package.json: its name still counts
  }
}

/** The key of the bundle built from these entries: a hash of their sources and package versions. */
export function workflowBundleKey(entries = [WORKFLOWS_PATH, FAILURE_CONVERTER_PATH]): string {
  const { files, packages } = workflowSources(entries);
  const root = path.dirname(path.dirname(WORKFLOWS_PATH));
  const hash = crypto.createHash('sha256');
  for (const name of [...packages, '@temporalio/worker'])
    hash.update(`package ${name}@${packageVersion(name)}\n`);
  for (const file of files) {
    hash.update(`file ${path.relative(root, file)}\n`);
    hash.update(fs.readFileSync(file));
    hash.update('\n');
  }
  return hash.digest('hex').slice(0, 32);
}

/** The options the product bundles its workflows with (the worker here, the test setup too). */
export function workflowBundleOptions(log: (line: string) => void): Parameters<typeof bundleWorkflowCode>[0] {
  return {
    workflowsPath: WORKFLOWS_PATH,
    // Failure messages travel encrypted, as the worker's data converter expects (dataConverterFrom).
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: {
      log: () => undefined,
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: log,
      error: log,
    },
  };
}

export interface CachedBundleOptions {
  dataDir: string;
  log?: (line: string) => void;
  /** For tests: the key to use (default: workflowBundleKey()) and the bundler. */
  key?: string;
  bundler?: (options: Parameters<typeof bundleWorkflowCode>[0]) => Promise<{ code: string }>;
}

/**
 * The bundle for the current workflow sources: read from DATA_DIR/workflow-bundle/<key>.js when there,
 * else built and written there (atomically, by rename; a worker killed mid-write leaves only a temp file).
 * If DATA_DIR cannot be written, the built bundle is used from memory.
 */
export async function cachedWorkflowBundle(
  opts: CachedBundleOptions,
): Promise<{ bundle: NonNullable<WorkerOptions['workflowBundle']>; built: boolean; key: string }> {
  const log = opts.log ?? (() => undefined);
  const key = opts.key ?? workflowBundleKey();
  const dir = path.join(opts.dataDir, 'workflow-bundle');
  const file = path.join(dir, `${key}.js`);
  if (fs.existsSync(file)) return { bundle: { codePath: file }, built: false, key };

  const started = Date.now();
  const { code } = await (opts.bundler ?? bundleWorkflowCode)(workflowBundleOptions(log));
  log(`bundled the workflows in ${((Date.now() - started) / 1000).toFixed(1)} s (key ${key})`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, code);
    fs.renameSync(temp, file);
    // Bundles of other sources, and temp files a killed worker left (an hour old: not one being written).
    for (const name of fs.readdirSync(dir)) {
      const other = path.join(dir, name);
      const stale = name.endsWith('.js')
        ? name !== path.basename(file)
        : Date.now() - fs.statSync(other).mtimeMs > 3_600_000;
      if (stale) fs.rmSync(other, { force: true });
    }
    return { bundle: { codePath: file }, built: true, key };
  } catch (err) {
    log(`could not keep the workflow bundle in ${dir} (${(err as Error).message}); using it from memory`);
    return { bundle: { code }, built: true, key };
  }
}
