/**
 * The wrapper of every process entry point (`runMain(main)` at the bottom of workers/worker.ts and the
 * others). An operator who mistypes a variable reads one line naming it, not a Node crash: a configuration
 * error prints its sentence alone and exits 1. Any other failure prints its message and exits 1 too; its
 * stack trace is added with LOG_LEVEL=debug (read raw: the configuration may be what failed).
 */
import { ConfigError } from './config';

/** The line (or, for debugging, lines) printed for an error that ended the process. */
export function describeFailure(err: unknown, env: NodeJS.ProcessEnv = process.env): string {
  if (err instanceof ConfigError) return err.message;
  const message = err instanceof Error ? err.message : String(err);
  const stack = err instanceof Error && env.LOG_LEVEL?.trim() === 'debug' ? err.stack : undefined;
  return stack ? `${message}\n${stack}` : message;
}

/**
 * Runs main once. A number it resolves to becomes the exit code; otherwise the process ends by itself when
 * main's work is done (a worker returns after its shutdown).
 */
export function runMain(main: () => Promise<number | void>): void {
  let run: Promise<number | void>;
  try {
    run = main();
  } catch (err) {
    run = Promise.reject(err);
  }
  run.then(
    (code) => {
      if (typeof code === 'number') process.exit(code);
    },
    (err: unknown) => {
      process.stderr.write(`${describeFailure(err)}\n`);
      process.exit(1);
    },
  );
}
