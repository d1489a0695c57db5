/**
 * `npm start`: the whole product on one machine with nothing configured: a Temporal dev server with its
 * Web UI (unless TEMPORAL_ADDRESS points elsewhere), PostgreSQL (local or embedded), the worker, the HTTP
 * API and its webhook relay, the connections' schedules, and (without real credentials) both API
 * simulators with the demo connection made through the real connect flows. Ctrl-C stops everything.
 */
import path from 'node:path';
import { isLoopback, resolveAdminToken } from '../client/admin-token';
import { buildApiServer } from '../client/api-server';
import { LazyTemporal } from '../client/temporal-client';
import { startInboxRelay } from '../client/webhook-inbox';
import { loadConfig } from '../infra/config';
import { createPool, resolveDatabase } from '../infra/database';
import { createLogger } from '../infra/log';
import { runMain } from '../infra/main';
import { migrate } from '../infra/migrate';
import { dataConverterFrom } from '../infra/payload-codec';
import { installTemporalRuntimeWithMetrics } from '../infra/temporal-runtime';
import { ensureTemporalCli, startTemporalDevServer } from '../infra/temporal-server';
import { ensureConnectionSchedules, scheduleOptionsFromConfig } from '../client/schedules';
import { buildActivityDeps, buildApiDeps, createGovernor } from './activity-deps';
import { connectDemo, startDemoSimulators, type DemoSimulators } from './demo';
import { createSyncWorker, NativeConnection } from './sync-worker';

async function main(): Promise<void> {
  let config = loadConfig();
  const log = createLogger(config.logLevel, 'start');
  await installTemporalRuntimeWithMetrics(config.logLevel);
  const stops: Array<() => Promise<unknown>> = [];
  const shutdown = async (code: number) => {
    for (const stop of stops.reverse()) await stop().catch((e: unknown) => log.warn(String(e)));
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  try {
    // Before anything starts: a non-loopback HOST without ADMIN_TOKEN stops here, with the variable named.
    const admin = resolveAdminToken(config);
    // Real mode is chosen on purpose (SIMULATORS=false); infra/config.ts refuses real credentials with `auto`.
    const simulate = config.simulators !== 'false';
    let demo: DemoSimulators | undefined;
    if (simulate) {
      demo = await startDemoSimulators(process.env, config.port);
      stops.push(() => (demo as DemoSimulators).stop());
    }
    config = loadConfig({ ...process.env, ...demo?.env, ADMIN_TOKEN: admin.token });

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
        uiCodecEndpoint: `http://127.0.0.1:${config.port}/codec`,
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
    // One codec for the worker, the API's client and (through DATA_DIR/payload.key) the CLI.
    const dataConverter = dataConverterFrom(config);
    const deps = buildActivityDeps(config, pool, createGovernor(pool));
    stops.push(async () => deps.governor.close?.());
    const worker = await createSyncWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      deps,
      dataConverter,
    });
    const workerDone = worker.run();
    stops.push(async () => {
      worker.shutdown();
      await workerDone;
    });

    const temporal = new LazyTemporal({ ...config.temporal, dataConverter });
    stops.push(() => temporal.close());
    const api = buildApiServer(buildApiDeps(config, deps, temporal));
    await api.listen({ host: config.host, port: config.port });
    stops.push(() => api.close());
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
    stops.push(stopRelay);

    // TRG-2: every connection's schedules exist with the current intervals (idempotent).
    for (const c of await deps.store.list()) {
      if (c.status !== 'disconnected')
        await ensureConnectionSchedules(await temporal.get(), {
          connectionId: c.id,
          ...scheduleOptionsFromConfig(config),
        });
    }
    // A wildcard or loopback HOST is reached at 127.0.0.1 from here; a specific address at itself.
    const local = isLoopback(config.host) || ['0.0.0.0', '::'].includes(config.host);
    const apiUrl = `http://${local ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
    if (demo) await connectDemo(apiUrl, 'demo', admin.token);

    log.info(`Temporal      ${config.temporal.address} (namespace ${config.temporal.namespace})`);
    if (uiUrl) log.info(`Temporal UI   ${uiUrl}`);
    log.info(`PostgreSQL    ${db.source} (${db.url.replace(/:[^:@/]*@/, ':***@')})`);
    log.info(
      `API           ${apiUrl} on ${config.host} (GET /health; admin token ${admin.file ? `in ${admin.file}` : 'from ADMIN_TOKEN'})`,
    );
    if (demo) {
      log.info(`ServiceM8 sim ${demo.sm8.url}/api_1.0 (API key smk-sim-0000; control ${demo.sm8.url}/__sim)`);
      log.info(
        `QBO sim       ${demo.qbo.url}/v3/company/${demo.qbo.realmId} (control ${demo.qbo.url}/__sim)`,
      );
      log.info('demo connection "demo" connected (see README: "Play both users")');
    }
    log.info('ready');
  } catch (err) {
    log.error(err instanceof Error ? err.message : String(err));
    await shutdown(1);
  }
}

runMain(main);
