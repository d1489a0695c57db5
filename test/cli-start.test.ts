/**
 * The sm8qbo command starts fast: bin/sm8qbo.js runs the compiled CLI when the build is current and says
 * when it falls back to the sources; `--help` loads no Temporal SDK; `replay` prints its verdict and nothing
 * of the workflow bundler.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

describe('bin/sm8qbo.js', () => {
  let dir: string;

  /** A tree with the real bin, a source CLI and (optionally) a compiled one, each saying which it is. */
  function tree(opts: { dist: boolean }) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm8qbo-bin-'));
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.copyFileSync(path.join(ROOT, 'bin', 'sm8qbo.js'), path.join(dir, 'bin', 'sm8qbo.js'));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    fs.mkdirSync(path.join(dir, 'client'));
    fs.writeFileSync(
      path.join(dir, 'client', 'cli.ts'),
      "export function runFromProcess(): void { console.log('sources'); }\n",
    );
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(path.join(dir, 'client', 'cli.ts'), old, old);
    if (opts.dist) {
      fs.mkdirSync(path.join(dir, 'dist', 'client'), { recursive: true });
      fs.writeFileSync(
        path.join(dir, 'dist', 'client', 'cli.js'),
        "exports.runFromProcess = () => console.log('dist');\n",
      );
    }
  }
  const run = () =>
    spawnSync(process.execPath, [path.join(dir, 'bin', 'sm8qbo.js'), '--help'], { encoding: 'utf8' });

  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs the compiled CLI when the build is newer than every source, silently', () => {
    tree({ dist: true });
    const r = run();
    expect([r.stdout.trim(), r.stderr]).toEqual(['dist', '']);
  });

  it('runs the sources through tsx with a one-line hint when there is no build', () => {
    tree({ dist: false });
    const r = run();
    expect(r.stdout.trim()).toBe('sources');
    expect(r.stderr).toMatch(
      /^sm8qbo: no build in dist\/, running the TypeScript sources .*npm run build.*\n$/,
    );
  }, 30_000);

  it('runs the sources when one changed after the build', () => {
    tree({ dist: true });
    fs.utimesSync(path.join(dir, 'client', 'cli.ts'), new Date(), new Date(Date.now() + 5000));
    const r = run();
    expect(r.stdout.trim()).toBe('sources');
    expect(r.stderr).toMatch(/the sources changed since the last build/);
  }, 30_000);
});

describe('the CLI module', () => {
  it('loads no Temporal SDK for the commands that talk to the API (only replay needs it)', () => {
    const script = [
      "require('tsx/cjs');",
      "require('./client/cli.ts');",
      "console.log(Object.keys(require.cache).filter((k) => k.includes('@temporalio')).length);",
    ].join('');
    const r = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('0');
  }, 30_000);

  it('replay prints the verdict and nothing of the workflow bundler', () => {
    const history = path.join(ROOT, 'test', 'histories', 'health-check.json');
    const r = spawnSync(process.execPath, ['bin/sm8qbo.js', 'replay', '--file', history], {
      cwd: ROOT,
      encoding: 'utf8',
      // An empty DATA_DIR: a machine without a payload key still replays a plaintext history.
      env: {
        ...process.env,
        LOG_LEVEL: 'info',
        DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'sm8qbo-cli-')),
      },
      timeout: 110_000,
    });
    expect(r.stdout).toBe('✓ health-check.json: replays deterministically against the current code\n');
    // Only bin's own hint may appear (when the build is missing or older than the sources).
    expect(r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('sm8qbo: '))).toEqual([]);
    expect(r.status).toBe(0);
  }, 120_000);
});
