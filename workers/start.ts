/**
 * `npm start`: the whole product on one machine with nothing configured: a Temporal dev server with its
 * Web UI (unless TEMPORAL_ADDRESS points elsewhere), PostgreSQL (local or embedded), the worker and the
 * HTTP API. Ctrl-C stops everything in reverse order.
 */
import path from 'node:path';
import { buildApiServer } from '../client/api-server';
import { connectClient } from '../client/temporal-client';
import { startInboxRelay } from '../client/webhook-inbox';
import { loadConfig } from '../infra/config';
import { createPool, resolveDatabase } from '../infra/database';
import { createLogger } from '../infra/log';
import { migrate } from '../infra/migrate';
import { installTemporalRuntime } from '../infra/temporal-runtime';
import { ensureTemporalCli, startTemporalDevServer } from '../infra/temporal-server';
import { buildActivityDeps, buildApiDeps, createGovernor } from './activity-deps';
import { createSyncWorker, NativeConnection } from './sync-worker';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'start');
  installTemporalRuntime(config.logLevel);
  const stops: Array<() => Promise<unknown>> = [];
  const shutdown = async (code: number) => {
    for (const stop of stops.reverse()) await stop().catch((e: unknown) => log.warn(String(e)));
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  try {
    const startDev =
      config.temporal.startDevServer === 'true' ||
      (config.temporal.startDevServer === 'auto' && !config.temporal.addressIsExplicit);
    let uiUrl: string | undefined;
    if (startDev) {
      const cliPath = await ensureTemporalCli(config.temporal.cliPath, log.info);
      const server = await startTemporalDevServer({
        cliPath,
        port: config.temporal.port,
        uiPort: config.temporal.uiPort,
        dbFile: path.join(config.dataDir, 'temporal', 'dev.sqlite'),
        namespace: config.temporal.namespace,
      });
      stops.push(() => server.stop());
      uiUrl = server.uiUrl;
    }

    const db = await resolveDatabase(config, log.info);
    stops.push(() => db.stop());
    const pool = createPool(db.url);
    stops.push(() => pool.end());
    await migrate(pool);

    const connection = await NativeConnection.connect({ address: config.temporal.address });
    stops.push(() => connection.close());
    const deps = buildActivityDeps(config, pool, createGovernor(pool));
    stops.push(async () => deps.governor.close?.());
    const worker = await createSyncWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      deps,
    });
    const workerDone = worker.run();
    stops.push(async () => {
      worker.shutdown();
      await workerDone;
    });

    const temporal = await connectClient(config.temporal.address, config.temporal.namespace);
    stops.push(() => temporal.connection.close());
    const api = buildApiServer(buildApiDeps(config, deps, temporal));
    await api.listen({ host: '127.0.0.1', port: config.port });
    stops.push(() => api.close());
    // TRG-1: webhook events stored while Temporal was unreachable are routed by the inbox relay.
    const stopRelay = startInboxRelay({
      pool,
      temporal,
      links: deps.links,
      taskQueue: config.temporal.taskQueue,
      log: createLogger(config.logLevel, 'inbox'),
    });
    stops.push(stopRelay);

    log.info(`Temporal      ${config.temporal.address} (namespace ${config.temporal.namespace})`);
    if (uiUrl) log.info(`Temporal UI   ${uiUrl}`);
    log.info(`PostgreSQL    ${db.source} (${db.url.replace(/:[^:@/]*@/, ':***@')})`);
    log.info(`API           http://127.0.0.1:${config.port} (GET /health)`);
    log.info('ready');
  } catch (err) {
    log.error(err instanceof Error ? err.message : String(err));
    await shutdown(1);
  }
}

void main();
