/**
 * The one place that reads the environment. Every variable is listed in VARIABLES (infra/config-schema.ts;
 * the README's configuration table is checked against it by a test), parsed once, and a bad value stops
 * the process at start with a message that names the variable. Rules that tie variables together are
 * checked once each is valid on its own.
 */
import path from 'node:path';
import { VARIABLES, type VariableName } from './config-schema';

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
  /** The worker's own /metrics port (client/metrics.ts startMetricsServer); undefined: none. */
  metricsPort: number | undefined;
  simulators: 'auto' | 'true' | 'false';
  publicBaseUrl: string;
  rateLimitWaitMs: number;
  /** Benchmarks on the simulators: the governor's limits times this (GOVERNOR_LIMIT_SCALE; 1 in real mode). */
  governorLimitScale: number;
  /** TRG-2 / TAX-2 schedules of each connection (client/schedules.ts). */
  polling: { intervalMs: number; fastIntervalMs: number; taxIntervalMs: number; reconcileCron: string };
  /** Days a routed webhook event is kept (store/inbox.ts, applied by client/webhook-inbox.ts). */
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

/** A factor from 1 to 1000. */
function scale(env: Env, name: VariableName): number {
  const value = raw(env, name) ?? '';
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n < 1 || n > 1000) {
    throw new ConfigError(name, `must be a number from 1 to 1000, got "${value}"`);
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
  // The real APIs' limits are theirs, not ours to raise: the scale is for benchmarks on the simulators.
  if (
    config.governorLimitScale !== 1 &&
    (config.simulators === 'false' || (realHosts && config.qbo.clientId))
  ) {
    throw new ConfigError(
      'GOVERNOR_LIMIT_SCALE',
      'must be 1 against the real ServiceM8 and QuickBooks Online (their limits are fixed); it is for benchmarks on the simulators',
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
    governorLimitScale: scale(env, 'GOVERNOR_LIMIT_SCALE'),
    polling: {
      intervalMs: duration(env, 'POLL_INTERVAL', 1000, 24 * 3_600_000),
      fastIntervalMs: duration(env, 'POLL_FAST_INTERVAL', 1000, 24 * 3_600_000),
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
