/**
 * The Temporal SDK's logs (worker, workflow `log`, activity context) through our pino logger (infra/log.ts),
 * with workflowId, runId and activityType on the line. A failed activity attempt is one line (activity type,
 * attempt, workflow id, failure type and message) instead of the SDK's dump of the whole error object.
 */
import { Runtime, type LogLevel, type LogMetadata, type Logger as SdkLogger } from '@temporalio/worker';
import type { Logger as Pino } from 'pino';
import { connectionOfWorkflowId } from '../domain/workflow-ids';
import type { Config } from './config';
import { pinoLogger } from './log';
import { freePort } from './ports';

/** The SDK's INFO is webpack and worker-state chatter: it shows with LOG_LEVEL=debug only. */
const LEVELS: Record<Config['logLevel'], Config['logLevel']> = {
  debug: 'debug',
  info: 'warn',
  warn: 'warn',
  error: 'error',
};

const TO_PINO: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** The fields we keep from the SDK's metadata, renamed to the product's names. */
function fieldsOf(meta: LogMetadata = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta)) {
    if (v === undefined || k === 'taskToken' || k === 'error' || k === 'namespace' || k === 'isLocal')
      continue;
    out[k === 'workflowRunId' ? 'runId' : k] = v;
  }
  // OPS-4: every line of a workflow's work names its connection, so one connection's story can be filtered.
  const connection = typeof out.workflowId === 'string' ? connectionOfWorkflowId(out.workflowId) : undefined;
  if (connection && out.connection === undefined) out.connection = connection;
  return out;
}

/** `ApplicationFailure` type, else the error's class name. */
function failureType(error: unknown): string {
  if (error && typeof error === 'object') {
    const e = error as { type?: unknown; name?: unknown };
    if (typeof e.type === 'string' && e.type) return e.type;
    if (typeof e.name === 'string' && e.name) return e.name;
  }
  return 'Error';
}

const FRAME = /\(?((?:\/|[A-Za-z]:\\)[^():]+):(\d+):\d+\)?$/;

/**
 * Where a failure was thrown, in the product's own code: up to three `file:line` frames of its stack, nearest
 * first, relative to the working directory, libraries left out. Keeps a failed attempt's line one line while
 * naming the place (the long soak's "duplicate key" gave the message only).
 */
export function whereOf(error: unknown, root = process.cwd()): string | undefined {
  const stack = error instanceof Error ? error.stack : undefined;
  if (!stack) return undefined;
  const frames: string[] = [];
  for (const line of stack.split('\n').slice(1)) {
    const m = FRAME.exec(line.trim());
    const file = m?.[1];
    if (!file || file.includes('node_modules') || !file.startsWith(root)) continue;
    frames.push(`${file.slice(root.length + 1)}:${m[2]}`);
    if (frames.length === 3) break;
  }
  return frames.length ? frames.join(' < ') : undefined;
}

/** The SDK's Logger interface on a pino logger. */
export class PinoSdkLogger implements SdkLogger {
  constructor(private readonly pino: Pino) {}

  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    const fields = fieldsOf(meta);
    const error = meta?.error;
    if (message === 'Activity failed' && error !== undefined) {
      const text = error instanceof Error ? error.message : String(error);
      // An attempt cancelled because this worker is stopping (Ctrl-C) is retried by the next worker.
      const stopping = text.includes('WORKER_SHUTDOWN');
      this.pino[stopping ? 'debug' : TO_PINO[level]](
        { ...fields, failureType: failureType(error), failure: text.split('\n')[0], where: whereOf(error) },
        `activity ${String(fields.activityType)} attempt ${String(fields.attempt)} failed: ${text.split('\n')[0]}`,
      );
      return;
    }
    if (error !== undefined) fields.err = error instanceof Error ? error.message : String(error);
    this.pino[TO_PINO[level]](fields, message);
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}

/**
 * Once per process, before any worker. `handleSignals: false` leaves SIGINT/SIGTERM to the caller, which
 * then shuts its worker down itself, in order (workers/start.ts); by default the SDK's handlers do it.
 */
export function installTemporalRuntime(
  level: Config['logLevel'],
  opts: { handleSignals?: boolean; forwardCoreLogs?: boolean; metricsPort?: number } = {},
): void {
  const { metricsPort } = opts;
  try {
    Runtime.install({
      logger: new PinoSdkLogger(pinoLogger(LEVELS[level], 'temporal')),
      // The native core's warnings (e.g. a lost server) as JSON lines too, not its coloured console output.
      // With metricsPort, the SDK's Prometheus exporter on that loopback port, merged into our /metrics.
      // Core-log forwarding keeps a native handle open for the life of the runtime: a process that must end
      // by itself when its work is done (a test file run in-band) leaves it out.
      telemetryOptions: {
        ...(opts.forwardCoreLogs === false ? {} : { logging: { forward: {} } }),
        ...(metricsPort ? { metrics: { prometheus: { bindAddress: `127.0.0.1:${metricsPort}` } } } : {}),
      },
      ...(opts.handleSignals === false ? { shutdownSignals: [] } : {}),
    });
    if (metricsPort) metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  } catch {
    // already installed in this process
  }
}

let metricsUrl: string | undefined;

/** Where this process's Temporal SDK serves its Prometheus metrics (loopback), if it does (client/metrics.ts). */
export function temporalMetricsUrl(): string | undefined {
  return metricsUrl;
}

/** installTemporalRuntime with the SDK's metrics on a free loopback port (the worker, npm start). */
export async function installTemporalRuntimeWithMetrics(
  level: Config['logLevel'],
  opts: { handleSignals?: boolean } = {},
): Promise<void> {
  installTemporalRuntime(level, { ...opts, metricsPort: await freePort() });
}
