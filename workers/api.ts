/**
 * `npm run api`: the HTTP API alone, against an existing PostgreSQL and Temporal server. It starts and
 * stores webhooks while Temporal is down (TRG-1); Temporal is connected on first use.
 */
import { resolveAdminToken } from '../client/admin-token';
import { buildApiServer } from '../client/api-server';
import { scheduleOptionsFromConfig, startConnectionPolling } from '../client/schedules';
import { LazyTemporal } from '../client/temporal-client';
import { startInboxRelay } from '../client/webhook-inbox';
import { loadConfig } from '../infra/config';
import { createPool, resolveDatabase } from '../infra/database';
import { createLogger, httpLogger } from '../infra/log';
import { runMain } from '../infra/main';
import { migrate } from '../infra/migrate';
import { dataConverterFrom } from '../infra/payload-codec';
import { buildActivityDeps, buildApiDeps, createGovernor } from './activity-deps';

async function main(): Promise<void> {
  let config = loadConfig();
  const log = createLogger(config.logLevel, 'api');
  // Before anything else: a non-loopback HOST without ADMIN_TOKEN stops here, with the variable named.
  const admin = resolveAdminToken(config);
  config = { ...config, adminToken: admin.token };
  const db = await resolveDatabase(config, log.info);
  const pool = createPool(db.url);
  await migrate(pool);
  const temporal = new LazyTemporal({ ...config.temporal, dataConverter: dataConverterFrom(config) });
  const deps = buildActivityDeps(config, pool, createGovernor(pool, config.governorLimitScale));
  const api = buildApiServer({
    ...buildApiDeps(config, deps, temporal),
    httpLogger: httpLogger(config.logLevel),
  });
  await api.listen({ host: config.host, port: config.port });
  // TRG-1: webhook events stored while Temporal was unreachable are routed by the inbox relay.
  const stopRelay = startInboxRelay({
    pool,
    temporal,
    links: deps.links,
    taskQueue: config.temporal.taskQueue,
    retentionDays: config.inboxRetentionDays,
    failedRetentionDays: config.inboxFailedRetentionDays,
    log: createLogger(config.logLevel, 'inbox'),
  });
  log.info(`API listening on ${config.host}:${config.port}`);
  // TRG-2: schedules with the current intervals, and a pass at once for every connection: webhooks sent
  // while this API was down were lost. Temporal may not be up yet; the next start or connect does it then.
  void (async () => {
    const ids = (await deps.store.list()).filter((c) => c.status !== 'disconnected').map((c) => c.id);
    await startConnectionPolling(await temporal.get(), ids, scheduleOptionsFromConfig(config));
  })().catch((err: unknown) =>
    log.warn(`could not refresh the poll schedules at start: ${(err as Error).message}`),
  );
  log.info(admin.file ? `admin token in ${admin.file}` : 'admin token from ADMIN_TOKEN');
  const stop = async () => {
    await api.close();
    await stopRelay();
    await temporal.close();
    await deps.governor.close?.();
    await pool.end();
    await db.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

runMain(main);
