/** What global-setup prepared: the Temporal server, the test database and the workflow bundle. */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Pool } from 'pg';
import crypto from 'node:crypto';
import type { ActivityDeps } from '../../activities';
import { loadConfig, type Config } from '../../infra/config';
import { createPool } from '../../infra/database';
import { dataConverterFrom } from '../../infra/payload-codec';
import { buildActivityDeps, createGovernor } from '../../workers/activity-deps';
import { createSyncWorker, type SyncWorker } from '../../workers/sync-worker';
import { RateGovernor, type GovernorOptions } from '../../apis/governor/rate-governor';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run integration tests through jest (global-setup)`);
  return value;
}

export const testEnv = {
  get temporalAddress() {
    return required('TEST_TEMPORAL_ADDRESS');
  },
  get databaseUrl() {
    return required('TEST_DATABASE_URL');
  },
  get workflowBundlePath() {
    return required('TEST_WORKFLOW_BUNDLE');
  },
};

let counter = 0;
/** A task queue no other test uses. */
export function uniqueTaskQueue(prefix = 'test'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now()}-${counter}`;
}

/** One encryption key per test process: secrets in the test database are sealed like in production. */
const TEST_KEYS = `test:${crypto.randomBytes(32).toString('base64')}`;

/**
 * The Temporal payload key of every test run: fixed, so that a history recorded by one run (RECORD_HISTORIES)
 * still decrypts in the next. A test key, derived from a public string; never a production key.
 */
export const TEST_PAYLOAD_KEYS = `test:${crypto.createHash('sha256').update('sm8-qbo-sync test payload key').digest('base64')}`;

/** The DataConverter of test clients and workers (the product's, with TEST_PAYLOAD_KEYS). */
export const testDataConverter = () =>
  dataConverterFrom({ payloadEncryptionKeys: TEST_PAYLOAD_KEYS, dataDir: '' });

/** Configuration for tests: the product's defaults plus `env` (e.g. simulator URLs). */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    DATABASE_URL: testEnv.databaseUrl,
    TEMPORAL_ADDRESS: testEnv.temporalAddress,
    ENCRYPTION_KEYS: TEST_KEYS,
    PAYLOAD_ENCRYPTION_KEYS: TEST_PAYLOAD_KEYS,
    QBO_CLIENT_ID: 'test-client',
    QBO_CLIENT_SECRET: 'test-secret',
    SIMULATORS: 'false', // tests start their own simulators and point the product at them
    ...env,
  });
}

export interface Harness {
  config: Config;
  deps: ActivityDeps;
  client: Client;
  pool: Pool;
  /** The workflows' task queue; activities run on its lanes' queues (domain/lanes.ts laneTaskQueue). */
  taskQueue: string;
  /** The workflow worker and one activity worker per lane (workers/sync-worker.ts). */
  worker: SyncWorker;
  /** Runs fn (the worker polls from creation until close; kept for readability of tests). */
  runWorker<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Rate limits for a test's governor (an entry replaces that API's documented limits). */
export type GovernorLimits = GovernorOptions['limits'];

export async function createHarness(
  opts: { env?: Record<string, string>; taskQueue?: string; governorLimits?: GovernorLimits } = {},
): Promise<Harness> {
  const config = testConfig(opts.env);
  const pool = createPool(testEnv.databaseUrl, 10);
  const governor = opts.governorLimits
    ? new RateGovernor(pool, { limits: opts.governorLimits })
    : createGovernor(pool);
  const deps = buildActivityDeps(config, pool, governor);
  const dataConverter = dataConverterFrom(config);
  const connection = await Connection.connect({ address: testEnv.temporalAddress });
  const client = new Client({ connection, dataConverter });
  const native = await NativeConnection.connect({ address: testEnv.temporalAddress });
  const taskQueue = opts.taskQueue ?? uniqueTaskQueue();
  const worker = await createSyncWorker({
    connection: native,
    namespace: 'default',
    taskQueue,
    deps,
    dataConverter,
    workflowBundle: { codePath: testEnv.workflowBundlePath },
  });
  // A worker runs once; it polls from here until close() (a crash fails the test that waits on it).
  const running = worker.run();
  return {
    config,
    deps,
    client,
    pool,
    taskQueue,
    worker,
    runWorker: async (fn) => {
      const outcome = await Promise.race([fn().then((value) => ({ value })), running.then(() => null)]);
      if (!outcome) throw new Error('the test worker stopped');
      return outcome.value;
    },
    async close() {
      worker.shutdown();
      await running;
      await deps.governor.close?.();
      await native.close();
      await connection.close();
      await pool.end();
    },
  };
}
