/**
 * `sm8qbo` (npx sm8qbo …): the operator's command line (OPS-2). Talks to the admin API for everything
 * about connections and records, and to Temporal directly to replay a workflow's history against the
 * code in this checkout. Tables for people, `--json` for scripts.
 */
import fs from 'node:fs';
import path from 'node:path';
import axios, { isAxiosError } from 'axios';
import { phaseLine, progressBar, type OnboardingProgress } from '../domain/onboarding';
import { loadConfig } from '../infra/config';
import type * as PayloadCodecModule from '../infra/payload-codec';
import { readAdminTokenFile } from './admin-token';

const argv = () => process.argv.slice(2);

const HELP = `sm8qbo: operate the ServiceM8 ⇄ QuickBooks Online sync

Usage: sm8qbo [--url URL] [--json] <command> [arguments]

Commands
  connect quickbooks <connection> [--name N]
  connect servicem8 <connection> [--name N]
                                      print a connect link to open in a browser (once, within
                                      10 minutes): creates or reconnects the connection by OAuth
  connections                         list connections and their health
  pause <connection>                  stop syncing a connection (its workflows wait)
  resume <connection>                 resume a paused connection
  disconnect <connection>             forget a connection's credentials (links and history stay)
  invoices [--connection C] [--state S]
                                      list invoices by sync state with the reason (e.g. --state BLOCKED)
  resync <connection> <job uuid>      re-sync one job's invoice now
  inbox [--state S] [--connection C] [--limit N]
                                      webhook events in the inbox (pending, routed, unrouted, failed)
                                      with the counts by state
  inbox retry <id>                    put a failed or unrouted webhook event back in the queue
  show <connection> <job uuid>        a record's workflow, state, reason and links (and its payments)
  onboard <connection> [--follow]     import QuickBooks customers and items into ServiceM8 (CM-1);
                                      --follow draws its progress until it is done
  onboarding <connection>             the progress of a connection's onboarding
  history <workflow id> [--out FILE]  export a workflow's history (JSON) for a bug report
  replay <workflow id> | --file FILE  replay a history against the current code and print the verdict

Options
  --url URL      the API (default http://127.0.0.1:$PORT)
  --json         machine-readable output
  --help         this text

The admin token is read from $ADMIN_TOKEN, else DATA_DIR/admin.token (written by npm start / npm run api);
never from the command line, where other users could see it.
`;

interface Args {
  positional: string[];
  flags: Record<string, string | true>;
}

class CliError extends Error {}

const SWITCHES = new Set(['json', 'help', 'follow']);
const OPTIONS = new Set(['url', 'connection', 'state', 'limit', 'out', 'file', 'name']);

/** Splits arguments into positionals and known options; an unknown option is an error, never ignored. */
export function parseArgs(argv: string[]): Args {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const name = a.slice(2);
    if (name === 'token' || name.startsWith('token='))
      throw new CliError(
        '--token is not accepted (a token on the command line is visible to other users in `ps`): set ADMIN_TOKEN, or let the CLI read DATA_DIR/admin.token',
      );
    if (SWITCHES.has(name)) flags[name] = true;
    else if (OPTIONS.has(name)) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new CliError(`${a} needs a value`);
      flags[name] = next;
      i += 1;
    } else throw new CliError(`unknown option "${a}" (see sm8qbo --help)`);
  }
  return { positional, flags };
}

/** Fixed-width table of the given columns. */
export function table(rows: Array<Record<string, unknown>>, columns: string[]): string {
  const cell = (v: unknown) =>
    v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  const widths = columns.map((c) => Math.min(60, Math.max(c.length, ...rows.map((r) => cell(r[c]).length))));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.slice(0, widths[i]).padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [
    line(columns),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(columns.map((c) => cell(r[c])))),
  ].join('\n');
}

const INBOX_COLUMNS = [
  'id',
  'source',
  'connectionId',
  'entity',
  'entityId',
  'state',
  'attempts',
  'receivedAt',
  'routedAt',
  'lastError',
];

/** How the CLI writes: whole lines, and (on a terminal) a line redrawn in place for progress bars. */
export interface CliIo {
  tty?: boolean;
  /** Writes without a newline (used to redraw the progress line on a terminal). */
  write?(s: string): void;
  /** Milliseconds between progress reads while following (default 1000). */
  followIntervalMs?: number;
  /** The environment the configuration (and ADMIN_TOKEN) is read from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

async function main(argv: string[], out: (s: string) => void, io: CliIo = {}): Promise<number> {
  const { positional, flags } = parseArgs(argv);
  const [command, ...rest] = positional;
  if (flags.help || !command || command === 'help') {
    out(HELP);
    return command || flags.help ? 0 : 2;
  }
  const config = loadConfig(io.env ?? process.env);
  const url = typeof flags.url === 'string' ? flags.url : `http://127.0.0.1:${config.port}`;
  const token = config.adminToken ?? readAdminTokenFile(config);
  const json = flags.json === true;
  const api = axios.create({
    baseURL: url,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    timeout: 30_000,
  });
  const need = (n: number, usage: string) => {
    if (rest.length < n) throw new CliError(`usage: sm8qbo ${usage}`);
  };
  const show = (data: unknown, columns?: string[]) =>
    out(
      json || !columns || !Array.isArray(data)
        ? JSON.stringify(data, null, 2)
        : table(data as Array<Record<string, unknown>>, columns),
    );

  switch (command) {
    case 'connect': {
      const [service, connection] = rest;
      if ((service !== 'quickbooks' && service !== 'servicem8') || !connection)
        throw new CliError('usage: sm8qbo connect quickbooks|servicem8 <connection> [--name N]');
      const body = { connection, ...(typeof flags.name === 'string' ? { name: flags.name } : {}) };
      const { data } = await api.post<{ url: string; expiresAt: string }>(`/connect/${service}`, body);
      out(
        json
          ? JSON.stringify(data)
          : `Open this link in a browser before ${data.expiresAt} (it works once):\n${data.url}`,
      );
      return 0;
    }
    case 'connections':
      show((await api.get('/admin/connections')).data, [
        'id',
        'name',
        'status',
        'statusReason',
        'qboRealmId',
        'invoices',
      ]);
      return 0;
    case 'pause':
    case 'resume':
    case 'disconnect':
      need(1, `${command} <connection>`);
      show(
        (await api.post(`/admin/connections/${encodeURIComponent(rest[0] as string)}/${command}`, {})).data,
      );
      return 0;
    case 'invoices': {
      const params: Record<string, string> = {};
      if (typeof flags.connection === 'string') params.connection = flags.connection;
      if (typeof flags.state === 'string') params.state = flags.state.toUpperCase();
      show((await api.get('/admin/invoices', { params })).data, [
        'connection_id',
        'generated_job_id',
        'job_uuid',
        'state',
        'reason_code',
        'qbo_invoice_id',
        'reason_text',
      ]);
      return 0;
    }
    case 'inbox': {
      if (rest[0] === 'retry') {
        need(2, 'inbox retry <id>');
        show((await api.post(`/admin/inbox/${encodeURIComponent(rest[1] as string)}/retry`, {})).data);
        return 0;
      }
      if (rest.length) throw new CliError(`unknown inbox command "${rest[0]}" (see sm8qbo --help)`);
      const params: Record<string, string> = {};
      if (typeof flags.state === 'string') params.state = flags.state.toLowerCase();
      if (typeof flags.connection === 'string') params.connection = flags.connection;
      if (typeof flags.limit === 'string') params.limit = flags.limit;
      const { data } = await api.get<{ counts: Record<string, number>; rows: unknown[] }>('/admin/inbox', {
        params,
      });
      if (json) {
        show(data);
        return 0;
      }
      out(
        Object.entries(data.counts)
          .map(([state, n]) => `${state}: ${n}`)
          .join('   '),
      );
      show(data.rows, INBOX_COLUMNS);
      return 0;
    }
    case 'resync':
      need(2, 'resync <connection> <job uuid>');
      show((await api.post(`/admin/invoices/${rest[0]}/${rest[1]}/resync`, {})).data);
      return 0;
    case 'show':
      need(2, 'show <connection> <job uuid>');
      show((await api.get(`/admin/records/${rest[0]}/${rest[1]}`)).data);
      return 0;
    case 'history': {
      need(1, 'history <workflow id> [--out FILE]');
      const res = await api.get(`/admin/workflows/${encodeURIComponent(rest[0] as string)}/history`, {
        responseType: 'text',
      });
      if (typeof flags.out === 'string') {
        fs.writeFileSync(flags.out, String(res.data));
        out(json ? JSON.stringify({ written: flags.out }) : `history written to ${flags.out}`);
      } else out(String(res.data));
      return 0;
    }
    case 'onboard': {
      need(1, 'onboard <connection> [--follow]');
      const id = encodeURIComponent(rest[0] as string);
      const started = (await api.post(`/admin/connections/${id}/onboarding`, {})).data as {
        workflowId: string;
        started: boolean;
      };
      if (!flags.follow) {
        show(started);
        return 0;
      }
      if (!json) out(`${started.started ? 'started' : 'already running'}: ${started.workflowId}`);
      return followOnboarding(
        () => api.get(`/admin/connections/${id}/onboarding`).then((r) => r.data as OnboardingView),
        out,
        { ...io, json },
      );
    }
    case 'onboarding': {
      need(1, 'onboarding <connection>');
      const view = (await api.get(`/admin/connections/${encodeURIComponent(rest[0] as string)}/onboarding`))
        .data as OnboardingView;
      if (json) out(JSON.stringify(view, null, 2));
      else out(describeOnboarding(view).join('\n'));
      return 0;
    }
    case 'replay':
      return replay(rest[0], typeof flags.file === 'string' ? flags.file : undefined, config, json, out);
    default:
      throw new CliError(`unknown command "${command}" (see sm8qbo --help)`);
  }
}

interface OnboardingView {
  workflowId: string;
  workflowStatus: string;
  completion: number;
  progress: OnboardingProgress | null;
}

function describeOnboarding(v: OnboardingView): string[] {
  if (!v.progress) return [`${v.workflowId}: ${v.workflowStatus}, no onboarding recorded yet`];
  return [
    `${v.workflowId} (run ${v.progress.run}, ${v.progress.state}, workflow ${v.workflowStatus})`,
    progressBar(v.completion),
    ...v.progress.phases.map(phaseLine),
  ];
}

/** The phase being worked on, as a short line ("customers 120/300"). */
function currentPhase(p: OnboardingProgress): string {
  const ph = p.phases.find((x) => x.state === 'running') ?? p.phases.find((x) => x.state === 'pending');
  if (!ph) return 'finishing';
  return `${ph.phase} ${ph.done}${ph.total === null ? '' : `/${ph.total}`}`;
}

/**
 * Follows an onboarding until its workflow is no longer running: on a terminal one bar redrawn in place,
 * otherwise a plain line per change (`--json`: one JSON object per change). 0 when it finished, 1 if not.
 */
async function followOnboarding(
  read: () => Promise<OnboardingView>,
  out: (s: string) => void,
  io: CliIo & { json: boolean },
): Promise<number> {
  let last = '';
  for (;;) {
    const v = await read();
    const running = v.workflowStatus === 'RUNNING';
    const line = v.progress
      ? `${progressBar(v.completion)}  ${v.progress.state === 'done' && !running ? 'done' : currentPhase(v.progress)}`
      : `${progressBar(0)}  starting`;
    const key = io.json ? JSON.stringify(v) : line;
    if (key !== last) {
      if (io.json) out(JSON.stringify({ ...v, at: new Date().toISOString() }));
      else if (io.tty && io.write) io.write(`\r\x1b[2K${line}`);
      else out(line);
      last = key;
    }
    if (!running) {
      if (io.tty && io.write && !io.json) io.write('\n');
      if (!io.json) out(describeOnboarding(v).slice(2).join('\n'));
      return v.progress?.state === 'done' ? 0 : 1;
    }
    await new Promise((r) => setTimeout(r, io.followIntervalMs ?? 1000));
  }
}

async function replay(
  workflowId: string | undefined,
  file: string | undefined,
  config: ReturnType<typeof loadConfig>,
  json: boolean,
  out: (s: string) => void,
): Promise<number> {
  if (!workflowId && !file) throw new CliError('usage: sm8qbo replay <workflow id> | --file FILE');
  // Loaded here, not at the top: the Temporal SDK takes most of a second to load and only replay needs it.
  const { Client, Connection } = await import('@temporalio/client');
  const { historyFromJSON, historyToJSON } = await import('@temporalio/common/lib/proto-utils.js');
  const { Worker, Runtime, DefaultLogger } = await import('@temporalio/worker');
  try {
    // The SDK's default logger would print webpack's bundling chatter around the verdict.
    Runtime.install({ logger: new DefaultLogger(config.logLevel === 'debug' ? 'DEBUG' : 'WARN') });
  } catch {
    // a runtime is already installed in this process (tests)
  }
  // Loaded lazily like the SDK above (it pulls in Temporal's protobufs).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { dataConverterFrom } = require('../infra/payload-codec') as typeof PayloadCodecModule;
  // Replay decodes with the payload codec (histories are encrypted); `history` exports them as stored.
  const dataConverter = dataConverterFrom(config, { create: false });
  let history;
  if (file) history = historyFromJSON(JSON.parse(fs.readFileSync(file, 'utf8')));
  else {
    const connection = await Connection.connect({ address: config.temporal.address });
    try {
      const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter });
      history = await client.workflow.getHandle(workflowId as string).fetchHistory();
      // Round-trip through JSON so a history replays exactly as an exported one would.
      history = historyFromJSON(JSON.parse(historyToJSON(history)));
    } finally {
      await connection.close();
    }
  }
  const id = workflowId ?? path.basename(file as string);
  try {
    dataConverter.payloadCodecs[0].assertCanDecrypt(history);
  } catch (err) {
    throw new CliError(`cannot replay ${id}: ${(err as Error).message}`);
  }
  try {
    await Worker.runReplayHistory(
      { workflowsPath: require.resolve('../workflows'), dataConverter },
      history,
      id,
    );
    out(
      json
        ? JSON.stringify({ workflowId: id, deterministic: true })
        : `✓ ${id}: replays deterministically against the current code`,
    );
    return 0;
  } catch (err) {
    const message = (err as Error).message;
    out(
      json
        ? JSON.stringify({ workflowId: id, deterministic: false, error: message })
        : `✗ ${id}: NOT deterministic against the current code\n  ${message}`,
    );
    return 1;
  }
}

/** Runs the CLI on process.argv and exits with its code (the `sm8qbo` bin calls this). */
export function runFromProcess(): void {
  main(argv(), (s) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`), {
    tty: process.stdout.isTTY === true,
    write: (s) => process.stdout.write(s),
  }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (isAxiosError(err)) {
        const body = err.response?.data as { error?: string } | undefined;
        process.stderr.write(
          `error: ${err.response?.status ?? err.code ?? ''} ${body?.error ?? err.message}\n`,
        );
      } else process.stderr.write(`error: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}

if (require.main === module) runFromProcess();

export { main as runCli };
export { followOnboarding };
