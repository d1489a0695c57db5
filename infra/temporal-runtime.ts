import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Config } from './config';
import { freePort } from './ports';

const LEVELS: Record<Config['logLevel'], LogLevel> = {
  debug: 'DEBUG',
  info: 'WARN',
  warn: 'WARN',
  error: 'ERROR',
};

let metricsUrl: string | undefined;

/** Where this process's Temporal SDK serves its Prometheus metrics (loopback), if it does. */
export function temporalMetricsUrl(): string | undefined {
  return metricsUrl;
}

/**
 * Once per process, before any worker: the SDK's own logs at our level (its INFO is webpack chatter), and,
 * with `metricsPort`, its Prometheus exporter on that loopback port, which our /metrics merges
 * (client/metrics.ts).
 */
export function installTemporalRuntime(level: Config['logLevel'], metricsPort?: number): void {
  try {
    Runtime.install({
      logger: new DefaultLogger(LEVELS[level]),
      ...(metricsPort
        ? { telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${metricsPort}` } } } }
        : {}),
    });
    if (metricsPort) metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  } catch {
    // already installed in this process
  }
}

/** installTemporalRuntime with the SDK's metrics on a free loopback port (the worker, npm start). */
export async function installTemporalRuntimeWithMetrics(level: Config['logLevel']): Promise<void> {
  installTemporalRuntime(level, await freePort());
}
