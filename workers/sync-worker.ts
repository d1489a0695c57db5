/** Wires the sync worker: workflows from workflows/, activities built from their dependencies. */
import { Client, type DataConverter } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';

export interface SyncWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** The payload codec and failure converter (infra/payload-codec.ts dataConverterFrom). */
  dataConverter: DataConverter;
  /** A pre-built bundle (tests build it once); default: bundle workflows/ at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

export async function createSyncWorker(opts: SyncWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    dataConverter: opts.dataConverter,
    ...(opts.workflowBundle
      ? { workflowBundle: opts.workflowBundle }
      : { workflowsPath: require.resolve('../workflows') }),
    // Activities that wake other workflows (poll routing) use a client on the worker's own connection.
    activities: createActivities({
      ...opts.deps,
      temporal:
        opts.deps.temporal ??
        new Client({
          connection: opts.connection,
          namespace: opts.namespace,
          dataConverter: opts.dataConverter,
        }),
    }),
    // Entity workflows are many and mostly idle: cap the cache so memory stays flat.
    maxCachedWorkflows: 500,
  });
}

export { NativeConnection };
