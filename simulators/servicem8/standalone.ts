/**
 * Runs the simulator on its own: `npx tsx simulators/servicem8/standalone.ts` (SM8_SIM_* variables,
 * see README.md). Stops cleanly on SIGINT/SIGTERM.
 */
import { serviceM8SimulatorOptionsFromEnv, startServiceM8Simulator } from './index';

async function main(): Promise<void> {
  const options = serviceM8SimulatorOptionsFromEnv();
  const sim = await startServiceM8Simulator(options);
  process.stdout.write(
    `ServiceM8 simulator listening on ${sim.url} (API ${sim.url}/api_1.0, control ${sim.url}/__sim)\n`,
  );
  const shutdown = () => {
    sim.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
