/**
 * `sm8qbo` (npx sm8qbo …): the operator's command line (OPS-2). Talks to the admin API for everything
 * about connections and records, and to Temporal directly to replay a workflow's history against the
 * code in this checkout. Tables for people, `--json` for scripts.
 */
import fs from 'node:fs';
import path from 'node:path';
import axios, { isAxiosError } from 'axios';
import { Client, Connection } from '@temporalio/client';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import { loadConfig } from '../infra/config';

const HELP = `sm8qbo: operate the ServiceM8 ⇄ QuickBooks Online sync

Usage: sm8qbo [--url URL] [--token TOKEN] [--json] <command> [arguments]

Commands
  connections                         list connections and their health
  pause <connection>                  stop syncing a connection (its workflows wait)
  resume <connection>                 resume a paused connection
  disconnect <connection>             forget a connection's credentials (links and history stay)
  invoices [--connection C] [--state S]
                                      list invoices by sync state with the reason (e.g. --state BLOCKED)
  resync <connection> <job uuid>      re-sync one job's invoice now
  show <connection> <job uuid>        a record's workflow, state, reason and links (and its payments)
  history <workflow id> [--out FILE]  export a workflow's history (JSON) for a bug report
  replay <workflow id> | --file FILE  replay a history against the current code and print the verdict

Options
  --url URL      the API (default http://127.0.0.1:$PORT)
  --token TOKEN  admin token (default $ADMIN_TOKEN, else DATA_DIR/admin.token written by npm start)
  --json         machine-readable output
  --help         this text
`;

interface Args {
  positional: string[];
  flags: Record<string, string | true>;
}

export function parseArgs(argv: string[]): Args {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i] as string;
    if (a.startsWith('--')) {
      const name = a.slice(2);
      const next = argv[i + 1];
      if (['json', 'help'].includes(name) || next === undefined || next.startsWith('--')) flags[name] = true;
      else {
        flags[name] = next;
        i += 1;
      }
    } else positional.push(a);
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

class CliError extends Error {}

async function main(argv: string[], out: (s: string) => void): Promise<number> {
  const { positional, flags } = parseArgs(argv);
  const [command, ...rest] = positional;
  if (flags.help || !command || command === 'help') {
    out(HELP);
    return command || flags.help ? 0 : 2;
  }
  const config = loadConfig();
  const url = typeof flags.url === 'string' ? flags.url : `http://127.0.0.1:${config.port}`;
  const tokenFile = path.join(config.dataDir, 'admin.token');
  const token =
    (typeof flags.token === 'string' ? flags.token : undefined) ??
    config.adminToken ??
    (fs.existsSync(tokenFile) ? fs.readFileSync(tokenFile, 'utf8').trim() : undefined);
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
    case 'replay':
      return replay(rest[0], typeof flags.file === 'string' ? flags.file : undefined, config, json, out);
    default:
      throw new CliError(`unknown command "${command}" (see sm8qbo --help)`);
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
  const { Worker } = await import('@temporalio/worker');
  let history;
  if (file) history = historyFromJSON(JSON.parse(fs.readFileSync(file, 'utf8')));
  else {
    const connection = await Connection.connect({ address: config.temporal.address });
    try {
      const client = new Client({ connection, namespace: config.temporal.namespace });
      history = await client.workflow.getHandle(workflowId as string).fetchHistory();
      // Round-trip through JSON so a history replays exactly as an exported one would.
      history = historyFromJSON(JSON.parse(historyToJSON(history)));
    } finally {
      await connection.close();
    }
  }
  const id = workflowId ?? path.basename(file as string);
  try {
    await Worker.runReplayHistory({ workflowsPath: require.resolve('../workflows') }, history, id);
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
  main(process.argv.slice(2), (s) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`)).then(
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
