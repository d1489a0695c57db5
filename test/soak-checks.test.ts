/**
 * Each of the soak's checks (bench/soak-checks.ts) can fail: a clean fabricated world passes, and one thing
 * broken at a time (a duplicate invoice, a payment missing on one side, a workflow failed, an activity
 * retrying with no stuck step, a job held without a reason, a job never exported) is reported by its check.
 */
import type { Pool } from 'pg';
import type { Rec } from '../bench/harness';
import type { Business, JobInfo } from '../bench/soak-business';
import { checkData, converge, judgeTemporal, MAX_SILENT_ATTEMPTS } from '../bench/soak-checks';
import type { RunningQuickBooksSimulator } from '../simulators/quickbooks';
import type { RunningServiceM8Simulator } from '../simulators/servicem8';

const JOB = '11111111-1111-4111-a111-111111111111';
const PAYMENT = '22222222-2222-4222-a222-222222222222';

/** A world where job JOB (total 100) is exported as invoice 1 and paid 40 on both sides. */
function world() {
  const sm8: Record<string, Rec[]> = {
    job: [
      {
        uuid: JOB,
        generated_job_id: 7,
        active: 1,
        status: 'Completed',
        payment_processed: 1,
        total_invoice_amount: '100.00',
      },
    ],
    jobpayment: [{ uuid: PAYMENT, job_uuid: JOB, amount: '40.00', active: 1, note: '' }],
  };
  const qbo: Record<string, Rec[]> = {
    Invoice: [{ Id: '1', DocNumber: '7', TotalAmt: 100, PrivateNote: `[sm8:job:${JOB}]` }],
    CreditMemo: [],
    Customer: [{ Id: '5', DisplayName: 'Acme' }],
    Item: [],
    Payment: [
      {
        Id: '9',
        PrivateNote: `[sm8:payment:${PAYMENT}]`,
        Line: [{ Amount: 40, LinkedTxn: [{ TxnId: '1', TxnType: 'Invoice' }] }],
      },
    ],
  };
  const db = {
    invoice_exports: [
      { job_uuid: JOB, state: 'EXPORTED', reason_code: null, reason_text: null, qbo_invoice_id: '1' },
    ] as Rec[],
    links: [{ entity_type: 'customer', sm8_uuid: 'client-1', qbo_id: '5', state: 'linked' }] as Rec[],
    job_notes: [] as Rec[],
  };
  const info: JobInfo = { uuid: JOB, kind: 'plain', client: 'client-1', acts: [] };
  const biz = {
    jobs: new Map([[JOB, info]]),
    qboCustomers: new Set<string>(),
    qboItems: new Set<string>(),
    sm8Clients: new Set<string>(),
    sm8Materials: new Set<string>(),
    acts: {},
    refused: [],
  } satisfies Business;
  const pool = {
    query: async (sql: string) => {
      const table = /FROM (\w+)/.exec(sql)?.[1] ?? '';
      return { rows: (db as Record<string, Rec[]>)[table] ?? [] };
    },
  } as unknown as Pool;
  const check = () =>
    checkData(
      pool,
      {
        control: { records: (t: string) => sm8[t] ?? [] },
        store: { get: (t: string, uuid: string) => sm8[t]?.find((r) => r.uuid === uuid) },
      } as unknown as RunningServiceM8Simulator,
      { control: { listRecords: (e: string) => qbo[e] ?? [] } } as unknown as RunningQuickBooksSimulator,
      biz,
    );
  return { sm8, qbo, db, info, check };
}

test('the clean world passes every data check', async () => {
  const v = await world().check();
  expect(v).toMatchObject({ failures: [], duplicates: 0, mismatchedSums: 0 });
  expect(v.outcomes).toEqual({ 'exported, equal total': 1 });
});

test('duplicates: a second QuickBooks invoice for the job, a customer nobody links', async () => {
  const w = world();
  w.qbo.Invoice!.push({ Id: '2', DocNumber: '7-b', TotalAmt: 100, PrivateNote: `[sm8:job:${JOB}]` });
  w.qbo.Customer!.push({ Id: '6', DisplayName: 'Acme (2)' });
  const v = await w.check();
  expect(v.duplicates).toBe(2);
  expect(v.failures).toEqual([
    `duplicate: 2 QuickBooks invoices (1, 2) for job ${JOB}`,
    'duplicate: QuickBooks Customer 6 "Acme (2)" was made by the product but is linked to no ServiceM8 record',
  ]);
});

test('duplicates: a ServiceM8 payment sent twice to QuickBooks', async () => {
  const w = world();
  w.qbo.Payment!.push({ ...w.qbo.Payment![0], Id: '10', Line: [] });
  const v = await w.check();
  expect(v.duplicates).toBe(1);
  expect(v.failures[0]).toMatch(/2 QuickBooks payments \(9, 10\) for ServiceM8 payment/);
});

test('payment sums: a QuickBooks payment never brought into ServiceM8', async () => {
  const w = world();
  w.qbo.Payment!.push({ Id: '11', Line: [{ Amount: 25, LinkedTxn: [{ TxnId: '1', TxnType: 'Invoice' }] }] });
  const v = await w.check();
  expect(v.mismatchedSums).toBe(1);
  expect(v.failures[0]).toMatch(/^payments of job .*: ServiceM8 40, QuickBooks invoice 1 65/);
});

test('payment sums: a ServiceM8 payment not in QuickBooks is held only with a job note naming it', async () => {
  const w = world();
  w.qbo.Payment = [];
  expect((await w.check()).mismatchedSums).toBe(1);
  w.db.job_notes.push({ job_uuid: JOB, note_key: `PAY-1:${PAYMENT}` });
  const v = await w.check();
  expect(v).toMatchObject({ failures: [], mismatchedSums: 0 });
  expect(v.paymentsHeld).toHaveLength(1);
});

test('held with a reason: a held job without a readable reason fails, with one it counts as held', async () => {
  const w = world();
  w.db.invoice_exports[0] = {
    ...w.db.invoice_exports[0],
    state: 'BLOCKED',
    reason_code: 'X',
    reason_text: '',
  };
  expect((await w.check()).failures).toEqual([
    expect.stringMatching(/^job 7 .*: BLOCKED without a readable reason \(X\)$/),
  ]);
  w.db.invoice_exports[0]!.reason_text = 'The client is inactive in QuickBooks';
  const v = await w.check();
  expect(v.outcomes).toEqual({ 'held: X': 1 });
  expect(v.heldByDesignOrNot).toHaveLength(1);
});

test('exports: a total that differs, a void nobody made', async () => {
  const w = world();
  w.qbo.Invoice![0]!.TotalAmt = 90;
  expect((await w.check()).failures[0]).toMatch(/QuickBooks invoice 1 totals 90, ServiceM8 100$/);
  w.db.invoice_exports[0]!.state = 'VOIDED_IN_QBO';
  expect((await w.check()).failures[0]).toMatch(/VOIDED_IN_QBO, but nobody voided/);
  w.info.acts.push('QuickBooks invoice 1 voided');
  expect((await w.check()).failures).toEqual([]);
});

test('TAX-3: a linked ServiceM8 tax rate still as ServiceM8 edited it fails; back at QuickBooks values it passes', async () => {
  const w = world();
  w.qbo.TaxRate = [{ Id: '3', RateValue: 10 }];
  w.qbo.TaxCode = [
    {
      Id: '4',
      Name: 'GST',
      Active: true,
      SalesTaxRateList: { TaxRateDetail: [{ TaxRateRef: { value: '3' } }] },
    },
  ];
  w.sm8.taxrate = [{ uuid: 'rate-1', name: 'GST', amount: '12.5000', active: 1 }];
  w.db.links.push({ entity_type: 'taxcode', sm8_uuid: 'rate-1', qbo_id: '4', state: 'linked' });
  expect((await w.check()).failures).toEqual([
    expect.stringMatching(
      /^ServiceM8 tax rate .*"amount":"12.5000".* \(rate-1\) differs from its QuickBooks tax code 4 .*"amount":"10.*an edit in ServiceM8 was not reverted \(TAX-3\)$/,
    ),
  ]);
  w.sm8.taxrate[0]!.amount = '10.0000';
  expect((await w.check()).failures).toEqual([]);
});

test("TOTAL_MISMATCH: the held line shows what ServiceM8's lines add up to at today's rates beside its stored total", async () => {
  const w = world();
  w.sm8.taxrate = [{ uuid: 'rate-1', name: 'GST', amount: '10.0000', active: 1 }];
  w.sm8.jobmaterial = [
    { uuid: 'l1', job_uuid: JOB, quantity: '2', price: '50.00', tax_rate_uuid: 'rate-1', active: 1 },
    { uuid: 'l2', job_uuid: JOB, quantity: '1', price: '9.00', tax_rate_uuid: 'rate-1', active: 0 },
  ];
  w.sm8.job![0]!.total_invoice_amount = '112.50';
  w.db.invoice_exports[0] = {
    ...w.db.invoice_exports[0],
    state: 'BLOCKED',
    reason_code: 'TOTAL_MISMATCH',
    reason_text: "ServiceM8's total does not add up from the job's lines.",
  };
  const v = await w.check();
  expect(v.heldByDesignOrNot[0]).toMatch(
    /\[ServiceM8's 1 active lines add up to 110 at today's rates, its stored total 112.5: 2×50.00 @10%\]$/,
  );
});

test('convergence: an approved job with no export state fails until it has one, or the cap passes', async () => {
  const w = world();
  const row = w.db.invoice_exports.pop()!;
  expect((await w.check()).failures[0]).toMatch(/approved, total 100, but the product has no export state/);

  const never = await converge(w.check, 60, 20);
  expect(never.convergedMs).toBeNull();
  expect(never.verdict.failures).toHaveLength(1);

  let calls = 0;
  const later = await converge(
    () => {
      if (++calls === 3) w.db.invoice_exports.push(row);
      return w.check();
    },
    1000,
    10,
  );
  expect(calls).toBe(3);
  expect(later.convergedMs).not.toBeNull();

  const throwing = await converge(() => Promise.reject(new Error('database restarting')), 30, 10);
  expect(throwing).toMatchObject({ convergedMs: null, verdict: { failures: ['database restarting'] } });
});

test('failed workflows and silent retries', () => {
  const ok = judgeTemporal([], [{ id: 'w1', type: 'invoice', status: 1 }], []);
  expect(ok).toMatchObject({ failures: [], failedWorkflows: 0, silentRetries: 0, running: 1 });

  const failed = judgeTemporal([{ id: 'w2', type: 'payments', status: 3 }], [], []);
  expect(failed.failedWorkflows).toBe(1);
  expect(failed.failures).toEqual([
    'workflow w2 (payments) ended with status 3 (3 failed, 5 terminated, 7 timed out)',
  ]);

  const retrying = {
    id: 'w3',
    type: 'invoice',
    status: 1,
    pending: [
      { type: 'exportInvoice', attempt: MAX_SILENT_ATTEMPTS + 1, lastFailure: 'HTTP 500' },
      { type: 'readJob', attempt: MAX_SILENT_ATTEMPTS },
    ],
  };
  const silent = judgeTemporal([], [retrying], []);
  expect(silent.silentRetries).toBe(1);
  expect(silent.failures).toEqual([
    `activity exportInvoice of w3 at attempt ${MAX_SILENT_ATTEMPTS + 1} with no stuck step saying why (HTTP 500)`,
  ]);
  const shown = judgeTemporal([], [retrying], [{ workflow_id: 'w3', activity_type: 'exportInvoice' }]);
  expect(shown).toMatchObject({ failures: [], silentRetries: 0, stuckSteps: 1 });
});
