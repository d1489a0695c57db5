/**
 * The product's logs: pino, one JSON object a line on stdout (`{"level":"info","time":…,"name":"start",
 * "msg":…}` plus `connection`, `workflowId`, `runId`, `reqId`, `activityType`… where known), or pino-pretty's
 * coloured lines when stdout is a terminal (`npm start … | cat` gives JSON on a terminal too).
 * Workflow code logs through `log` from @temporalio/workflow, which reaches the Temporal runtime's logger
 * (infra/temporal-runtime.ts), which writes here too.
 */
import pino, { type DestinationStream, type Logger as Pino } from 'pino';
import type { Config } from './config';

export type Level = Config['logLevel'];
/** Structured fields of one line (connection, workflowId, runId, reqId, …). */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** Pretty output needs pino-pretty (a dev dependency): a production install always writes JSON. */
function prettyStream(): DestinationStream | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pretty = require('pino-pretty') as (opts: object) => DestinationStream;
    return pretty({ sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  } catch {
    return undefined;
  }
}

let root: Pino | undefined;

/**
 * The process's root pino logger (all levels; each named logger filters at its own level). `destination`
 * replaces stdout (tests capture it); without it the first call decides.
 */
export function rootLogger(destination?: DestinationStream): Pino {
  if (root && !destination) return root;
  const stream =
    destination ?? (process.stdout.isTTY ? prettyStream() : undefined) ?? pino.destination({ sync: true });
  root = pino(
    {
      level: 'debug',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
  return root;
}

/** A pino logger named `name` at `level` (for libraries that take one, like Fastify's `loggerInstance`). */
export function pinoLogger(level: Level, name: string, fields: LogFields = {}): Pino {
  return rootLogger().child({ name, ...fields }, { level });
}

/** A request as Fastify's logger writes it: no query string (OAuth codes) and no webhook path token. */
function requestFields(req: { method?: string; url?: string; id?: unknown }): LogFields {
  const url = (req.url ?? '').split('?')[0]?.replace(/^(\/webhooks\/[^/]+\/)[^/]+/, '$1***');
  return { method: req.method, url };
}

/** Fastify's `loggerInstance`: its lines carry `reqId`; requests are logged without secrets. */
export function httpLogger(level: Level): Pino {
  return rootLogger().child({ name: 'http' }, { level, serializers: { req: requestFields } });
}

/** A named logger at `level`, optionally with fields on every line (e.g. `{ connection: 'demo' }`). */
export function createLogger(level: Level, name: string, fields: LogFields = {}): Logger {
  return fromPino(pinoLogger(level, name, fields));
}

export function fromPino(p: Pino): Logger {
  const at =
    (l: Level) =>
    (msg: string, fields?: LogFields): void =>
      fields ? p[l](fields, msg) : p[l](msg);
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
