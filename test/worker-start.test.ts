/**
 * The worker process (workers/worker.ts) as a container runs it: started before Temporal, it waits and
 * retries instead of exiting, polls once Temporal is up, and only then reports healthy through its heartbeat
 * file (infra/healthcheck.ts worker); SIGTERM stops it cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkHealth } from '../infra/healthcheck';
import { heartbeatProblem, startHeartbeat } from '../infra/heartbeat';
import { freePort } from '../infra/ports';
import { startTemporalDevServer, type RunningDevServer } from '../infra/temporal-server';
import { testEnv, uniqueTaskQueue } from './helpers/env';
import { waitFor } from './helpers/wait';

const ROOT = path.resolve(__dirname, '..');

/** Resolves once `test` holds for the output so far (checked on every chunk), rejects if the child exits. */
function waitForOutput(
  child: ChildProcess,
  output: () => string,
  test: (out: string) => boolean,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!test(output())) return;
      child.stdout?.off('data', check);
      child.stderr?.off('data', check);
      child.off('exit', exited);
      resolve();
    };
    const exited = (code: number | null) => reject(new Error(`worker exited (${code}) early:\n${output()}`));
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.once('exit', exited);
    check();
  });
}

describe('the worker process', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  let temporal: RunningDevServer | undefined;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm8qbo-worker-'));
  });
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await temporal?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('waits for Temporal with growing retries, then polls, reports healthy and stops on SIGTERM', async () => {
    const port = await freePort();
    const env = {
      ...process.env,
      DATABASE_URL: testEnv.databaseUrl,
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
      TEMPORAL_TASK_QUEUE: uniqueTaskQueue('worker-start'),
      WORKER_HEARTBEAT_FILE: path.join(dir, 'heartbeat'),
      ENCRYPTION_KEYS: `t:${crypto.randomBytes(32).toString('base64')}`,
      DATA_DIR: dir,
      LOG_LEVEL: 'info',
    };
    let out = '';
    // Node itself, not the tsx CLI: that CLI relays a signal to its child and SIGKILLs it (exit 143) when the
    // child has not answered within 30 ms, which a busy machine misses (a CI failure).
    child = spawn(process.execPath, ['--import', 'tsx', 'workers/worker.ts'], { cwd: ROOT, env });
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    const exit = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));

    // No Temporal yet: the worker says so and retries with a longer wait each time instead of exiting.
    await waitForOutput(
      child,
      () => out,
      (o) => /retrying in 2 s/.test(o),
    );
    expect(out).toMatch(
      new RegExp(`Temporal at 127\\.0\\.0\\.1:${port} is not reachable \\(.+\\); retrying in 1 s`),
    );
    expect(await checkHealth('worker', env)).toMatch(/no heartbeat file .*not polling Temporal/);

    temporal = await startTemporalDevServer({ cliPath: process.env.TEST_TEMPORAL_CLI ?? 'temporal', port });
    await waitForOutput(
      child,
      () => out,
      (o) => o.includes(`worker polling ${env.TEMPORAL_TASK_QUEUE}`),
    );

    // The heartbeat starts with the worker's polling (every 10 s); wait for its first beat.
    await waitFor('the first heartbeat file', () => fs.existsSync(env.WORKER_HEARTBEAT_FILE), 30_000);
    expect(await checkHealth('worker', env)).toBeUndefined();

    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(fs.existsSync(env.WORKER_HEARTBEAT_FILE)).toBe(false);
  }, 120_000);

  it('stops cleanly on SIGTERM while it is still waiting for Temporal', async () => {
    const env = {
      ...process.env,
      DATABASE_URL: testEnv.databaseUrl,
      TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
      DATA_DIR: dir,
      LOG_LEVEL: 'info',
    };
    let out = '';
    child = spawn(process.execPath, ['--import', 'tsx', 'workers/worker.ts'], { cwd: ROOT, env });
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    const exit = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
    await waitForOutput(
      child,
      () => out,
      (o) => /retrying in 1 s/.test(o),
    );
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  }, 60_000);
});

describe('the worker heartbeat', () => {
  it('reports a file it cannot write instead of crashing the worker, once per reason', () => {
    const file = path.join(os.tmpdir(), `sm8qbo-no-such-dir-${process.pid}`, 'heartbeat');
    const errors: string[] = [];
    jest.useFakeTimers();
    try {
      const stop = startHeartbeat(
        file,
        () => true,
        (m) => errors.push(m),
        5,
      );
      jest.advanceTimersByTime(50); // ten more beats fail the same way
      stop();
    } finally {
      jest.useRealTimers();
    }
    expect(errors).toEqual([expect.stringMatching(/^cannot write the heartbeat file .*ENOENT.*unhealthy$/)]);
    expect(heartbeatProblem(file)).toMatch(/no heartbeat file/);
  });

  it('writes only while the worker is alive, and calls an old file stale', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm8qbo-hb-'));
    const file = path.join(dir, 'heartbeat');
    let alive = false;
    const stop = startHeartbeat(
      file,
      () => alive,
      () => undefined,
      60_000,
    );
    expect(fs.existsSync(file)).toBe(false);
    stop();
    alive = true;
    const stop2 = startHeartbeat(
      file,
      () => alive,
      () => undefined,
      60_000,
    );
    expect(heartbeatProblem(file)).toBeUndefined();
    expect(heartbeatProblem(file, Date.now() + 31_000)).toMatch(/is 31 s old: the worker stopped polling/);
    stop2();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
