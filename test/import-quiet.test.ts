/**
 * Issue 12, CM-1 then CM-2: a record onboarding just brought in is in sync, so its owner, when something wakes
 * it later (the first regular poll after onboarding sees every imported record as changed, long after the
 * echo window), writes nothing to either side. The 500 + 500 budget run saw 232 QuickBooks customer updates
 * and 505 record reads after an import, and an idle window spending 59,000 ServiceM8 calls a day, all from
 * owners woken after the import finding a difference that was not there.
 * Both simulators, the real Temporal server, no webhooks (nothing announces anything: the test wakes owners).
 */
import crypto from 'node:crypto';
import { ACCOUNT_IDS, AU_TAX_CODE_IDS } from '../simulators/quickbooks';
import { customerWorkflowId, itemWorkflowId, onboardingWorkflowId } from '../domain/workflow-ids';
import { signalClientMaterial } from '../routing/clients-materials';
import { clientMaterialStatusQuery } from '../workflows/messages';
import { pollConnectionWorkflow } from '../workflows/poll';
import { shiftSm8Time } from '../activities/support/polling';
import { Sm8Fixtures } from './helpers/sm8-fixtures';
import { startWorld, type World } from './helpers/world';
import { untilSettled, waitUntil } from './helpers/wait';

const CONN = 'import-quiet';
let w: World;
let realm: string;

const newRealmId = () => `9341${String(crypto.randomInt(0, 1e12)).padStart(12, '0')}`;

beforeAll(async () => {
  w = await startWorld({ onboarding: true });
  new Sm8Fixtures(w.sm8).taxRate('GST', '10');
  // The import is 5 minutes old when the poll sees it (ServiceM8's clock runs 5 minutes behind meanwhile).
  w.sm8.control.clock.advance(-5 * 60_000);
  realm = w.qbo.control.createRealm({ companyName: 'Quiet Trades', realmId: newRealmId() });
  // The budget bench's shapes, and the richer ones a bookkeeper's list holds.
  for (let i = 0; i < 4; i += 1)
    w.qbo.control.upsertRecord(
      'Customer',
      {
        DisplayName: `Quiet Customer ${i}`,
        CompanyName: `Quiet Customer ${i}`,
        PrimaryEmailAddr: { Address: `accounts+${i}@quiet.example` },
      },
      realm,
    );
  w.qbo.control.upsertRecord(
    'Customer',
    {
      DisplayName: 'Quiet Plumbing Pty Ltd',
      GivenName: 'Pat',
      FamilyName: 'Quiet',
      PrimaryEmailAddr: { Address: 'pat@quiet.example' },
      PrimaryPhone: { FreeFormNumber: '02 9000 1234' },
      BillAddr: { Line1: '1 Quiet St', City: 'Sydney', CountrySubDivisionCode: 'NSW', PostalCode: '2000' },
    },
    realm,
  );
  for (let i = 0; i < 4; i += 1)
    w.qbo.control.upsertRecord(
      'Item',
      {
        Name: `Quiet Part ${i}`,
        Type: 'NonInventory',
        Description: `Quiet part ${i}`,
        UnitPrice: 10 + i,
        IncomeAccountRef: { value: ACCOUNT_IDS.sales },
        SalesTaxCodeRef: { value: AU_TAX_CODE_IDS.gst },
      },
      realm,
    );
  w.qbo.control.upsertRecord(
    'Item',
    {
      Name: 'Quiet Labour',
      Type: 'Service',
      UnitPrice: 95,
      IncomeAccountRef: { value: ACCOUNT_IDS.services },
    },
    realm,
  );
  await w.connect(CONN, { realmId: realm });
  await w.h.client.workflow.getHandle(onboardingWorkflowId(CONN)).result();
  w.sm8.control.clock.advance(5 * 60_000);
}, 120_000);
afterAll(async () => {
  await w.close();
});

const settled = () => untilSettled(w, CONN);

describe('CM-1 then CM-2: an imported record is in sync', () => {
  it('CM-2: the first regular poll after onboarding sees every imported record as changed (past the echo window), and wakes no owner, reads no record, writes nothing', async () => {
    await settled();
    // The product polls at once when a connection is made (the account's tax rates, QuickBooks' records):
    // that pass is not measured. Then the clients', contacts' and materials' watermarks are put back to
    // before the import, where the pass at connect left them while onboarding had not written yet.
    await w.h.client.workflow.execute(pollConnectionWorkflow, {
      workflowId: `poll/${CONN}/at-connect`,
      taskQueue: w.h.taskQueue,
      args: [{ connectionId: CONN }],
    });
    await settled();
    const marks = await w.h.pool.query<{ stream: string; value: string }>(
      `SELECT stream, value FROM watermarks WHERE connection_id = $1
          AND stream IN ('sm8:company', 'sm8:companycontact', 'sm8:material')`,
      [CONN],
    );
    expect(marks.rows).toHaveLength(3);
    for (const m of marks.rows) {
      await w.h.pool.query(`UPDATE watermarks SET value = $3 WHERE connection_id = $1 AND stream = $2`, [
        CONN,
        m.stream,
        shiftSm8Time(m.value, -10 * 60_000),
      ]);
      await w.h.pool.query(`DELETE FROM watermarks WHERE connection_id = $1 AND stream = $2`, [
        CONN,
        `${m.stream}:seen`,
      ]);
    }
    // As far as the echo window is concerned, the import was minutes ago (ServiceM8's clock ran 5 minutes
    // behind while onboarding wrote, so the records' edit dates are as old as the import).
    await w.h.pool.query(
      `UPDATE cm_written_state SET written_at = written_at - interval '5 minutes' WHERE connection_id = $1`,
      [CONN],
    );
    const sm8Seq = Math.max(0, ...w.sm8.control.calls.list().map((c) => c.seq));
    const qboCount = w.qbo.control.calls().length;
    const startedAt = new Date().toISOString();
    const pass = await w.h.client.workflow.execute(pollConnectionWorkflow, {
      workflowId: `poll/${CONN}/manual-${crypto.randomUUID()}`,
      taskQueue: w.h.taskQueue,
      args: [{ connectionId: CONN }],
    });
    await settled();
    const workflows: string[] = [];
    for await (const wf of w.h.client.workflow.list({
      query: `ConnectionId = "${CONN}" AND StartTime > "${startedAt}"`,
    }))
      if (!wf.workflowId.startsWith('poll/')) workflows.push(wf.workflowId);
    const sm8Calls = w.sm8.control.calls
      .list()
      .filter((c) => c.seq > sm8Seq && c.object !== undefined && c.operation !== 'list')
      .map((c) => `${c.operation} ${c.object}`);
    const qboCalls = w.qbo.control
      .calls()
      .slice(qboCount)
      .filter((c) => c.realmId === realm && !/\/cdc/.test(c.endpoint))
      .map((c) => c.endpoint);
    expect(pass.sm8?.read ?? 0).toBeGreaterThanOrEqual(10); // the pass did see the imported records
    expect({ workflows, sm8Calls, qboCalls }).toEqual({ workflows: [], sm8Calls: [], qboCalls: [] });
  }, 180_000);

  it.each([
    ['its copies of the records kept (the cache)', false],
    ['no copy kept (it reads both sides from the APIs)', true],
  ])(
    'CM-2: every owner woken after onboarding, with %s, writes nothing to either side',
    async (_, cold) => {
      if (cold) await w.h.pool.query('DELETE FROM cm_record_cache WHERE connection_id = $1', [CONN]);
      const links = [
        ...(await w.h.deps.links.all(CONN, 'customer')).map((l) => ({ kind: 'customer' as const, id: l.id })),
        ...(await w.h.deps.links.all(CONN, 'item')).map((l) => ({ kind: 'item' as const, id: l.id })),
      ];
      expect(links.length).toBeGreaterThanOrEqual(10);
      const sm8Seq = Math.max(0, ...w.sm8.control.calls.list().map((c) => c.seq));
      const qboCount = w.qbo.control.calls().length;
      const snapshot = () =>
        new Map(
          ['Customer', 'Item'].flatMap((e) =>
            w.qbo.control.listRecords(e, realm).map((r) => [`${e} ${String(r.Id)}`, r] as const),
          ),
        );
      const before = snapshot();

      for (const l of links) await signalClientMaterial(w.h.client, w.h.taskQueue, l.kind, CONN, l.id);
      for (const l of links) {
        const id = l.kind === 'customer' ? customerWorkflowId(CONN, l.id) : itemWorkflowId(CONN, l.id);
        await waitUntil(
          `the owner of ${id}`,
          () => w.h.client.workflow.getHandle(id).query(clientMaterialStatusQuery),
          (s) => s.idle && s.syncs > 0,
          60_000,
        );
      }

      const sm8Writes = w.sm8.control.calls
        .list()
        .filter((c) => c.seq > sm8Seq && ['create', 'update', 'delete'].includes(String(c.operation)))
        .map((c) => `${c.method} ${c.path}`);
      const qboWrites = w.qbo.control
        .calls()
        .slice(qboCount)
        .filter((c) => c.realmId === realm && c.method === 'POST' && !/\/query|\/cdc/.test(c.endpoint))
        .map((c) => `${c.method} ${c.endpoint}`);
      // What a write changed, field by field, so a failure says which field the import got wrong.
      const changed: string[] = [];
      for (const [key, now] of snapshot()) {
        const was = before.get(key) ?? {};
        for (const f of new Set([...Object.keys(was), ...Object.keys(now)]))
          if (!['SyncToken', 'MetaData'].includes(f) && JSON.stringify(was[f]) !== JSON.stringify(now[f]))
            changed.push(`${key}.${f}: ${JSON.stringify(was[f])} -> ${JSON.stringify(now[f])}`);
      }
      expect({ sm8Writes, qboWrites, changed }).toEqual({ sm8Writes: [], qboWrites: [], changed: [] });
    },
    180_000,
  );
});
