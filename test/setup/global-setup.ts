/**
 * Once per integration run: a real Temporal dev server (headless, in memory, on a free port), a fresh
 * PostgreSQL database with all migrations applied, and the workflow bundle built once for every worker.
 * Test files read what they need through test/helpers/env.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { loadConfig } from '../../infra/config';
import { createPool, dropDatabase, ensureDatabaseExists, resolveDatabase } from '../../infra/database';
import { migrate } from '../../infra/migrate';
import { ensureTemporalCli, PROJECT_ROOT, startTemporalDevServer } from '../../infra/temporal-server';
import { freePort } from '../../infra/ports';
import { workflowBundleOptions } from '../../workers/workflow-bundle';

export { freePort };

export default async function globalSetup(): Promise<void> {
  const log = (line: string) => process.stderr.write(`[test setup] ${line}\n`);
  const config = loadConfig({ ...process.env, DATA_DIR: path.join(PROJECT_ROOT, '.data', 'test') });
  const testDir = path.join(PROJECT_ROOT, '.data', 'test');
  fs.mkdirSync(testDir, { recursive: true });

  const [cliPath, server] = await Promise.all([
    ensureTemporalCli(config.temporal.cliPath, log),
    resolveDatabase(config, log),
  ]);
  const temporal = await startTemporalDevServer({ cliPath, port: await freePort(), log });

  const url = new URL(server.url);
  url.pathname = `/sm8qbo_test_${Date.now()}_${process.pid}`;
  const databaseUrl = url.toString();
  await ensureDatabaseExists(databaseUrl);
  const pool = createPool(databaseUrl, 2);
  await migrate(pool);
  await pool.end();

  const bundle = await bundleWorkflowCode(workflowBundleOptions(log));
  const bundlePath = path.join(testDir, 'workflow-bundle.js');
  fs.writeFileSync(bundlePath, bundle.code);

  process.env.TEST_TEMPORAL_ADDRESS = temporal.address;
  process.env.TEST_DATABASE_URL = databaseUrl;
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
  process.env.TEST_TEMPORAL_CLI = cliPath;

  (globalThis as Record<string, unknown>).__SM8QBO_TEARDOWN__ = async () => {
    await temporal.stop();
    await dropDatabase(databaseUrl).catch((e: unknown) => log(`could not drop ${databaseUrl}: ${String(e)}`));
    await server.stop();
  };
}
