/**
 * `npm run sim`: both API simulators standalone (ServiceM8 on SM8_SIM_PORT, default 4010; QuickBooks Online
 * on QBO_SIM_PORT, default 4020), seeded with the demo world unless SM8_SIM_SEED_DEMO / QBO_SIM_SEED_DEMO
 * say otherwise. With SM8_SIM_STATE_FILE / QBO_SIM_STATE_FILE each keeps its world in that file across
 * restarts. Ctrl-C stops both (and saves the state files).
 */
import { quickBooksSimulatorOptionsFromEnv, startQuickBooksSimulator } from './quickbooks';
import { serviceM8SimulatorOptionsFromEnv, startServiceM8Simulator } from './servicem8';

async function main(): Promise<void> {
  const env = { SM8_SIM_SEED_DEMO: 'true', QBO_SIM_SEED_DEMO: 'true', ...process.env };
  const sm8 = await startServiceM8Simulator(serviceM8SimulatorOptionsFromEnv(env));
  const qbo = await startQuickBooksSimulator(quickBooksSimulatorOptionsFromEnv(env));
  process.stdout.write(`ServiceM8 simulator        ${sm8.url}/api_1.0   (control ${sm8.url}/__sim)\n`);
  process.stdout.write(
    `QuickBooks Online simulator ${qbo.url}/v3/company/${qbo.realmId}   (control ${qbo.url}/__sim)\n`,
  );
  const shutdown = () => void Promise.all([sm8.stop(), qbo.stop()]).then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
