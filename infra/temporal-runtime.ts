import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Config } from './config';

const LEVELS: Record<Config['logLevel'], LogLevel> = {
  debug: 'DEBUG',
  info: 'WARN',
  warn: 'WARN',
  error: 'ERROR',
};

/** Once per process, before any worker: the SDK's own logs at our level (its INFO is webpack chatter). */
export function installTemporalRuntime(level: Config['logLevel']): void {
  try {
    Runtime.install({ logger: new DefaultLogger(LEVELS[level]) });
  } catch {
    // already installed in this process
  }
}
