/**
 * OPS-1 / OPS-2 through the real admin API and the `sm8qbo` CLI: list connections and blocked invoices
 * with their reasons, re-sync one record, show its workflow and links, export its history, replay it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { runCli } from '../client/cli';
import { signalInvoice } from '../client/routing';
import { invoiceWorkflowId } from '../domain/workflow-ids';
import { invoiceStatusQuery } from '../workflows/invoice';
import { testEnv } from './helpers/env';
import { HISTORIES_DIR } from './helpers/histories';
import { Sm8Fixtures } from './helpers/sm8-fixtures';
import { startWorld, type World } from './helpers/world';

const TOKEN = 'admin-test-token-0123456789';
let w: World;
let f: Sm8Fixtures;
let blockedJob: string;
let exportedJob: string;

async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runCli(['--url', w.apiUrl, '--token', TOKEN, ...args], (s) => lines.push(s));
  return { code, out: lines.join('\n') };
}

async function settled(jobUuid: string, state: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const s = await w.h.client.workflow
      .getHandle(invoiceWorkflowId('ops', jobUuid))
      .query(invoiceStatusQuery)
      .catch(() => null);
    if (s?.idle && s.state === state) return;
    if (Date.now() > deadline) throw new Error(`job ${jobUuid} never reached ${state}: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  process.env.TEMPORAL_ADDRESS = testEnv.temporalAddress; // the CLI's replay talks to this server
  w = await startWorld({ env: { ADMIN_TOKEN: TOKEN } });
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
    const show = JSON.parse((await cli('--json', 'show', 'ops', blockedJob)).out) as Record<string, unknown>;
    expect(show).toMatchObject({
      workflowId: invoiceWorkflowId('ops', blockedJob),
      workflowStatus: 'RUNNING',
      status: { state: 'EXPORTED' },
      link: { entityType: 'invoice', sm8Uuid: blockedJob },
    });
  });

  it('OPS-2: exports a history for a bug report and replays it against the current code', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sm8qbo-hist-')), 'history.json');
    const exported = await cli('history', invoiceWorkflowId('ops', exportedJob), '--out', out);
    expect(exported.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).events.length).toBeGreaterThan(5);
    const fromServer = await cli('replay', invoiceWorkflowId('ops', exportedJob));
    expect(fromServer).toMatchObject({ code: 0 });
    expect(fromServer.out).toContain('replays deterministically');
    const fromFile = await cli('--json', 'replay', '--file', out);
    expect(JSON.parse(fromFile.out)).toMatchObject({ deterministic: true });
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

  it('OPS-2: a bad command or missing argument gets a clear usage error', async () => {
    await expect(cli('resync', 'ops')).rejects.toThrow(/usage: sm8qbo resync <connection> <job uuid>/);
    await expect(cli('frobnicate')).rejects.toThrow(/unknown command "frobnicate"/);
    expect((await cli('--help')).out).toContain('Commands');
  });
});

describe('OPS-1: workflows are findable by readable id and search attributes', () => {
  it('OPS-1: "job X of connection Y" is one visibility query away, with its state', async () => {
    const ids: string[] = [];
    const deadline = Date.now() + 15_000;
    while (!ids.length && Date.now() < deadline) {
      for await (const wf of w.h.client.workflow.list({
        query: `ConnectionId = "ops" AND EntityType = "invoice" AND Sm8Uuid = "${exportedJob}" AND SyncState = "EXPORTED"`,
      })) {
        ids.push(wf.workflowId);
      }
      if (!ids.length) await new Promise((r) => setTimeout(r, 300));
    }
    expect(ids).toEqual([`invoice/ops/${exportedJob}`]);
  });
});
