/**
 * The commands that operate connections and records through the admin API: connect, connections, pause,
 * resume, disconnect, invoices, resync, inbox, history. Tables for people, `--json` for scripts.
 */
import fs from 'node:fs';
import { Argument, type Command } from 'commander';
import { CliError, ExitCode, type CliContext } from './context';
import { table } from './output';

/** Appends an "Examples" section to a command's help. */
export function examples(cmd: Command, lines: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
}

const enc = encodeURIComponent;

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

export function registerAdminCommands(program: Command, ctx: CliContext): void {
  const print = (data: unknown, human: string | (() => string)) =>
    ctx.out(ctx.json ? JSON.stringify(data, null, 2) : typeof human === 'string' ? human : human());
  const tableOf = (rows: unknown, columns: string[]) =>
    table(rows as Array<Record<string, unknown>>, columns, { width: ctx.io.columns });

  examples(
    program
      .command('connect')
      .description('print a connect link to open in a browser (once, within 10 minutes)')
      .addArgument(new Argument('<service>', 'the side to connect').choices(['quickbooks', 'servicem8']))
      .argument('<connection>', 'the connection id (created if new, reconnected otherwise)')
      .option('--name <name>', "the connection's display name")
      .action(async (service: string, connection: string, opts: { name?: string }) => {
        const body = { connection, ...(opts.name ? { name: opts.name } : {}) };
        const { data } = await ctx
          .api()
          .post<{ url: string; expiresAt: string }>(`/connect/${service}`, body);
        ctx.out(
          ctx.json
            ? JSON.stringify(data)
            : `Open this link in a browser before ${data.expiresAt} (it works once):\n${data.url}`,
        );
      }),
    ['sm8qbo connect quickbooks acme --name "Acme Plumbing"', 'sm8qbo connect servicem8 acme'],
  );

  examples(
    program
      .command('connections')
      .description('list connections and their health')
      .action(async () => {
        const { data } = await ctx.api().get('/admin/connections');
        print(data, () => tableOf(data, ['id', 'name', 'status', 'statusReason', 'qboRealmId', 'invoices']));
      }),
    ['sm8qbo connections', 'sm8qbo connections --json'],
  );

  const actions = {
    pause: 'stop syncing a connection (its workflows wait)',
    resume: 'resume a paused connection (its waiting workflows carry on)',
    disconnect: "forget a connection's credentials and revoke QuickBooks' (links and history stay)",
  } as const;
  for (const [action, description] of Object.entries(actions)) {
    examples(
      program
        .command(action)
        .description(description)
        .argument('<connection>', 'the connection id')
        .action(async (connection: string) => {
          const { data } = await ctx.api().post<{
            id: string;
            status: string;
            resumedWorkflows: number;
            qboRevoked?: boolean;
            warning?: string;
          }>(`/admin/connections/${enc(connection)}/${action}`, {});
          print(data, () => {
            const lines = [`connection ${data.id} is ${data.status}`];
            if (action === 'resume') lines.push(`${data.resumedWorkflows} waiting workflow(s) woken`);
            if (data.qboRevoked) lines.push('the QuickBooks authorisation was revoked at Intuit');
            if (data.warning) lines.push(`warning: ${data.warning}`);
            return lines.join('\n');
          });
        }),
      [`sm8qbo ${action} acme`],
    );
  }

  examples(
    program
      .command('invoices')
      .description('list invoices by sync state, with the reason when one is not in QuickBooks')
      .option('--connection <connection>', 'only this connection')
      .option('--state <state>', 'only this state, e.g. BLOCKED or STUCK (any case)')
      .option('--limit <n>', 'at most this many, newest first (default 200)')
      .action(async (opts: { connection?: string; state?: string; limit?: string }) => {
        const params: Record<string, string> = {};
        if (opts.connection) params.connection = opts.connection;
        if (opts.state) params.state = opts.state.toUpperCase();
        if (opts.limit) params.limit = opts.limit;
        const { data } = await ctx.api().get('/admin/invoices', { params });
        print(data, () =>
          tableOf(data, [
            'connection_id',
            'generated_job_id',
            'job_uuid',
            'state',
            'reason_code',
            'qbo_invoice_id',
            'reason_text',
          ]),
        );
      }),
    [
      'sm8qbo invoices --state blocked',
      'sm8qbo invoices --connection acme --state EXPORTED --limit 20',
      'sm8qbo invoices --json | jq \'.[] | select(.reason_code == "TAX_RATE_UNMAPPED")\'',
    ],
  );

  examples(
    program
      .command('resync')
      .description("re-sync one job's invoice now (after fixing what blocked it)")
      .argument('<connection>', 'the connection id')
      .argument('<job>', 'the ServiceM8 job uuid')
      .action(async (connection: string, job: string) => {
        const { data } = await ctx
          .api()
          .post<{ workflowId: string }>(`/admin/invoices/${enc(connection)}/${enc(job)}/resync`, {});
        print(
          data,
          `re-sync asked of ${data.workflowId}: \`sm8qbo show ${connection} ${job}\` shows the outcome`,
        );
      }),
    ['sm8qbo resync acme 5f1c2b8e-0c4d-4e7a-9a57-1d2e3f4a5b6c'],
  );

  const inbox = examples(
    program
      .command('inbox')
      .description('webhook events in the inbox (pending, routed, unrouted, failed) with the counts by state')
      .option('--state <state>', 'pending, routed, unrouted or failed')
      .option('--connection <connection>', 'only this connection')
      .option('--limit <n>', 'at most this many, newest first (default 100)')
      .allowExcessArguments()
      .action(async (opts: { state?: string; connection?: string; limit?: string }, cmd: Command) => {
        if (cmd.args.length)
          throw new CliError(
            ExitCode.usage,
            `unknown inbox command "${cmd.args[0]}": \`sm8qbo inbox\` lists, \`sm8qbo inbox retry <id>\` retries`,
          );
        const params: Record<string, string> = {};
        if (opts.state) params.state = opts.state.toLowerCase();
        if (opts.connection) params.connection = opts.connection;
        if (opts.limit) params.limit = opts.limit;
        const { data } = await ctx
          .api()
          .get<{ counts: Record<string, number>; rows: unknown[] }>('/admin/inbox', { params });
        print(data, () =>
          [
            Object.entries(data.counts)
              .map(([state, n]) => `${state}: ${n}`)
              .join('   '),
            tableOf(data.rows, INBOX_COLUMNS),
          ].join('\n'),
        );
      }),
    ['sm8qbo inbox --state failed', 'sm8qbo inbox --connection acme --limit 20', 'sm8qbo inbox retry 42'],
  );
  examples(
    inbox
      .command('retry')
      .description('put a failed or unrouted webhook event back in the queue (the relay routes it)')
      .argument('<id>', 'the event id (first column of `sm8qbo inbox`)')
      .action(async (id: string) => {
        const { data } = await ctx.api().post<{ previousState: string }>(`/admin/inbox/${enc(id)}/retry`, {});
        print(data, `inbox event ${id} was ${data.previousState}, now pending: the relay routes it shortly`);
      }),
    ['sm8qbo inbox retry 42'],
  );

  examples(
    program
      .command('history')
      .description("export a workflow's history (JSON; payloads stay encrypted) for a bug report")
      .argument('<workflow>', 'the workflow id, e.g. invoice/acme/<job uuid>')
      .option('--out <file>', 'write it to this file instead of stdout')
      .action(async (workflow: string, opts: { out?: string }) => {
        const res = await ctx
          .api()
          .get(`/admin/workflows/${enc(workflow)}/history`, { responseType: 'text' });
        if (opts.out) {
          fs.writeFileSync(opts.out, String(res.data));
          ctx.out(ctx.json ? JSON.stringify({ written: opts.out }) : `history written to ${opts.out}`);
        } else ctx.out(String(res.data));
      }),
    ['sm8qbo history invoice/acme/5f1c2b8e-0c4d-4e7a-9a57-1d2e3f4a5b6c --out history.json'],
  );
}
