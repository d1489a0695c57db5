/**
 * OPS-1 / OPS-2 through the real admin API and the `sm8qbo` CLI: list connections and blocked invoices
 * with their reasons, re-sync one record, show its workflow and links, export its history, replay it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { runCli, type CliIo } from '../client/cli';
import { cleanupInbox } from '../store/inbox';
import { signalInvoice } from '../routing/routes';
import { invoiceWorkflowId } from '../domain/workflow-ids';
import { isEncrypted } from '../infra/payload-codec';
import { invoiceStatusQuery } from '../workflows/messages';
import { TEST_PAYLOAD_KEYS, testEnv } from './helpers/env';
import { HISTORIES_DIR, payloadsIn } from './helpers/histories';
import { startTestRelay, withTestRelay } from './helpers/relay';
import { Sm8Fixtures } from './helpers/sm8-fixtures';
import { startWorld, type World } from './helpers/world';
import { freePort } from '../infra/ports';
import { openConnectLink } from '../workers/demo';
import { waitFor, waitUntil } from './helpers/wait';

const TOKEN = 'admin-test-token-0123456789';
let w: World;
let f: Sm8Fixtures;
let blockedJob: string;
let exportedJob: string;

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return cliWith({}, '--url', w.apiUrl, ...args);
}

/** Runs the CLI with `io` (its environment: the test's plus ADMIN_TOKEN unless io.env says otherwise). */
async function cliWith(io: CliIo, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const lines: string[] = [];
  const errors: string[] = [];
  // The token comes from the environment, never argv (where `ps` shows it).
  const code = await runCli(args, (s) => lines.push(s), {
    env: { ...process.env, ADMIN_TOKEN: TOKEN },
    err: (s) => errors.push(s),
    ...io,
  });
  return { code, out: lines.join('\n'), err: errors.join('\n') };
}

async function settled(jobUuid: string, state: string): Promise<void> {
  const handle = w.h.client.workflow.getHandle(invoiceWorkflowId('ops', jobUuid));
  await waitUntil(
    `job ${jobUuid} to reach ${state}`,
    () => handle.query(invoiceStatusQuery),
    (s) => s.idle && s.state === state,
  );
}

beforeAll(async () => {
  process.env.TEMPORAL_ADDRESS = testEnv.temporalAddress; // the CLI's replay talks to this server
  process.env.PAYLOAD_ENCRYPTION_KEYS = TEST_PAYLOAD_KEYS; // and decrypts its payloads with the workers' key
  // Refused inputs are logged as warnings; keep the output readable.
  w = await startWorld({ env: { ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'error' } });
  f = new Sm8Fixtures(w.sm8);
  f.taxRate('GST', '10');
  f.taxRate('GST 15%', '15');
  await w.connect('ops');
  const client = f.client('Ops Test Ltd');
  exportedJob = f.job({ clientUuid: client, lines: [{ name: 'Labour', qty: '1', unit: '100', tax: 'GST' }] });
  blockedJob = f.job({
    clientUuid: client,
    lines: [{ name: 'Labour', qty: '1', unit: '100', tax: 'GST 15%' }],
  });
  await signalInvoice(w.h.client, w.h.taskQueue, 'ops', exportedJob, 'sm8JobChanged');
  await signalInvoice(w.h.client, w.h.taskQueue, 'ops', blockedJob, 'sm8JobChanged');
  await settled(exportedJob, 'EXPORTED');
  await settled(blockedJob, 'BLOCKED');
});
afterAll(async () => {
  await w.close();
});

describe('OPS-2: admin API and CLI', () => {
  it('OPS-2: the admin API refuses requests without the admin token', async () => {
    const res = await axios.get(`${w.apiUrl}/admin/connections`, { validateStatus: () => true });
    expect(res.status).toBe(401);
    expect(res.data.error).toMatch(/admin token required/);
  });

  it('OPS-2: lists connections with their health, as a table and as JSON', async () => {
    const human = await cli('connections');
    expect(human.code).toBe(0);
    expect(human.out).toMatch(/^id\s+name\s+status/);
    expect(human.out).toMatch(/ops\s+ops\s+active/);
    const json = JSON.parse((await cli('--json', 'connections')).out) as Array<{
      id: string;
      invoices: Record<string, number>;
    }>;
    expect(json.find((c) => c.id === 'ops')?.invoices).toMatchObject({ EXPORTED: 1, BLOCKED: 1 });
  });

  it('OPS-2: lists export errors with their reason', async () => {
    const json = JSON.parse(
      (await cli('--json', 'invoices', '--connection', 'ops', '--state', 'blocked')).out,
    ) as Array<Record<string, string>>;
    expect(json).toHaveLength(1);
    expect(json[0]).toMatchObject({
      job_uuid: blockedJob,
      state: 'BLOCKED',
      reason_code: 'TAX_RATE_UNMAPPED',
    });
    expect(json[0]?.reason_text).toContain('GST 15%');
    const human = await cli('invoices', '--connection', 'ops', '--state', 'BLOCKED');
    expect(human.out).toContain('TAX_RATE_UNMAPPED');
    // The reason is longer than a column (60): cut with an ellipsis, never silently.
    const row = human.out.split('\n').find((l) => l.includes(blockedJob)) as string;
    expect(row).toMatch(/Line "Labour" uses tax rate "GST 15%".{20,}…$/);
  });

  it('OPS-2: an unknown invoice state is refused by the API with the valid ones; the CLI prints that sentence (exit 2)', async () => {
    const raw = await axios.get(`${w.apiUrl}/admin/invoices?state=LOST`, {
      headers: { Authorization: `Bearer ${TOKEN}` },
      validateStatus: () => true,
    });
    const sentence =
      'querystring/state must be one of "NOT_APPROVED", "ZERO_VALUE", "BLOCKED", "EXPORTED", "RESYNC_BLOCKED", "NEEDS_ATTENTION_IN_QBO", "VOIDED_IN_QBO", "DELETED_IN_QBO", "WAITING_FOR_REAUTH", "STUCK" (got "LOST")';
    expect({ status: raw.status, body: raw.data }).toEqual({ status: 400, body: { error: sentence } });
    expect(await cli('invoices', '--state', 'lost')).toEqual({ code: 2, out: '', err: `error: ${sentence}` });
  });

  it('OPS-2: show explains a blocked job in words: state, reason, totals, workflow and its Web UI link', async () => {
    const r = await cli('show', 'ops', blockedJob);
    expect(r.code).toBe(0);
    const id = invoiceWorkflowId('ops', blockedJob);
    expect(r.out.split('\n')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^Job ${blockedJob} \\(ServiceM8 job \\d+\\) on connection ops$`)),
        '  Invoice      BLOCKED: approved, but it cannot be exported: see the reason',
        expect.stringMatching(
          /^ {2}Reason {7}Line "Labour" uses tax rate "GST 15%" which does not exist in QuickBooks: .* \(TAX_RATE_UNMAPPED\)$/,
        ),
        '  QuickBooks   no invoice',
        expect.stringMatching(new RegExp(`^ {2}Workflow {5}${id} {2}RUNNING, \\d+ sync\\(s\\)`)),
        `               http://127.0.0.1:8233/namespaces/default/workflows/${encodeURIComponent(id)}`,
        'Payments',
        '  no payments linked',
      ]),
    );
  });

  it('OPS-2: show on an unknown connection or job says so and exits 3', async () => {
    expect(await cli('show', 'nope', blockedJob)).toEqual({
      code: 3,
      out: '',
      err: 'error: no connection "nope"',
    });
    const unknown = await cli('show', 'ops', '00000000-0000-4000-8000-000000000000');
    expect(unknown).toMatchObject({ code: 3, out: '' });
    expect(unknown.err).toMatch(
      /^error: connection "ops" has no record of job "00000000-0000-4000-8000-000000000000": the sync has not seen it/,
    );
    expect(await cli('--json', 'show', 'nope', blockedJob)).toMatchObject({ code: 3, out: '' });
  });

  it('OPS-2: an API that does not answer is one sentence naming it (exit 1), no errno and no stack', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    expect(await cliWith({}, '--url', url, 'connections')).toEqual({
      code: 1,
      out: '',
      err: `error: cannot reach the sync API at ${url}: is \`npm start\` (or \`npm run api\`) running? Set --url or PORT`,
    });
  });

  it('OPS-2: a refused or missing admin token exits 4 with what to do', async () => {
    const wrong = await cliWith(
      { env: { ...process.env, ADMIN_TOKEN: 'not-the-token-0123456789' } },
      '--url',
      w.apiUrl,
      'connections',
    );
    expect(wrong).toEqual({
      code: 4,
      out: '',
      err: 'error: the sync API refused the admin token (the admin token is not valid: send Authorization: Bearer <ADMIN_TOKEN>): set ADMIN_TOKEN to the token the API uses',
    });
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm8qbo-notoken-'));
    const { ADMIN_TOKEN: _unused, ...withoutToken } = process.env;
    const none = await cliWith(
      { env: { ...withoutToken, DATA_DIR: dataDir } },
      '--url',
      w.apiUrl,
      'connections',
    );
    expect(none).toEqual({
      code: 4,
      out: '',
      err: `error: no admin token: set ADMIN_TOKEN, or run sm8qbo where \`npm start\` (or \`npm run api\`) wrote ${path.join(dataDir, 'admin.token')} (DATA_DIR)`,
    });
  });

  it('OPS-2: on a terminal, tables fit its width and cut cells end with "…"', async () => {
    const wide = await cli('connections');
    expect(Math.max(...wide.out.split('\n').map((l) => l.length))).toBeGreaterThan(50);
    const narrow = await cliWith({ columns: 50 }, '--url', w.apiUrl, 'connections');
    expect(narrow.code).toBe(0);
    const lines = narrow.out.split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(50);
    expect(lines.find((l) => l.startsWith('ops '))).toMatch(/…/);
  });

  it('OPS-2: re-syncs one record on demand, which picks up the fix', async () => {
    w.qbo.control.upsertTaxCode(
      { Name: 'GST 15%', RateValue: 15 },
      (await w.h.deps.store.require('ops')).qboRealmId ?? undefined,
    );
    const r = await cli('--json', 'resync', 'ops', blockedJob);
    expect(JSON.parse(r.out)).toMatchObject({
      workflowId: invoiceWorkflowId('ops', blockedJob),
      signalled: 'resync',
    });
    await settled(blockedJob, 'EXPORTED');
    const human = await cli('show', 'ops', blockedJob);
    const invoiceId = (
      await w.h.pool.query('SELECT qbo_invoice_id FROM invoice_exports WHERE job_uuid = $1', [blockedJob])
    ).rows[0]?.qbo_invoice_id as string;
    expect(human.out).toContain('  Invoice      EXPORTED: in QuickBooks and in step with ServiceM8\n');
    expect(human.out).toContain(`  QuickBooks   invoice ${invoiceId}\n`);
    expect(human.out).toContain('  Totals       ServiceM8 115.00, QuickBooks 115.00, last synced 115.00\n');
    expect(human.out).toContain(
      `  Link         ServiceM8 ${blockedJob} = QuickBooks ${invoiceId} (linked)\n`,
    );
    expect(human.out).not.toContain('Reason');
    const show = JSON.parse((await cli('--json', 'show', 'ops', blockedJob)).out) as Record<string, unknown>;
    expect(show).toMatchObject({
      workflowId: invoiceWorkflowId('ops', blockedJob),
      // Issue 12: an owner whose invoice is settled ends (the next event starts it again).
      workflowStatus: 'COMPLETED',
      status: { state: 'EXPORTED' },
      link: { entityType: 'invoice', sm8Uuid: blockedJob },
    });
  });

  it('OPS-2: exports a history for a bug report and replays it against the current code', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sm8qbo-hist-')), 'history.json');
    const exported = await cli('history', invoiceWorkflowId('ops', exportedJob), '--out', out);
    expect(exported.code).toBe(0);
    const file = fs.readFileSync(out, 'utf8');
    expect(JSON.parse(file).events.length).toBeGreaterThan(5);
    // A bug report carries no personal data: its payloads stay encrypted (search attributes and patch markers
    // hold ids only).
    const stored = payloadsIn(historyFromJSON(JSON.parse(file)).events).filter(
      ({ at }) => !/searchAttributes|patch-data/.test(at),
    );
    // (Issue 12: a lean run's history is short, one activity per pass: input, activity input and result,
    // memo, workflow result.)
    expect(stored.length).toBeGreaterThanOrEqual(4);
    expect(stored.filter(({ payload }) => !isEncrypted(payload)).map(({ at }) => at)).toEqual([]);
    const fromServer = await cli('replay', invoiceWorkflowId('ops', exportedJob));
    expect(fromServer).toMatchObject({ code: 0 });
    expect(fromServer.out).toContain('replays deterministically');
    const fromFile = await cli('--json', 'replay', '--file', out);
    expect(JSON.parse(fromFile.out)).toMatchObject({ deterministic: true });
    // Without the key the CLI says so, rather than calling the history non-deterministic.
    process.env.PAYLOAD_ENCRYPTION_KEYS = `other:${Buffer.alloc(32, 1).toString('base64')}`;
    try {
      const refused = await cli('replay', '--file', out);
      expect(refused.code).toBe(1);
      expect(refused.err).toMatch(
        /^error: cannot replay history.json: This history is encrypted with key "test", which is not in PAYLOAD_ENCRYPTION_KEYS/,
      );
    } finally {
      process.env.PAYLOAD_ENCRYPTION_KEYS = TEST_PAYLOAD_KEYS;
    }
  });

  it('OPS-2: replay detects a deliberately non-deterministic change', async () => {
    // The recorded health-check history with its activity renamed: the current code schedules another one.
    const history = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, 'health-check.json'), 'utf8'));
    for (const e of history.events) {
      const attrs = e.activityTaskScheduledEventAttributes;
      if (attrs?.activityType) attrs.activityType.name = 'somethingElse';
    }
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sm8qbo-nd-')), 'changed.json');
    fs.writeFileSync(file, JSON.stringify(history));
    const r = await cli('replay', '--file', file);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/NOT deterministic/);
  });

  it('OPS-2: a bad command, option or missing argument is one usage sentence with a suggestion (exit 2)', async () => {
    expect(await cli('invoices', '--conection', 'ops')).toEqual({
      code: 2,
      out: '',
      err: 'error: unknown option --conection; did you mean --connection? (see `sm8qbo help invoices`)',
    });
    expect(await cli('invoice')).toEqual({
      code: 2,
      out: '',
      err: 'error: unknown command invoice; did you mean invoices? (see `sm8qbo help`)',
    });
    expect(await cli('demo', 'aprove', 'x')).toMatchObject({
      code: 2,
      err: 'error: unknown command aprove; did you mean approve? (see `sm8qbo help demo`)',
    });
    expect(await cli('resync', 'ops')).toMatchObject({
      code: 2,
      err: "error: missing required argument 'job' (see `sm8qbo help resync`)",
    });
    expect(await cli('frobnicate')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/unknown command frobnicate/),
    });
    // No command at all: the overview, on stderr, as a usage error.
    const bare = await cliWith({});
    expect(bare.code).toBe(2);
    expect(bare.err).toContain('Commands:');
  });

  it('OPS-2: every command has its help with examples (`help X` = `X --help`), the overview lists the exit codes, --version the package version', async () => {
    const viaHelp = await cli('help', 'invoices');
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.out).toMatch(/^Usage: sm8qbo invoices \[options\]/);
    expect(viaHelp.out).toContain('--state <state>');
    expect(viaHelp.out).toMatch(/Examples:\n {2}sm8qbo invoices --state blocked/);
    expect(await cli('invoices', '--help')).toEqual(viaHelp);
    const nested = await cli('help', 'demo', 'add-line');
    expect(nested).toMatchObject({ code: 0, out: expect.stringMatching(/^Usage: sm8qbo demo add-line/) });
    expect(nested.out).toContain('sm8qbo demo add-line $JOB --name "Extra part" --price 25');
    const overview = await cli('--help');
    expect(overview.code).toBe(0);
    expect(overview.out).toMatch(
      /Exit codes:\n {2}0 {2}done\n {2}1 {2}failed.*\n {2}2 {2}usage.*\n {2}3 {2}not found.*\n {2}4 {2}no admin token/,
    );
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(await cli('--version')).toEqual({ code: 0, out: pkg.version, err: '' });
  });
});

describe('SEC-5: the CLI keeps the admin token off the command line', () => {
  it('SEC-5: --token is refused with the reason, and so is any unknown option (never ignored)', async () => {
    expect(await cli('--token', TOKEN, 'connections')).toMatchObject({
      code: 2,
      out: '',
      err: expect.stringMatching(
        /^error: --token is not accepted \(a token on the command line is visible to other users in `ps`\): set ADMIN_TOKEN/,
      ),
    });
    expect((await cli('--token=x', 'connections')).err).toMatch(/--token is not accepted/);
    expect(await cli('--verbose', 'connections')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/^error: unknown option --verbose/),
    });
    expect(await cli('invoices', '--state')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/option '--state <state>' argument missing/),
    });
  });

  it('SEC-5: sm8qbo connect quickbooks <connection> --name N prints a single-use link that connects it', async () => {
    const printed = await cli('connect', 'quickbooks', 'ops-cli', '--name', 'Ops CLI');
    expect(printed.code).toBe(0);
    const link = printed.out.split('\n')[1] as string;
    expect(printed.out.split('\n')[0]).toMatch(
      /^Open this link in a browser before \d{4}-.*Z \(it works once\):$/,
    );
    expect(link).toMatch(new RegExp(`^${w.apiUrl}/connect/quickbooks/start\\?link=`));
    const realm = w.qbo.control.createRealm({ companyName: 'ops-cli' });
    const opened = await openConnectLink(link, { realmId: realm });
    const done = await axios.get(opened.callbackUrl, { headers: { Cookie: opened.cookie } });
    expect(done.data).toMatchObject({ connected: 'quickbooks', connection: 'ops-cli', realmId: realm });
    expect(await w.h.deps.store.require('ops-cli')).toMatchObject({ name: 'Ops CLI', qboRealmId: realm });
    expect(await cli('connect', 'xero', 'ops-cli')).toMatchObject({
      code: 2,
      err: expect.stringMatching(
        /'xero' is invalid for argument 'service'. Allowed choices are quickbooks, servicem8/,
      ),
    });
  });
});

describe('OPS-2: admin input is validated before anything happens', () => {
  const admin = { headers: { Authorization: `Bearer ${TOKEN}` }, validateStatus: () => true };

  it('OPS-2: malformed query strings and path parameters get 400 naming the field; nothing changes', async () => {
    const cases: Array<[string, string, string]> = [
      ['get', '/admin/invoices?limit=lots', 'querystring/limit must be integer (got "lots")'],
      [
        'get',
        '/admin/invoices?state=blocked',
        'querystring/state must be one of "NOT_APPROVED", "ZERO_VALUE", "BLOCKED", "EXPORTED", "RESYNC_BLOCKED", "NEEDS_ATTENTION_IN_QBO", "VOIDED_IN_QBO", "DELETED_IN_QBO", "WAITING_FOR_REAUTH", "STUCK" (got "blocked")',
      ],
      [
        'get',
        '/admin/inbox?state=lost',
        'querystring/state must be one of "pending", "routed", "unrouted", "failed" (got "lost")',
      ],
      ['get', '/admin/inbox?limit=0', 'querystring/limit must be >= 1 (got 0)'],
      ['post', '/admin/inbox/12a/retry', 'params/id must match pattern "^[0-9]{1,18}$" (got "12a")'],
      [
        'post',
        '/admin/connections/Ops!/pause',
        'params/id must match pattern "^[a-z0-9][a-z0-9-]{0,62}$" (got "Ops!")',
      ],
      [
        'post',
        `/admin/invoices/ops/${encodeURIComponent('not a uuid')}/resync`,
        'params/jobUuid must match pattern "^[A-Za-z0-9-]{1,64}$" (got "not a uuid")',
      ],
    ];
    for (const [method, path, message] of cases) {
      const res =
        method === 'get'
          ? await axios.get(`${w.apiUrl}${path}`, admin)
          : await axios.post(`${w.apiUrl}${path}`, {}, admin);
      expect({ path, status: res.status, body: res.data }).toEqual({
        path,
        status: 400,
        body: { error: message },
      });
    }
    expect((await w.h.deps.store.require('ops')).status).toBe('active');
    // The token is checked first: a stranger learns nothing about the inputs.
    const stranger = await axios.get(`${w.apiUrl}/admin/inbox?state=lost`, { validateStatus: () => true });
    expect(stranger.status).toBe(401);
  });
});

describe('OPS-2: the webhook inbox', () => {
  const seededEvents = new Map<string, string>(); // inbox id -> event id
  /**
   * Inbox rows as if received `ageDays` ago (routed ones routed then too; others last attempted
   * `touchedDays` ago, by default when received); returns their ids by key.
   */
  async function seed(
    rows: Array<{
      key: string;
      state: string;
      ageDays: number;
      touchedDays?: number;
      entity?: string;
      entityId?: string;
    }>,
  ): Promise<Record<string, string>> {
    const ids: Record<string, string> = {};
    const run = `${Date.now()}`;
    for (const r of rows) {
      const eventId = `ops-test:${run}:${r.key}`;
      const age = `now() - make_interval(days => ${r.ageDays})`;
      // Pending rows are not due during the test (no relay routes them); the others were tried back then.
      const touched =
        r.state === 'pending'
          ? `now() + interval '1 day'`
          : `now() - make_interval(days => ${r.touchedDays ?? r.ageDays})`;
      await w.h.pool.query(
        `INSERT INTO webhook_events (source, event_id, received_at) VALUES ('sm8', $1, ${age})`,
        [eventId],
      );
      const inserted = await w.h.pool.query<{ id: string }>(
        `INSERT INTO webhook_inbox (source, connection_id, event_id, entity, entity_id, payload, state, attempts,
                                    last_error, received_at, routed_at, next_attempt_at)
         VALUES ('sm8', 'ops', $1, $2, $3, '{}'::jsonb, $4, $5, $6, ${age},
                 CASE WHEN $4 = 'routed' THEN ${age} END, ${touched})
         RETURNING id::text`,
        [
          eventId,
          r.entity ?? 'jobactivity',
          r.entityId ?? r.key,
          r.state,
          r.state === 'failed' ? 1 : 0,
          r.state === 'failed' ? 'PermanentRoutingError: test' : null,
        ],
      );
      ids[r.key] = inserted.rows[0]?.id as string;
      seededEvents.set(ids[r.key] as string, eventId);
    }
    return ids;
  }

  const stateOf = async (id: string) =>
    (await w.h.pool.query<{ state: string }>('SELECT state FROM webhook_inbox WHERE id = $1', [id])).rows[0]
      ?.state ?? 'deleted';
  /** How many of these rows' dedupe ids (webhook_events) are left. */
  const eventsLeft = async (ids: Record<string, string>) =>
    (
      await w.h.pool.query('SELECT 1 FROM webhook_events WHERE event_id = ANY($1::text[])', [
        Object.values(ids).map((id) => seededEvents.get(id)),
      ])
    ).rowCount;

  it('OPS-2: lists inbox events by state and connection with the counts, as a table and as JSON', async () => {
    const ids = await seed([
      { key: 'list-failed', state: 'failed', ageDays: 0 },
      { key: 'list-unrouted', state: 'unrouted', ageDays: 0 },
    ]);
    const json = JSON.parse(
      (await cli('--json', 'inbox', '--state', 'failed', '--connection', 'ops')).out,
    ) as {
      counts: Record<string, number>;
      rows: Array<Record<string, unknown>>;
    };
    expect(json.rows.map((r) => r.state)).toEqual(json.rows.map(() => 'failed'));
    expect(json.rows.find((r) => r.id === ids['list-failed'])).toMatchObject({
      source: 'sm8',
      connectionId: 'ops',
      entity: 'jobactivity',
      entityId: 'list-failed',
      state: 'failed',
      attempts: 1,
      lastError: 'PermanentRoutingError: test',
      routedAt: null,
      receivedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(json.counts.failed).toBeGreaterThanOrEqual(1);
    expect(json.counts.unrouted).toBeGreaterThanOrEqual(1);
    expect(Object.keys(json.counts).sort()).toEqual(['failed', 'pending', 'routed', 'unrouted']);
    const human = await cli('inbox', '--state', 'unrouted');
    expect(human.out).toMatch(/pending: \d+ {3}routed: \d+ {3}unrouted: \d+ {3}failed: \d+/);
    expect(human.out).toMatch(/^id\s+source\s+connectionId\s+entity/m);
    expect(human.out).toContain('list-unrouted');
    expect(human.out).not.toContain('list-failed');
  });

  it('OPS-2: a failed event is put back to pending and the relay routes it; other states are refused', async () => {
    const ids = await seed([
      { key: 'retry-failed', state: 'failed', ageDays: 0, entity: 'job', entityId: exportedJob },
      { key: 'retry-routed', state: 'routed', ageDays: 0 },
      { key: 'retry-unrouted', state: 'unrouted', ageDays: 0 },
    ]);
    const retried = JSON.parse((await cli('--json', 'inbox', 'retry', ids['retry-failed'] as string)).out);
    expect(retried).toEqual({
      retried: true,
      id: ids['retry-failed'],
      previousState: 'failed',
      state: 'pending',
    });
    expect(await stateOf(ids['retry-failed'] as string)).toBe('pending');
    expect(
      JSON.parse((await cli('--json', 'inbox', 'retry', ids['retry-unrouted'] as string)).out),
    ).toMatchObject({
      retried: true,
      previousState: 'unrouted',
    });
    expect(await cli('inbox', 'retry', ids['retry-routed'] as string)).toMatchObject({
      code: 1,
      err: expect.stringMatching(
        /^error: inbox event \d+ is routed: only failed or unrouted events can be retried$/,
      ),
    });
    expect(await cli('inbox', 'retry', '999999999999')).toMatchObject({
      code: 3,
      err: 'error: no inbox event 999999999999',
    });
    expect(await cli('inbox', 'retry')).toMatchObject({
      code: 2,
      err: "error: missing required argument 'id' (see `sm8qbo help inbox retry`)",
    });

    await withTestRelay(
      w,
      async () => {
        await waitFor(
          'the retried row to be routed',
          async () => (await stateOf(ids['retry-failed'] as string)) === 'routed',
          30_000,
        );
      },
      { connections: ['ops'] },
    );
    const row = await w.h.pool.query('SELECT state, routed_to FROM webhook_inbox WHERE id = $1', [
      ids['retry-failed'],
    ]);
    expect(row.rows[0]).toEqual({ state: 'routed', routed_to: invoiceWorkflowId('ops', exportedJob) });
    // No owner for ServiceM8 job activities (scheduling is never synced): the relay keeps it, now as failed with the reason.
    const unrouted = await w.h.pool.query('SELECT state, last_error FROM webhook_inbox WHERE id = $1', [
      ids['retry-unrouted'],
    ]);
    expect(unrouted.rows[0]).toEqual({
      state: 'failed',
      last_error: 'PermanentRoutingError: no workflow owns sm8 jobactivity events yet',
    });
  });

  it('OPS-2: retention deletes routed events after INBOX_RETENTION_DAYS, failed and unrouted ones after INBOX_FAILED_RETENTION_DAYS, expired OAuth states after a day, never pending events, at most once an hour', async () => {
    const ids = await seed([
      { key: 'old-routed', state: 'routed', ageDays: 20 },
      { key: 'new-routed', state: 'routed', ageDays: 1 },
      { key: 'old-pending', state: 'pending', ageDays: 45 },
      { key: 'old-failed', state: 'failed', ageDays: 20 },
      { key: 'old-unrouted', state: 'unrouted', ageDays: 20 },
      { key: 'ancient-failed', state: 'failed', ageDays: 45 },
      { key: 'ancient-unrouted', state: 'unrouted', ageDays: 45 },
      // Received long ago but retried (and failed again) yesterday: support is still looking at it.
      { key: 'retried-failed', state: 'failed', ageDays: 45, touchedDays: 1 },
    ]);
    const run = Date.now();
    const states = { expired: `ops-old-${run}`, recent: `ops-recent-${run}`, live: `ops-live-${run}` };
    await w.h.pool.query(
      `INSERT INTO oauth_states (state, provider, connection_id, expires_at) VALUES
         ($1, 'qbo', 'ops', now() - interval '2 days'), ($2, 'qbo', 'ops', now() - interval '1 hour'),
         ($3, 'qbo', 'ops', now() + interval '10 minutes')`,
      [states.expired, states.recent, states.live],
    );
    const eventsBefore = await eventsLeft(ids);
    // A clean-up scoped to other connections (another test world's relay) leaves these rows alone.
    expect(await cleanupInbox(w.h.pool, { routedDays: 14, failedDays: 30 }, ['another-world'])).toEqual({
      inbox: 0,
      dedupeIds: 0,
      failed: 0,
    });
    // The relay cleans up as it starts (14 and 30 days' retention), then not again within the hour.
    const stopRelay = startTestRelay(w, { connections: ['ops'], intervalMs: 50 });
    let late: Record<string, string> = {};
    try {
      // Until the clean-up pass is over: its last step deletes expired OAuth states (its first deletes routed
      // rows; seeding while its later steps run had them delete the new row's dedupe id).
      const expiredLeft = async () =>
        (await w.h.pool.query('SELECT 1 FROM oauth_states WHERE state = $1', [states.expired])).rowCount;
      await waitFor('the clean-up pass to end', async () => !(await expiredLeft()), 10_000);
      late = await seed([{ key: 'late-routed', state: 'routed', ageDays: 20 }]);
      await new Promise((r) => setTimeout(r, 500)); // ten relay passes
      expect(await stateOf(late['late-routed'] as string)).toBe('routed');
    } finally {
      await stopRelay();
    }
    const after = Object.fromEntries(
      await Promise.all(Object.entries(ids).map(async ([k, id]) => [k, await stateOf(id)])),
    );
    expect(after).toEqual({
      'old-routed': 'deleted',
      'new-routed': 'routed',
      'old-pending': 'pending',
      'old-failed': 'failed',
      'old-unrouted': 'unrouted',
      'ancient-failed': 'deleted',
      'ancient-unrouted': 'deleted',
      'retried-failed': 'failed',
    });
    const statesLeft = await w.h.pool.query<{ state: string }>(
      'SELECT state FROM oauth_states WHERE state = ANY($1::text[]) ORDER BY state',
      [Object.values(states)],
    );
    expect(statesLeft.rows.map((r) => r.state).sort()).toEqual([states.live, states.recent].sort());
    // Dedupe ids: every one older than 14 days went, the recent one stayed.
    expect(eventsBefore).toBe(8);
    expect(await eventsLeft(ids)).toBe(1);
    // Called directly (what the relay calls hourly): the late row goes too.
    expect(await cleanupInbox(w.h.pool, { routedDays: 14, failedDays: 30 })).toEqual({
      inbox: 1,
      dedupeIds: 1,
      failed: 0,
    });
    expect(await stateOf(late['late-routed'] as string)).toBe('deleted');
  });
});

describe('OPS-1: workflows are findable by readable id and search attributes', () => {
  it('OPS-1: "job X of connection Y" is one visibility query away, with its state', async () => {
    const ids = await waitFor('the exported invoice in visibility', async () => {
      const found: string[] = [];
      for await (const wf of w.h.client.workflow.list({
        query: `ConnectionId = "ops" AND EntityType = "invoice" AND Sm8Uuid = "${exportedJob}" AND SyncState = "EXPORTED"`,
      })) {
        found.push(wf.workflowId);
      }
      return found.length ? found : undefined;
    });
    // (Each run of the owner is listed: issue 12's owners end when settled and the next event starts another.)
    expect([...new Set(ids)]).toEqual([`invoice/ops/${exportedJob}`]);
  });
});
