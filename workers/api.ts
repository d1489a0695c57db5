/** `npm run api`: the HTTP API alone, against an existing Temporal server and PostgreSQL. */
import { buildApiServer } from '../client/api-server';
import { connectClient } from '../client/temporal-client';
import { startInboxRelay } from '../client/webhook-inbox';
import { loadConfig } from '../infra/config';
import { createPool, resolveDatabase } from '../infra/database';
import { createLogger } from '../infra/log';
import { migrate } from '../infra/migrate';
import { buildActivityDeps, buildApiDeps, createGovernor } from './activity-deps';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'api');
  const db = await resolveDatabase(config, log.info);
  const pool = createPool(db.url);
  await migrate(pool);
  const temporal = await connectClient(config.temporal.address, config.temporal.namespace);
  const deps = buildActivityDeps(config, pool, createGovernor(pool));
  const api = buildApiServer(buildApiDeps(config, deps, temporal));
  await api.listen({ host: '0.0.0.0', port: config.port });
  // TRG-1: webhook events stored while Temporal was unreachable are routed by the inbox relay.
  const stopRelay = startInboxRelay({
    pool,
    temporal,
    links: deps.links,
    taskQueue: config.temporal.taskQueue,
    log: createLogger(config.logLevel, 'inbox'),
  });
  log.info(`API listening on :${config.port}`);
  const stop = async () => {
    await api.close();
    await stopRelay();
    await temporal.connection.close();
    await deps.governor.close?.();
    await pool.end();
    await db.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
