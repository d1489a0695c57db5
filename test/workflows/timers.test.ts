/**
 * The owners' timer logic in virtual time (test/workflows/virtual-time.ts): the real workflow functions with
 * fake activities, so a week of idling or two hundred hourly retries take milliseconds. INV-3: a blocked
 * invoice is looked at again after 1, 5 and 15 minutes, then hourly, and exports once the cause is fixed
 * without anyone pressing a button; INV-9: a run hands over after 200 syncs carrying its state; owners end
 * when idle (invoice after 7 days, tax after 1 hour) and an event in between starts the wait again.
 */
jest.mock('@temporalio/workflow', () => jest.requireActual('./virtual-time').workflowApi);

import type { Sm8Job, Sm8JobMaterial, Sm8TaxRate } from '../../domain/servicem8-types';
import type { TaxCodeLink } from '../../domain/invoice/plan';
import type {
  InvoiceStatus,
  InvoiceWorkflowInput,
  PaymentsStatus,
  PaymentsWorkflowInput,
  TaxStatus,
  TaxWorkflowInput,
} from '../../workflows/messages';
import { invoiceWorkflow } from '../../workflows/invoice';
import { paymentsWorkflow } from '../../workflows/payments';
import { taxWorkflow } from '../../workflows/tax';
import { ContinuedAsNew, world } from './virtual-time';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const job: Sm8Job = {
  uuid: 'job-1',
  active: 1,
  status: 'Completed',
  company_uuid: 'company-1',
  generated_job_id: '1042',
  completion_date: '2026-11-20 15:30:00',
  payment_processed: 1,
  invoice_sent: 0,
  total_invoice_amount: '112.0000',
};
const line: Sm8JobMaterial = {
  uuid: 'jm-1',
  active: 1,
  job_uuid: 'job-1',
  material_uuid: 'mat-1',
  name: 'Labour',
  quantity: '1.0000',
  price: '100.0000',
  displayed_amount: '100.0000',
  displayed_amount_is_tax_inclusive: '0',
  tax_rate_uuid: 'tax-12',
  sort_order: '1',
};
const taxRates: Record<string, Sm8TaxRate> = {
  'tax-12': { uuid: 'tax-12', name: 'GST 12%', amount: '12.0000', active: 1 },
};
const mapped: Record<string, TaxCodeLink> = { 'tax-12': { qboTaxCodeId: '12', ratePercent: '12' } };

/** Fake invoice activities: the job's tax rate has a QuickBooks code only from `fixedAt` on. */
function invoiceActivities(fixedAt: number) {
  const calls: string[] = [];
  const saved: string[] = [];
  const log =
    <T>(name: string, answer: (input: Record<string, unknown>) => T) =>
    async (input: unknown) => {
      calls.push(name);
      return answer(input as Record<string, unknown>);
    };
  world.acts = {
    loadInvoiceState: log('loadInvoiceState', () => null),
    loadInvoiceSnapshot: log('loadInvoiceSnapshot', () => ({
      job,
      materials: [line],
      taxRates,
      taxCodes: world.now >= fixedAt ? mapped : {},
      taxModel: 'global',
      docNumberPrefix: '',
    })),
    saveInvoiceState: log('saveInvoiceState', (input) => saved.push(String(input.state))),
    addJobNoteOnce: log('addJobNoteOnce', () => true),
    ensureCustomer: log('ensureCustomer', () => ({ ok: true, customerId: 'C1', billEmail: null })),
    ensureItems: log('ensureItems', () => ({ ok: true, itemIds: { 'jm-1': 'I1', 'mat-1': 'I1' } })),
    createQboInvoice: log('createQboInvoice', () => ({ ok: true, invoiceId: '900', totalCents: 11200 })),
    wakePaymentsOwner: log('wakePaymentsOwner', () => undefined),
  };
  return { calls, saved };
}

const input: InvoiceWorkflowInput = { connectionId: 'c1', jobUuid: 'job-1' };
const durations = () => world.timers.map((t) => t.duration);

beforeEach(() => world.reset());

describe('invoice owner timers (virtual time)', () => {
  it('INV-3: a blocked invoice is looked at after 1, 5 and 15 minutes, and exports once the cause is fixed', async () => {
    const { calls, saved } = invoiceActivities(20 * MIN);
    const result: InvoiceStatus = await invoiceWorkflow(input);
    expect(world.timers).toEqual([
      { at: 0, duration: '1 minute' },
      { at: 1 * MIN, duration: '5 minutes' },
      { at: 6 * MIN, duration: '15 minutes' },
      { at: 21 * MIN, duration: '7 days' },
    ]);
    expect(saved).toEqual(['BLOCKED', 'BLOCKED', 'BLOCKED', 'EXPORTED']);
    expect(calls.filter((c) => c === 'createQboInvoice')).toHaveLength(1);
    expect(result).toMatchObject({ state: 'EXPORTED', qboInvoiceId: '900', syncs: 4, idle: true });
    expect(world.now).toBe(21 * MIN + 7 * DAY); // idle for 7 days: the run ended
  });

  it('INV-3, INV-9: a blocked invoice is then looked at hourly; after 200 syncs the run hands over its state', async () => {
    invoiceActivities(Number.POSITIVE_INFINITY);
    const err = await invoiceWorkflow(input).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContinuedAsNew);
    expect(durations().slice(0, 5)).toEqual(['1 minute', '5 minutes', '15 minutes', '1 hour', '1 hour']);
    expect(durations()).toHaveLength(199);
    expect(new Set(durations().slice(3))).toEqual(new Set(['1 hour']));
    const [next] = (err as ContinuedAsNew).args as [InvoiceWorkflowInput];
    expect(next).toMatchObject({
      connectionId: 'c1',
      jobUuid: 'job-1',
      carried: { state: 'BLOCKED', syncs: 200, blockedRetries: 199 },
    });
  });

  it('INV-6: an event during the idle wait syncs once, and the 7-day idle wait starts again', async () => {
    const { calls } = invoiceActivities(0);
    world.at(3 * DAY, 'sm8JobChanged');
    const result = await invoiceWorkflow(input);
    expect(world.timers).toEqual([
      { at: 0, duration: '7 days' },
      { at: 3 * DAY, duration: '7 days' },
    ]);
    expect(calls.filter((c) => c === 'loadInvoiceSnapshot')).toHaveLength(2);
    expect(calls.filter((c) => c === 'createQboInvoice')).toHaveLength(1); // the total did not change
    expect(result).toMatchObject({ state: 'EXPORTED', syncs: 2 });
    expect(world.now).toBe(10 * DAY);
  });
});

describe('the owners never fail (virtual time)', () => {
  it('OPS-5: a pass failing with an error no step handles is recorded as stuck, retried after 1 and 5 minutes, and cleared once it works', async () => {
    const { calls } = invoiceActivities(0);
    let loads = 0;
    const load = world.acts.loadInvoiceSnapshot as (input: unknown) => Promise<unknown>;
    const stuck: unknown[] = [];
    world.acts.loadInvoiceSnapshot = async (i) => {
      loads += 1;
      if (loads <= 2) throw new TypeError("Cannot read properties of undefined (reading 'uuid')");
      return load(i);
    };
    world.acts.recordOwnerPassFailure = async (i) => void stuck.push(i);
    world.acts.clearOwnerPassFailure = async (i) => void stuck.push({ cleared: i });

    const result = await invoiceWorkflow(input);

    expect(durations()).toEqual(['1 minute', '5 minutes', '7 days']);
    expect(stuck).toEqual([
      {
        workflowId: 'virtual/c1/job-1',
        failures: 1,
        failureType: 'TypeError',
        message: "Cannot read properties of undefined (reading 'uuid')",
      },
      expect.objectContaining({ failures: 2 }),
      { cleared: { workflowId: 'virtual/c1/job-1' } },
    ]);
    expect(calls.filter((c) => c === 'createQboInvoice')).toHaveLength(1);
    expect(result).toMatchObject({ state: 'EXPORTED', qboInvoiceId: '900' });
  });
});

describe('invoice owner hand-over (virtual time)', () => {
  it('INV-9: a continued run starts from the carried state: it neither reloads it nor exports again', async () => {
    const { calls } = invoiceActivities(0);
    const carried = {
      state: 'EXPORTED' as const,
      qboInvoiceId: '900',
      reason: null,
      lastSyncedTotalCents: 11200,
      generatedJobId: '1042',
      syncs: 200,
      blockedRetries: 0,
    };
    const result = await invoiceWorkflow({ ...input, carried });
    expect(calls).toEqual(['loadInvoiceSnapshot', 'saveInvoiceState']); // one look, the total unchanged
    expect(result).toMatchObject({ state: 'EXPORTED', qboInvoiceId: '900', syncs: 201 });
    expect(durations()).toEqual(['7 days']);
  });
});

describe('payments owner hand-over (virtual time)', () => {
  const payInput: PaymentsWorkflowInput = { connectionId: 'c1', jobUuid: 'job-1' };
  let loads = 0;
  beforeEach(() => {
    loads = 0;
    world.acts = {
      loadPaymentSnapshot: async () => {
        loads += 1;
        return {
          invoice: { qboInvoiceId: '900', customerId: 'C1', totalCents: 11200, balanceCents: 11200 },
          sides: { sm8: [], qbo: [], links: [] },
        };
      },
    };
  });

  it('PAY-5: after 200 passes the owner hands over what its status shows, with no event pending', async () => {
    for (let i = 1; i <= 250; i += 1) world.at(i * MIN, 'paymentsChanged');
    const err = await paymentsWorkflow(payInput).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContinuedAsNew);
    expect((err as ContinuedAsNew).args[0]).toEqual({
      ...payInput,
      carried: {
        state: 'IN_STEP',
        qboInvoiceId: '900',
        syncs: 200,
        dirty: false,
        view: { last: { sm8: 0, qbo: 0 }, payments: [], problems: [] },
      },
    });
    expect(loads).toBe(200);
  });

  it('PAY-5: a continued run answers as before and waits for the next event instead of looking (no loop of runs)', async () => {
    const carried = {
      state: 'IN_STEP' as const,
      qboInvoiceId: '900',
      syncs: 200,
      dirty: false,
      view: { last: { sm8: 2500, qbo: 2500 }, payments: [], problems: [] },
    };
    const run = paymentsWorkflow({ ...payInput, carried });
    const shown = world.query<PaymentsStatus>('status');
    expect(shown).toMatchObject({
      state: 'IN_STEP',
      sm8PaidCents: 2500,
      qboPaidCents: 2500,
      syncs: 200,
      idle: true,
    });
    const result = await run;
    expect(loads).toBe(0);
    expect(durations()).toEqual(['7 days']);
    expect(result).toMatchObject({ syncs: 200 });
  });
});

describe('tax owner timers (virtual time)', () => {
  const counts = { created: 0, updated: 0, deactivated: 0, unchanged: 3, linked: 0, reverted: 0, failed: 0 };
  const taxInput: TaxWorkflowInput = { connectionId: 'c1' };

  it('TAX-3: a burst of events costs one pass; the owner ends after an idle hour', async () => {
    let passes = 0;
    world.acts = { syncTaxCodes: async () => ((passes += 1), counts) };
    world.at(10 * MIN, 'sm8TaxRateChanged');
    world.at(10 * MIN, 'sm8TaxRateChanged');
    world.at(10 * MIN, 'sm8TaxRateChanged');
    world.at(50 * MIN, 'sm8TaxRateChanged');
    const result: TaxStatus = await taxWorkflow(taxInput);
    expect(passes).toBe(3); // the start, the burst at 10 min, the event at 50 min
    expect(world.timers.map((t) => [t.at, t.duration])).toEqual([
      [0, '1 hour'],
      [10 * MIN, '1 hour'],
      [50 * MIN, '1 hour'],
    ]);
    expect(result).toMatchObject({ passes: 3, idle: true, last: counts });
    expect(world.now).toBe(50 * MIN + HOUR);
  });

  it('TAX-3: after 100 passes in one run the owner hands over, carrying its count and last result', async () => {
    world.acts = { syncTaxCodes: async () => counts };
    for (let i = 1; i <= 150; i += 1) world.at(i * MIN, 'sm8TaxRateChanged');
    const err = await taxWorkflow(taxInput).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContinuedAsNew);
    expect((err as ContinuedAsNew).args[0]).toEqual({
      connectionId: 'c1',
      carried: { passes: 100, last: counts },
    });
    expect(world.now).toBe(99 * MIN);
  });

  it('an input from before the test-only knobs left it (idleEnd, maxPassesPerRun) is read without them', async () => {
    world.acts = { syncTaxCodes: async () => counts };
    const old = { connectionId: 'c1', idleEnd: '2 seconds', maxPassesPerRun: 1 } as TaxWorkflowInput;
    world.at(10 * MIN, 'sm8TaxRateChanged');
    const result = await taxWorkflow(old);
    expect(result).toMatchObject({ passes: 2 }); // no hand-over after one pass
    expect(world.timers.map((t) => t.duration)).toEqual(['1 hour', '1 hour']);
  });
});
