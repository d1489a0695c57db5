/**
 * `npm run worker` (sources) / `node dist/workers/worker.js` (build, Docker image): the sync worker alone,
 * against an existing Temporal server and PostgreSQL. It waits for Temporal rather than exiting, so the
 * order in which containers start does not matter.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../infra/config';
import { createPool, resolveDatabase } from '../infra/database';
import { startHeartbeat } from '../infra/heartbeat';
import { createLogger, type Logger } from '../infra/log';
import { runMain } from '../infra/main';
import { migrate } from '../infra/migrate';
import { dataConverterFrom } from '../infra/payload-codec';
import { installTemporalRuntimeWithMetrics } from '../infra/temporal-runtime';
import { resolveAdminToken } from '../client/admin-token';
import { startMetricsServer } from '../client/metrics';
import { buildActivityDeps, createGovernor } from './activity-deps';
import { createSyncWorker, NativeConnection } from './sync-worker';
import { cachedWorkflowBundle } from './workflow-bundle';

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

/**
 * Connects to Temporal, retrying with doubling waits (1 s … 30 s) for as long as it takes; undefined when
 * `stop` fires first (SIGINT/SIGTERM while waiting).
 */
export async function connectWithRetry(
  address: string,
  log: Logger,
  stop: AbortSignal,
  firstRetryMs = FIRST_RETRY_MS,
): Promise<NativeConnection | undefined> {
  for (let wait = firstRetryMs; !stop.aborted; wait = Math.min(wait * 2, MAX_RETRY_MS)) {
    try {
      return await NativeConnection.connect({ address });
    } catch (err) {
      // The native client's message is a Rust debug dump; its inner `message: "…"` is the readable part.
      const text = (err as Error).message;
      const reason = /message: "([^"]+)"/.exec(text)?.[1] ?? text.split('\n')[0];
      log.warn(`Temporal at ${address} is not reachable (${reason}); retrying in ${wait / 1000} s`);
      await sleep(wait, undefined, { signal: stop }).catch(() => undefined);
    }
  }
  return undefined;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'worker');
  await installTemporalRuntimeWithMetrics(config.logLevel);
  // Read from DATA_DIR when the workflow sources have not changed (workers/workflow-bundle.ts), else built
  // while the database and Temporal are reached.
  const bundle = cachedWorkflowBundle({ dataDir: config.dataDir, log: log.info });
  bundle.catch(() => undefined); // awaited below; a failure surfaces there
  const db = await resolveDatabase(config, log.info);
  const pool = createPool(db.url);
  const applied = await migrate(pool);
  if (applied.length) log.info(`applied migrations ${applied.join(', ')}`);

  // Until the worker runs, a signal only has to end the wait for Temporal; then the SDK's own handlers
  // (SIGINT/SIGTERM) shut the worker down.
  const stopWaiting = new AbortController();
  const onSignal = () => stopWaiting.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const connection = await connectWithRetry(config.temporal.address, log, stopWaiting.signal);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (connection) {
    const deps = buildActivityDeps(config, pool, createGovernor(pool, config.governorLimitScale));
    const worker = await createSyncWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      deps,
      dataConverter: dataConverterFrom(config),
      workflowBundle: (await bundle).bundle,
    });
    const stopHeartbeat = config.workerHeartbeatFile
      ? startHeartbeat(config.workerHeartbeatFile, () => worker.getState() === 'RUNNING', log.error)
      : () => undefined;
    // Its counters (API calls, permit waits) and the SDK's metrics, for Prometheus (docs/decisions.md),
    // behind the admin token (a non-loopback HOST without ADMIN_TOKEN is refused, as for the API).
    const metrics = config.metricsPort
      ? await startMetricsServer({
          host: config.host,
          port: config.metricsPort,
          token: resolveAdminToken(config).token,
        })
      : undefined;
    if (metrics) log.info(`worker metrics on http://${config.host}:${config.metricsPort}/metrics`);
    log.info(`worker polling ${worker.taskQueues.join(', ')} on ${config.temporal.address}`);
    try {
      await worker.run(); // returns after SIGINT/SIGTERM (the SDK's default shutdown signals)
    } finally {
      stopHeartbeat();
      metrics?.close();
      await connection.close();
      await deps.governor.close?.();
    }
  }
  await pool.end();
  await db.stop();
}

if (require.main === module) runMain(main);
