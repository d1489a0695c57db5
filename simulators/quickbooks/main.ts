/** Standalone entry point: `npx tsx simulators/quickbooks/main.ts` (configured by QBO_SIM_* variables). */
import { quickBooksSimulatorOptionsFromEnv, startQuickBooksSimulator } from './index';

async function main(): Promise<void> {
  const sim = await startQuickBooksSimulator(quickBooksSimulatorOptionsFromEnv());
  process.stdout.write(`QuickBooks Online simulator on ${sim.url} (realm ${sim.realmId})\n`);
  const shutdown = (): void => {
    void sim.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
