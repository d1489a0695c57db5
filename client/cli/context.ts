/**
 * What every `sm8qbo` command shares: how it writes, its exit codes, the configuration and the admin API
 * client (both made on first use), and how a failed call becomes one sentence with the right exit code.
 */
import axios, { isAxiosError, type AxiosInstance } from 'axios';
import { ConfigError, loadConfig, type Config } from '../../infra/config';
import { adminTokenFile, readAdminTokenFile } from '../admin-token';

/** The documented exit codes (`sm8qbo --help`, README). */
export const ExitCode = {
  ok: 0,
  /** The command ran and failed (the API refused, a workflow is not deterministic, a wait timed out…). */
  failure: 1,
  /** The command line is wrong: an unknown command or option, a missing argument, a value the API refused. */
  usage: 2,
  /** What the command names does not exist (a connection, a job, an inbox event, a workflow). */
  notFound: 3,
  /** No admin token, or the API refused it (401/403). */
  auth: 4,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure the CLI explains in one sentence and ends with an exit code. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCodeValue,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** How the CLI writes: whole lines, and (on a terminal) a line redrawn in place for progress bars. */
export interface CliIo {
  tty?: boolean;
  /** Writes without a newline (used to redraw the progress line on a terminal). */
  write?(s: string): void;
  /** Where errors go, one sentence each (default stderr). */
  err?(s: string): void;
  /** Width of the terminal, when stdout is one: tables are fitted to it. */
  columns?: number;
  /** Milliseconds between progress reads while following (default 1000). */
  followIntervalMs?: number;
  /** Milliseconds between reads while a demo command waits for the sync (default 250). */
  pollIntervalMs?: number;
  /** The environment the configuration (and ADMIN_TOKEN) is read from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface CliContext {
  out(s: string): void;
  io: CliIo;
  /** `--json` was given. */
  readonly json: boolean;
  /** What the process exits with once the command returns (0 unless a command sets it). */
  exitCode: number;
  config(): Config;
  /** The admin API's base URL (`--url`, else http://127.0.0.1:PORT). */
  apiUrl(): string;
  /** The admin API with the token; a CliError (exit 4) when there is no token. */
  api(): AxiosInstance;
}

export function createContext(
  out: (s: string) => void,
  io: CliIo,
  globals: () => { url?: string; json?: boolean },
): CliContext {
  let config: Config | undefined;
  let api: AxiosInstance | undefined;
  const ctx: CliContext = {
    out,
    io,
    exitCode: ExitCode.ok,
    get json() {
      return globals().json === true;
    },
    config() {
      if (!config) {
        try {
          config = loadConfig(io.env ?? process.env);
        } catch (err) {
          if (err instanceof ConfigError) throw new CliError(ExitCode.failure, err.message);
          throw err;
        }
      }
      return config;
    },
    apiUrl() {
      return (globals().url ?? `http://127.0.0.1:${ctx.config().port}`).replace(/\/+$/, '');
    },
    api() {
      if (api) return api;
      const c = ctx.config();
      const token = c.adminToken ?? readAdminTokenFile(c);
      if (!token)
        throw new CliError(
          ExitCode.auth,
          `no admin token: set ADMIN_TOKEN, or run sm8qbo where \`npm start\` (or \`npm run api\`) wrote ${adminTokenFile(c)} (DATA_DIR)`,
        );
      api = axios.create({
        baseURL: ctx.apiUrl(),
        headers: { Authorization: `Bearer ${token}` },
        timeout: 30_000,
      });
      const url = ctx.apiUrl();
      api.interceptors.response.use(undefined, (err: unknown) => Promise.reject(apiFailure(err, url)));
      return api;
    },
  };
  return ctx;
}

/** Network errors that mean "nothing answers at that address". */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** A failed call to the admin API as one sentence with its exit code (never a stack or a raw errno). */
export function apiFailure(err: unknown, url: string): unknown {
  if (!isAxiosError(err)) return err;
  const status = err.response?.status;
  if (status === undefined) {
    if (err.code && UNREACHABLE.has(err.code))
      return new CliError(
        ExitCode.failure,
        `cannot reach the sync API at ${url}: is \`npm start\` (or \`npm run api\`) running? Set --url or PORT`,
      );
    if (err.code === 'ECONNABORTED' || err.code === 'ETIMEDOUT')
      return new CliError(ExitCode.failure, `the sync API at ${url} did not answer in time; try again`);
    return new CliError(ExitCode.failure, `the sync API at ${url} failed: ${err.message}`);
  }
  const body = err.response?.data as { error?: unknown } | string | undefined;
  const said =
    typeof body === 'object' && body !== null && typeof body.error === 'string'
      ? body.error
      : `HTTP ${status}`;
  if (status === 401 || status === 403)
    return new CliError(
      ExitCode.auth,
      `the sync API refused the admin token (${said}): set ADMIN_TOKEN to the token the API uses`,
    );
  if (status === 400) return new CliError(ExitCode.usage, said);
  if (status === 404) return new CliError(ExitCode.notFound, said);
  return new CliError(ExitCode.failure, said);
}
