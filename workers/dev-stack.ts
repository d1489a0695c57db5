/** `npm run dev-stack`: only the Temporal dev server (persistent SQLite in DATA_DIR, Web UI), until Ctrl-C. */
import path from 'node:path';
import { loadConfig } from '../infra/config';
import { createLogger } from '../infra/log';
import { runMain } from '../infra/main';
import { ensureTemporalCli, startTemporalDevServer } from '../infra/temporal-server';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'dev-stack');
  const cliPath = await ensureTemporalCli(config.temporal.cliPath, log.info);
  const server = await startTemporalDevServer({
    cliPath,
    port: config.temporal.port,
    uiPort: config.temporal.uiPort,
    dbFile: path.join(config.dataDir, 'temporal', 'dev.sqlite'),
    namespace: config.temporal.namespace,
    uiCodecEndpoint: `http://127.0.0.1:${config.port}/codec`,
  });
  log.info(`Temporal ${server.address}, Web UI ${server.uiUrl ?? '(headless)'}; Ctrl-C stops it`);
  const stop = () => void server.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

runMain(main);
