/**
 * Wires the sync worker: workflows from workflows/ on the base task queue, and the activities, built from
 * their dependencies, on one Temporal worker per lane queue (`<base>-<lane>`, domain/lanes.ts), each with
 * slots of its own (LANE_SLOTS): a bulk activity waiting for budget never holds a slot an export needs.
 * The base queue runs activities too, for activities scheduled there before the lanes existed (running
 * workflows keep the queue an activity was first scheduled on).
 */
import { Client, type DataConverter } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions, type State } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { LANE_SLOTS, LANES, laneTaskQueue } from '../domain/lanes';
import { keepAliveHeartbeats } from '../infra/activity-heartbeat';

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

/** Activity slots of the base queue (activities scheduled before the lanes existed). */
const BASE_QUEUE_SLOTS = 20;

/** The workflow worker and the lanes' activity workers, run and stopped as one. */
export interface SyncWorker {
  /** Runs every worker until shutdown (SIGINT/SIGTERM or `shutdown()`); rejects if one of them fails. */
  run(): Promise<void>;
  shutdown(): void;
  /** RUNNING only while every worker runs. */
  getState(): State;
  /** The task queues it polls: the base first, then the lanes'. */
  readonly taskQueues: string[];
}

export async function createSyncWorker(opts: SyncWorkerOptions): Promise<SyncWorker> {
  // Activities that wake other workflows (poll routing) use a client on the worker's own connection.
  const activities = createActivities({
    ...opts.deps,
    temporal:
      opts.deps.temporal ??
      new Client({
        connection: opts.connection,
        namespace: opts.namespace,
        dataConverter: opts.dataConverter,
      }),
  });
  const common = {
    connection: opts.connection,
    namespace: opts.namespace,
    dataConverter: opts.dataConverter,
    activities,
    interceptors: { activity: [keepAliveHeartbeats()] },
  };
  const workers: Worker[] = [
    await Worker.create({
      ...common,
      taskQueue: opts.taskQueue,
      ...(opts.workflowBundle
        ? { workflowBundle: opts.workflowBundle }
        : { workflowsPath: require.resolve('../workflows') }),
      maxConcurrentActivityTaskExecutions: BASE_QUEUE_SLOTS,
      // Entity workflows are many and mostly idle: cap the cache so memory stays flat.
      maxCachedWorkflows: 500,
    }),
  ];
  for (const lane of LANES) {
    workers.push(
      await Worker.create({
        ...common,
        taskQueue: laneTaskQueue(opts.taskQueue, lane),
        maxConcurrentActivityTaskExecutions: LANE_SLOTS[lane],
      }),
    );
  }
  return combine(workers);
}

function combine(workers: Worker[]): SyncWorker {
  const shutdown = () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  };
  return {
    taskQueues: workers.map((w) => w.options.taskQueue),
    shutdown,
    getState() {
      const states = workers.map((w) => w.getState());
      return states.find((s) => s !== 'RUNNING') ?? 'RUNNING';
    },
    async run() {
      // One worker failing stops the others, so the process does not run half a worker.
      const runs = workers.map((w) =>
        w.run().catch((err: unknown) => {
          shutdown();
          throw err;
        }),
      );
      const outcomes = await Promise.allSettled(runs);
      const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}

export { NativeConnection };
