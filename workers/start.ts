/**
 * `npm start`: the whole product on one machine with nothing configured: a Temporal dev server with its
 * Web UI (unless TEMPORAL_ADDRESS points elsewhere), PostgreSQL (local or embedded), the worker, the HTTP
 * API and its webhook relay, the connections' schedules, and (without real credentials) both API
 * simulators with the demo connection made through the real connect flows. Ctrl-C stops everything.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isLoopback, resolveAdminToken } from '../client/admin-token';
import { buildApiServer } from '../client/api-server';
import { LazyTemporal } from '../client/temporal-client';
import { startInboxRelay } from '../client/webhook-inbox';
import { loadConfig } from '../infra/config';
import { createPool, resolveDatabase } from '../infra/database';
import { createLogger, httpLogger } from '../infra/log';
import { runMain } from '../infra/main';
import { migrate } from '../infra/migrate';
import { dataConverterFrom } from '../infra/payload-codec';
import { reservePort } from '../infra/ports';
import { installTemporalRuntimeWithMetrics } from '../infra/temporal-runtime';
import { ensureTemporalCli, startTemporalDevServer } from '../infra/temporal-server';
import { scheduleOptionsFromConfig, startConnectionPolling } from '../client/schedules';
import { buildActivityDeps, buildApiDeps, createGovernor } from './activity-deps';
import { checkStoredData, pidFile, runningStart } from './data-check';
import { connectDemo, demoStateOnDisk, startDemoSimulators, type DemoSimulators } from './demo';
import { createSyncWorker, NativeConnection } from './sync-worker';
import { cachedWorkflowBundle } from './workflow-bundle';

/**
 * The running parts, stopped in this order on Ctrl-C: first what brings work in (the inbox relay, the API),
 * then the worker (it drains: running activities are cancelled and it returns from run()), then the
 * connections and pools, then the Temporal dev server, the database and the simulators (which save their
 * worlds).
 */
const PHASES = ['intake', 'worker', 'connections', 'servers'] as const;
type Phase = (typeof PHASES)[number];

const DEMO_CONNECTION = 'demo';

async function main(): Promise<void> {
  let config = loadConfig();
  const log = createLogger(config.logLevel, 'start');
  // SIGINT/SIGTERM are ours (below): the SDK's own handlers would shut the worker down a second time.
  await installTemporalRuntimeWithMetrics(config.logLevel, { handleSignals: false });
  const stops: Record<Phase, Array<() => Promise<unknown>>> = {
    intake: [],
    worker: [],
    connections: [],
    servers: [],
  };
  let stopping: Promise<never> | undefined;
  let ownsPidFile = false;
  const shutdown = (code: number): Promise<never> =>
    (stopping ??= (async () => {
      const started = Date.now();
      // A signal is news; a failed start already said why in one line.
      if (code === 0) log.info('stopping');
      const took: string[] = [];
      for (const phase of PHASES) {
        // Within a phase, the last started stops first; phases run one after the other.
        await Promise.all(
          stops[phase].reverse().map((stop) => stop().catch((e: unknown) => log.warn(String(e)))),
        );
        took.push(`${phase} ${Date.now() - started} ms`);
      }
      if (ownsPidFile) fs.rmSync(pidFile(config.dataDir), { force: true });
      if (code === 0) log.info(`stopped in ${Date.now() - started} ms (${took.join(', ')})`);
      process.exit(code);
    })());
  // `on`, not `once`: a second Ctrl-C while draining must not end the process with the default handler.
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    // Before anything starts: a non-loopback HOST without ADMIN_TOKEN stops here, with the variable named.
    const admin = resolveAdminToken(config);
    // `npm run reset` refuses to delete what a running start uses.
    const other = runningStart(config.dataDir);
    if (other !== undefined)
      throw new Error(`npm start is already running on ${config.dataDir} (pid ${other}); stop it first`);
    fs.mkdirSync(config.dataDir, { recursive: true });
    fs.writeFileSync(pidFile(config.dataDir), `${process.pid}\n`);
    ownsPidFile = true;
    // The API's port is held from now on: the dev server's random ports must not take it (infra/ports.ts).
    const apiPort = await reservePort(config.host, config.port);
    stops.intake.push(() => apiPort.release());
    // Real mode is chosen on purpose (SIMULATORS=false); infra/config.ts refuses real credentials with `auto`.
    const simulate = config.simulators !== 'false';
    const simState = demoStateOnDisk(config.dataDir);
    let demo: DemoSimulators | undefined;
    if (simulate) {
      demo = await startDemoSimulators(process.env, config.port, config.dataDir);
      stops.servers.push(() => (demo as DemoSimulators).stop());
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
      // Ctrl-C must end everything within 2 s; the dev server's own shutdown takes 1-2 s under load.
      stops.servers.push(() => server.stop(300));
      uiUrl = server.uiUrl;
    }

    // From DATA_DIR when the workflow sources have not changed (workers/workflow-bundle.ts).
    const bundle = cachedWorkflowBundle({ dataDir: config.dataDir, log: log.info });
    bundle.catch(() => undefined); // awaited below; a failure surfaces there
    const db = await resolveDatabase(config, log.info);
    stops.servers.push(() => db.stop());
    const pool = createPool(db.url);
    stops.connections.push(() => pool.end());
    await migrate(pool);

    const connection = await NativeConnection.connect({ address: config.temporal.address });
    stops.connections.push(() => connection.close());
    // One codec for the worker, the API's client and (through DATA_DIR/payload.key) the CLI.
    const dataConverter = dataConverterFrom(config);
    const deps = buildActivityDeps(config, pool, createGovernor(pool, config.governorLimitScale));
    stops.connections.push(async () => deps.governor.close?.());
    // Data left by an earlier start must open with this DATA_DIR's key and match the simulators' worlds.
    const problem = await checkStoredData({
      store: deps.store,
      database: `${new URL(db.url).pathname.slice(1)} (${db.source})`,
      dataDir: config.dataDir,
      keysFromEnv: Boolean(config.encryptionKeys),
      demo: demo && { connectionId: DEMO_CONNECTION, simState },
    });
    if (problem) throw new Error(problem);
    const worker = await createSyncWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      deps,
      dataConverter,
      workflowBundle: (await bundle).bundle,
    });
    const workerDone = worker.run();
    stops.worker.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await workerDone;
    });

    const temporal = new LazyTemporal({ ...config.temporal, dataConverter });
    stops.connections.push(() => temporal.close());
    const api = buildApiServer({
      ...buildApiDeps(config, deps, temporal),
      httpLogger: httpLogger(config.logLevel),
    });
    await apiPort.release();
    await api.listen({ host: config.host, port: config.port });
    stops.intake.push(() => api.close());
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
    stops.intake.push(stopRelay);

    // TRG-2: every connection's schedules exist with the current intervals (idempotent), and each polls now.
    await startConnectionPolling(
      await temporal.get(),
      (await deps.store.list()).filter((c) => c.status !== 'disconnected').map((c) => c.id),
      scheduleOptionsFromConfig(config),
    );
    // A wildcard or loopback HOST is reached at 127.0.0.1 from here; a specific address at itself.
    const local = isLoopback(config.host) || ['0.0.0.0', '::'].includes(config.host);
    const apiUrl = `http://${local ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
    // A restart keeps the demo connection it made (connecting again would start a second onboarding).
    const made = await deps.store.get(DEMO_CONNECTION);
    const keep = made && made.status !== 'disconnected' && made.qboRealmId && made.sm8AuthKind;
    if (demo && !keep) await connectDemo(apiUrl, DEMO_CONNECTION, admin.token);

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
      log.info(
        `demo connection "${DEMO_CONNECTION}" ${simState === 'both' ? 'continues its saved world' : 'connected to a fresh world'} (data in ${config.dataDir}; npm run reset starts clean; README: "Play both users")`,
      );
    }
    log.info('ready');
  } catch (err) {
    log.error(err instanceof Error ? err.message : String(err));
    await shutdown(1);
  }
}

runMain(main);
