/** A tiny leveled logger for process entry points (workflow code uses `log` from @temporalio/workflow). */
import type { Config } from './config';

const ORDER = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type Level = keyof typeof ORDER;

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export function createLogger(level: Config['logLevel'], name: string): Logger {
  const emit = (at: Level) => (msg: string) => {
    if (ORDER[at] < ORDER[level]) return;
    const line = `${new Date().toISOString()} ${at.toUpperCase().padEnd(5)} [${name}] ${msg}`;
    if (at === 'error' || at === 'warn') console.error(line);
    else console.log(line);
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}
