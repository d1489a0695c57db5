/**
 * TAX-1 … TAX-3 end to end: QuickBooks simulator tax codes -> tax sync (activity, tax-poll workflow, tax
 * owner workflow woken by the ServiceM8 poll) -> ServiceM8 simulator tax rates, and an invoice using an
 * imported rate back to QuickBooks. One connection, so the tests run in order on one ServiceM8 account.
 */
import crypto from 'node:crypto';
import { createTaxActivities, type TaxSyncResult } from '../activities/tax';
import { signalInvoice } from '../routing/routes';
import { invoiceWorkflowId, taxWorkflowId } from '../domain/workflow-ids';
import type { Json } from '../simulators/quickbooks/types';
import {
  invoiceStatusQuery,
  taxStatusQuery,
  type InvoiceStatus,
  type TaxStatus,
} from '../workflows/messages';
import { pollConnectionWorkflow, taxPollWorkflow } from '../workflows/poll';
import { Sm8Fixtures } from './helpers/sm8-fixtures';
import { startWorld, type World } from './helpers/world';
import { waitFor } from './helpers/wait';

let w: World;
let f: Sm8Fixtures;
let realm: string;
let sync: () => Promise<TaxSyncResult>;
const CONN = 'tax';
/** QuickBooks' GST/QST-style code with two sales rates (5 % + 9.975 %). */
let multiCodeId: string;

beforeAll(async () => {
  w = await startWorld();
  f = new Sm8Fixtures(w.sm8);
  // ServiceM8 before integration: QuickBooks' GST entered by hand (other case), and a rate of its own.
  f.taxRate('gst', '10');
  f.taxRate('Special 7%', '7');
  realm = (await w.connect(CONN)).realmId;
  const r1 = w.qbo.control.upsertRecord('TaxRate', { Name: 'GST QC (sales)', RateValue: 5 }, realm);
  const r2 = w.qbo.control.upsertRecord('TaxRate', { Name: 'QST (sales)', RateValue: 9.975 }, realm);
  multiCodeId = String(
    w.qbo.control.upsertRecord(
      'TaxCode',
      {
        Name: 'GST/QST',
        Taxable: true,
        TaxGroup: true,
        SalesTaxRateList: {
          TaxRateDetail: [
            { TaxRateRef: { value: r1.Id }, TaxTypeApplicable: 'TaxOnAmount', TaxOrder: 0 },
            { TaxRateRef: { value: r2.Id }, TaxTypeApplicable: 'TaxOnAmount', TaxOrder: 1 },
          ],
        },
        PurchaseTaxRateList: { TaxRateDetail: [] },
      },
      realm,
    ).Id,
  );
  const acts = createTaxActivities(w.h.deps);
  sync = () => acts.syncTaxCodes({ connectionId: CONN });
});
afterAll(async () => {
  await w.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Rate = { uuid: string; name: string; amount: string; active: number };
const sm8Rates = (): Rate[] => w.sm8.store.list('taxrate') as unknown as Rate[];
const named = (name: string) => sm8Rates().filter((r) => r.name === name);
const rate = (uuid: string): Rate => {
  const r = sm8Rates().find((x) => x.uuid === uuid);
  if (!r) throw new Error(`no ServiceM8 tax rate ${uuid}`);
  return r;
};
async function linkOf(
  qboId: string,
): Promise<{ sm8_uuid: string; sm8_fingerprint: string | null } | undefined> {
  const r = await w.h.pool.query<{ sm8_uuid: string; sm8_fingerprint: string | null }>(
    `SELECT sm8_uuid, sm8_fingerprint FROM links WHERE connection_id = $1 AND entity_type = 'taxcode' AND qbo_id = $2`,
    [CONN, qboId],
  );
  return r.rows[0];
}
async function audit(action: string) {
  const r = await w.h.pool.query<{ entity_ref: string; detail: Record<string, unknown> }>(
    `SELECT entity_ref, detail FROM audit_log WHERE connection_id = $1 AND action = $2 ORDER BY id`,
    [CONN, action],
  );
  return r.rows;
}
const taxPoll = () =>
  w.h.client.workflow.execute(taxPollWorkflow, {
    workflowId: `tax-poll/${CONN}/manual-${crypto.randomUUID()}`,
    taskQueue: w.h.taskQueue,
    args: [{ connectionId: CONN }],
  });

describe('TAX-1: import on integration', () => {
  it('TAX-1: active codes become ServiceM8 rates (multi-rate summed), a same-name-and-rate rate is linked, not duplicated', async () => {
    const r = await sync();
    // GST -> the hand-made "gst" (linked, QuickBooks' name wins); GST Free and GST/QST created; "Special 7%"
    // exists only in ServiceM8 (TAX-3); "GST on non-capital" (purchases only) and "Out Of Scope" have no
    // sales rate and are not imported.
    expect(r).toMatchObject({ linked: 1, created: 2, deactivated: 1, updated: 0, reverted: 0, failed: 0 });

    const gstUuid = f.taxRates.gst as string;
    expect(rate(gstUuid)).toMatchObject({ name: 'GST', amount: '10.0000', active: 1 });
    expect(named('GST')).toHaveLength(1);
    expect((await linkOf('4'))?.sm8_uuid).toBe(gstUuid);
    expect((await linkOf('4'))?.sm8_fingerprint).toBeTruthy();

    const [multi] = named('GST/QST');
    expect(multi).toMatchObject({ amount: '14.9750', active: 1 });
    expect((await linkOf(multiCodeId))?.sm8_uuid).toBe(multi?.uuid);
    expect(named('GST Free')).toEqual([expect.objectContaining({ amount: '0.0000', active: 1 })]);
    expect((await linkOf('5'))?.sm8_uuid).toBe(named('GST Free')[0]?.uuid);
    expect(named('GST on non-capital')).toHaveLength(0);
    expect(named('Out Of Scope')).toHaveLength(0);
    expect(rate(f.taxRates['Special 7%'] as string).active).toBe(0);

    // Idempotent: a second pass writes nothing.
    const again = await sync();
    expect(again).toMatchObject({ created: 0, updated: 0, deactivated: 0, linked: 0, reverted: 0 });
    expect(again.unchanged).toBe(sm8Rates().length);
  });

  it('TAX-1: two concurrent syncTaxCodes of one connection give one rate and one link per code', async () => {
    const code = w.qbo.control.upsertTaxCode({ Name: 'Export', RateValue: 0 }, realm);
    const before = sm8Rates().length;
    const [a, b] = await Promise.all([sync(), sync()]);
    expect(a.created + b.created).toBe(1);
    expect(named('Export')).toHaveLength(1);
    expect(sm8Rates().length).toBe(before + 1);
    expect((await linkOf(String(code.Id)))?.sm8_uuid).toBe(named('Export')[0]?.uuid);
    const links = await w.h.pool.query(
      `SELECT count(*)::int AS n FROM links WHERE connection_id = $1 AND entity_type = 'taxcode' AND qbo_id = $2`,
      [CONN, String(code.Id)],
    );
    expect(links.rows[0]).toEqual({ n: 1 });
  });

  it('TAX-1: a create whose answer is lost is finished by the retry: one rate, under the linked uuid', async () => {
    const code = w.qbo.control.upsertTaxCode({ Name: 'Lost Answer 3%', RateValue: 3 }, realm);
    w.sm8.control.faults.add({
      method: 'POST',
      path: '/api_1.0/taxrate.json',
      commitThenDrop: true,
      count: 3, // every send: the client sends a failed call again twice (apis/transient-retry.ts)
    });
    await expect(sync()).rejects.toThrow();
    expect(named('Lost Answer 3%')).toHaveLength(1); // ServiceM8 made it; we never heard
    const r = await sync();
    expect(r).toMatchObject({ created: 0, failed: 0 });
    expect(named('Lost Answer 3%')).toEqual([expect.objectContaining({ amount: '3.0000', active: 1 })]);
    const link = await linkOf(String(code.Id));
    expect(link?.sm8_uuid).toBe(named('Lost Answer 3%')[0]?.uuid);
    expect(link?.sm8_fingerprint).toBeTruthy();
  });

  it('TAX-1: an invoice using an imported rate exports with the linked TaxCodeRef, total to the cent', async () => {
    const multi = named('GST/QST')[0] as Rate;
    const client = f.client('Imported Tax Rate Ltd');
    const job = f.job({
      clientUuid: client,
      lines: [{ name: 'Labour', qty: '1', unit: '200', tax: multi.uuid }],
    });
    await signalInvoice(w.h.client, w.h.taskQueue, CONN, job, 'sm8JobChanged');
    const s = await waitFor('the export', async () => {
      const x = await w.h.client.workflow
        .getHandle(invoiceWorkflowId(CONN, job))
        .query(invoiceStatusQuery)
        .catch(() => undefined as InvoiceStatus | undefined);
      return x?.idle && x.state !== 'NOT_APPROVED' ? x : undefined;
    });
    expect(s.state).toBe('EXPORTED');
    const inv = w.qbo.store.get('Invoice', String(s.qboInvoiceId), realm) as Json;
    const lines = (inv.Line as Json[]).filter((l) => l.DetailType === 'SalesItemLineDetail');
    expect(
      lines.map((l) => (l.SalesItemLineDetail as { TaxCodeRef: { value: string } }).TaxCodeRef.value),
    ).toEqual([multiCodeId]);
    expect(inv.TotalAmt).toBe(229.95);
  });
});

describe('TAX-2: QuickBooks changes flow to ServiceM8 by the tax poll', () => {
  it('TAX-2: a new, a changed (name and rate) and an inactivated code reach ServiceM8 in one tax-poll pass', async () => {
    const multiUuid = (named('GST/QST')[0] as Rate).uuid;
    const exportUuid = (named('Export')[0] as Rate).uuid;
    w.qbo.control.upsertTaxCode({ Name: 'Luxury Car', RateValue: 33 }, realm);
    w.qbo.control.upsertTaxCode({ Id: multiCodeId, Name: 'GST+QST QC', RateValue: 15 }, realm);
    const exportCode = w.qbo.control.listRecords('TaxCode', realm).find((c) => c.Name === 'Export') as Json;
    w.qbo.control.upsertTaxCode({ Id: String(exportCode.Id), Active: false }, realm);

    const r = await taxPoll();
    expect(r).toMatchObject({ connectionId: CONN, created: 1, updated: 1, deactivated: 1, failed: 0 });
    expect(r.skipped).toBeUndefined();
    expect(named('Luxury Car')).toEqual([expect.objectContaining({ amount: '33.0000', active: 1 })]);
    expect(rate(multiUuid)).toMatchObject({ name: 'GST+QST QC', amount: '15.0000', active: 1 });
    expect(rate(exportUuid).active).toBe(0);

    const quiet = await taxPoll();
    expect(quiet).toMatchObject({ created: 0, updated: 0, deactivated: 0, reverted: 0 });
  });
});

describe('TAX-3: ServiceM8 cannot change tax settings while integrated', () => {
  async function taxStatus(): Promise<TaxStatus | undefined> {
    return w.h.client.workflow
      .getHandle(taxWorkflowId(CONN))
      .query(taxStatusQuery)
      .catch(() => undefined);
  }
  const poll = () =>
    w.h.client.workflow.execute(pollConnectionWorkflow, {
      workflowId: `poll/${CONN}/manual-${crypto.randomUUID()}`,
      taskQueue: w.h.taskQueue,
      args: [{ connectionId: CONN }],
    });

  it('TAX-3: an SM8 edit of a linked rate is reverted and an SM8-made rate deactivated, both logged; our own writes do not loop', async () => {
    expect(w.sm8.control.webhooks.subscriptions().map((s) => s.object)).toContain('taxrate');
    const gstUuid = f.taxRates.gst as string;
    await sleep(1100); // ServiceM8 edit dates have one-second resolution
    w.sm8.control.update('taxrate', gstUuid, { name: 'GST (old)', amount: '12.5' });
    const madeUuid = crypto.randomUUID();
    w.sm8.control.insert('taxrate', { uuid: madeUuid, name: 'Mates Rates', amount: '5', active: 1 });

    // The ServiceM8 poll (what a missed webhook falls back to) wakes the connection's tax owner.
    const p = await poll();
    expect(p.sm8?.routedIds).toEqual(expect.arrayContaining([gstUuid, madeUuid]));
    await waitFor('the revert', () => rate(gstUuid).name === 'GST' && rate(madeUuid).active === 0);
    expect(rate(gstUuid)).toMatchObject({ name: 'GST', amount: '10.0000', active: 1 });
    expect(rate(madeUuid)).toMatchObject({ name: 'Mates Rates', active: 0 });
    // The pass writes its audit rows after its ServiceM8 writes: read them once the pass is over.
    const settled = await waitFor('the tax owner idle', async () => {
      const s = await taxStatus();
      return s?.idle ? s : undefined;
    });

    expect(await audit('tax_reverted')).toEqual([
      {
        entity_ref: gstUuid,
        detail: expect.objectContaining({
          rule: 'TAX-3',
          qboTaxCodeId: '4',
          before: { name: 'GST (old)', amount: '12.5000', active: true },
          after: { name: 'GST', amount: '10.0000', active: true },
        }),
      },
    ]);
    expect(await audit('tax_deactivated')).toContainEqual({
      entity_ref: madeUuid,
      detail: expect.objectContaining({
        rule: 'TAX-3',
        before: { name: 'Mates Rates', amount: '5.0000', active: true },
        after: { name: 'Mates Rates', amount: '5.0000', active: false },
      }),
    });

    // Our own writes come back (the next poll sees their edit_date) and cost one pass that writes nothing.
    await sleep(1100);
    const echo = await poll();
    expect(echo.sm8?.routedIds).toEqual(expect.arrayContaining([gstUuid, madeUuid]));
    const after = await waitFor('the echo pass', async () => {
      const s = await taxStatus();
      return s?.idle && s.passes > settled.passes ? s : undefined;
    });
    expect(after.last).toMatchObject({ created: 0, updated: 0, deactivated: 0, reverted: 0, linked: 0 });
    await sleep(1100);
    const quiet = await poll();
    expect(quiet.sm8?.routedIds ?? []).not.toContain(gstUuid);
    expect((await audit('tax_reverted')).length).toBe(1);
  });

  it('TAX-3: an invoice held for the edited rate looks again once the rate is reverted, and its reason says what is true then', async () => {
    const gstUuid = f.taxRates.gst as string;
    await sleep(1100);
    w.sm8.control.update('taxrate', gstUuid, { amount: '12.5' });
    // The job's lines are saved while GST is 12.5 % in ServiceM8: its total is computed at that rate.
    const job = f.job({
      clientUuid: f.client('Edited Rate Plumbing'),
      lines: [{ name: 'Labour', qty: '1', unit: '100', tax: gstUuid }],
    });
    expect(f.get('job', job).total_invoice_amount).toBe('112.5000');
    const held = async (text: RegExp) => {
      const r = await w.h.pool.query<{ state: string; reason_text: string | null }>(
        'SELECT state, reason_text FROM invoice_exports WHERE connection_id = $1 AND job_uuid = $2',
        [CONN, job],
      );
      const row = r.rows[0];
      return row?.state === 'BLOCKED' && text.test(row.reason_text ?? '') ? row : undefined;
    };
    await signalInvoice(w.h.client, w.h.taskQueue, CONN, job, 'sm8JobChanged');
    await waitFor('the hold naming the edited rate', () =>
      held(
        /ServiceM8 112\.50, QuickBooks 110\.00.*tax rate "GST" is 12\.5% in ServiceM8 but its QuickBooks tax code is 10%/,
      ),
    );
    // The tax poll puts QuickBooks' 10 % back; the invoice's own retry would come a minute later (INV-3).
    const started = Date.now();
    await taxPoll();
    expect(rate(gstUuid).amount).toBe('10.0000');
    await waitFor(
      'the hold saying the total does not add up',
      () =>
        held(/ServiceM8 112\.50, QuickBooks 110\.00.*ServiceM8's total does not add up from the job's lines/),
      30_000,
    );
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

describe('TAX-4: US companies', () => {
  it('TAX-4: a US company is not tax-synced: ServiceM8 rates are left exactly as they are', async () => {
    const usRealm = w.qbo.control.createRealm({ country: 'US', realmId: `9341${Date.now()}` });
    await w.connect('taxus', { realmId: usRealm });
    const before = JSON.stringify(sm8Rates());
    const r = await createTaxActivities(w.h.deps).syncTaxCodes({ connectionId: 'taxus' });
    expect(r.skipped).toMatch(/US company/);
    expect(r).toMatchObject({ created: 0, updated: 0, deactivated: 0, linked: 0, reverted: 0 });
    expect(JSON.stringify(sm8Rates())).toBe(before);
  });
});

describe('TAX-3 by webhook', () => {
  let hw: World;
  const HOOK = 'taxhook';
  beforeAll(async () => {
    hw = await startWorld({ webhooks: true });
    new Sm8Fixtures(hw.sm8).taxRate('GST', '10');
    await hw.connect(HOOK);
    await createTaxActivities(hw.h.deps).syncTaxCodes({ connectionId: HOOK });
  });
  afterAll(async () => {
    await hw.close();
  });

  it('TAX-3: a ServiceM8 edit of a linked rate arrives by webhook, wakes tax/<connection> and is reverted within seconds, once', async () => {
    const rates = () => hw.sm8.store.list('taxrate') as unknown as Rate[];
    const gst = rates().find((r) => r.name === 'GST') as Rate;
    await sleep(1100); // a distinct edit_date (one-second resolution) for a distinct webhook event
    const started = Date.now();
    hw.sm8.control.update('taxrate', gst.uuid, { amount: '11' });
    await waitFor('the revert', () => rates().find((r) => r.uuid === gst.uuid)?.amount === '10.0000', 30_000);
    process.stdout.write(`TAX-3: SM8 edit -> reverted via webhook in ${Date.now() - started} ms\n`);
    const routed = await hw.h.pool.query<{ routed_to: string }>(
      `SELECT routed_to FROM webhook_inbox WHERE connection_id = $1 AND entity = 'taxrate' AND entity_id = $2`,
      [HOOK, gst.uuid],
    );
    expect(routed.rows.map((r) => r.routed_to)).toContain(taxWorkflowId(HOOK));
    // Our revert is itself a ServiceM8 change (webhook again): it costs a pass that writes nothing.
    await sleep(3000);
    const reverts = await hw.h.pool.query(
      `SELECT detail FROM audit_log WHERE connection_id = $1 AND action = 'tax_reverted'`,
      [HOOK],
    );
    expect(reverts.rows).toEqual([
      {
        detail: expect.objectContaining({
          before: { name: 'GST', amount: '11.0000', active: true },
          after: { name: 'GST', amount: '10.0000', active: true },
        }),
      },
    ]);
    expect(rates().find((r) => r.uuid === gst.uuid)).toMatchObject({ amount: '10.0000', active: 1 });
  });
});
