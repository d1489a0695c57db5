/** `npm run worker`: the sync worker alone, against an existing Temporal server and PostgreSQL. */
import { loadConfig } from '../infra/config';
import { createPool, resolveDatabase } from '../infra/database';
import { createLogger } from '../infra/log';
import { migrate } from '../infra/migrate';
import { dataConverterFrom } from '../infra/payload-codec';
import { installTemporalRuntime } from '../infra/temporal-runtime';
import { buildActivityDeps, createGovernor } from './activity-deps';
import { createSyncWorker, NativeConnection } from './sync-worker';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'worker');
  installTemporalRuntime(config.logLevel);
  const db = await resolveDatabase(config, log.info);
  const pool = createPool(db.url);
  const applied = await migrate(pool);
  if (applied.length) log.info(`applied migrations ${applied.join(', ')}`);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const deps = buildActivityDeps(config, pool, createGovernor(pool));
  const worker = await createSyncWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    deps,
    dataConverter: dataConverterFrom(config),
  });
  log.info(`worker polling ${config.temporal.taskQueue} on ${config.temporal.address}`);
  await worker.run(); // returns after SIGINT/SIGTERM (the SDK's default shutdown signals)
  await connection.close();
  await deps.governor.close?.();
  await pool.end();
  await db.stop();
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
