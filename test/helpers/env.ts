/** What global-setup prepared: the Temporal server, the test database and the workflow bundle. */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { Pool } from 'pg';
import { createPool } from '../../infra/database';
import { createSyncWorker } from '../../workers/sync-worker';

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

export interface Harness {
  client: Client;
  pool: Pool;
  taskQueue: string;
  worker: Worker;
  /** Runs fn while the worker polls, then shuts the worker down. */
  runWorker<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function createHarness(): Promise<Harness> {
  const pool = createPool(testEnv.databaseUrl, 5);
  const connection = await Connection.connect({ address: testEnv.temporalAddress });
  const client = new Client({ connection });
  const native = await NativeConnection.connect({ address: testEnv.temporalAddress });
  const taskQueue = uniqueTaskQueue();
  const worker = await createSyncWorker({
    connection: native,
    namespace: 'default',
    taskQueue,
    pool,
    workflowBundle: { codePath: testEnv.workflowBundlePath },
  });
  return {
    client,
    pool,
    taskQueue,
    worker,
    runWorker: (fn) => worker.runUntil(fn),
    async close() {
      await native.close();
      await connection.close();
      await pool.end();
    },
  };
}
