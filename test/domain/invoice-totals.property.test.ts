/**
 * INV-4 property across both simulators: for random jobs built in the ServiceM8 simulator (which computes
 * total_invoice_amount itself), the invoice planned by the domain code and created in the QuickBooks
 * simulator has TotalAmt equal to total_invoice_amount to the cent, whether its lines are priced inclusive,
 * exclusive or both (a mixed job goes TaxInclusive, domain/invoice/plan.ts): none is held for a cent.
 */
import crypto from 'node:crypto';
import axios from 'axios';
import fc from 'fast-check';
import { invoicePayload, planInvoice, type TaxCodeLink } from '../../domain/invoice/plan';
import { toCents } from '../../domain/money';
import type { Sm8Job, Sm8JobMaterial, Sm8TaxRate } from '../../domain/servicem8-types';
import {
  ACCOUNT_IDS,
  AU_TAX_CODE_IDS,
  startQuickBooksSimulator,
  type RunningQuickBooksSimulator,
} from '../../simulators/quickbooks';
import { startServiceM8Simulator, type RunningServiceM8Simulator } from '../../simulators/servicem8';

let sm8: RunningServiceM8Simulator;
let qbo: RunningQuickBooksSimulator;
let bearer: string;
let customerId: string;
let itemId: string;
const rates: Record<string, Sm8TaxRate> = {};
const links: Record<string, TaxCodeLink> = {};

beforeAll(async () => {
  sm8 = await startServiceM8Simulator();
  qbo = await startQuickBooksSimulator({
    throttle: { perMinute: 100_000, perSecond: 10_000, concurrent: 100 },
  });
  bearer = qbo.control.issueTokens().access_token;
  for (const [name, amount, code] of [
    ['GST', '10', AU_TAX_CODE_IDS.gst],
    ['GST Free', '0', AU_TAX_CODE_IDS.gstFree],
  ] as const) {
    const uuid = crypto.randomUUID();
    rates[uuid] = sm8.control.insert('taxrate', { uuid, name, amount, active: 1 }) as unknown as Sm8TaxRate;
    links[uuid] = { qboTaxCodeId: code, ratePercent: amount };
  }
  customerId = String(qbo.control.upsertRecord('Customer', { DisplayName: 'Property Test Customer' }).Id);
  itemId = String(
    qbo.control.upsertRecord('Item', {
      Name: 'Property test item',
      Type: 'Service',
      IncomeAccountRef: { value: ACCOUNT_IDS.services },
    }).Id,
  );
});
afterAll(async () => {
  await sm8.stop();
  await qbo.stop();
});

const lineArb = fc.record({
  qty: fc.integer({ min: 1, max: 400_000 }), // ten-thousandths: 0.0001 .. 40
  unitCents: fc.integer({ min: 0, max: 250_000 }),
  gst: fc.boolean(),
  /** Per line, used when the job mixes inclusive and exclusive lines. */
  inclusive: fc.boolean(),
});

it('INV-4: the QuickBooks TotalAmt of random invoices (inclusive, exclusive or mixed lines) equals ServiceM8 total_invoice_amount to the cent', async () => {
  const [gst, free] = Object.keys(rates) as [string, string];
  let posted = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(lineArb, { minLength: 1, maxLength: 8 }),
      fc.constantFrom('exclusive', 'inclusive', 'mixed'),
      async (specs, pricing) => {
        const jobUuid = crypto.randomUUID();
        sm8.control.insert('job', {
          uuid: jobUuid,
          status: 'Completed',
          company_uuid: crypto.randomUUID(),
          payment_processed: 1,
          active: 1,
        });
        specs.forEach((s, i) => {
          const unit = (s.unitCents / 100).toFixed(2);
          const inclusive = pricing === 'mixed' ? s.inclusive : pricing === 'inclusive';
          sm8.control.insert('jobmaterial', {
            uuid: crypto.randomUUID(),
            job_uuid: jobUuid,
            material_uuid: '',
            name: `Line ${i}`,
            quantity: (s.qty / 10_000).toFixed(4),
            ...(inclusive ? { displayed_amount: unit } : { price: unit }),
            displayed_amount_is_tax_inclusive: inclusive ? '1' : '0',
            tax_rate_uuid: s.gst ? gst : free,
            sort_order: String(i),
            active: 1,
          });
        });
        const job = sm8.store.get('job', jobUuid) as unknown as Sm8Job;
        const materials = sm8.store
          .list('jobmaterial')
          .filter((m) => m.job_uuid === jobUuid) as unknown as Sm8JobMaterial[];
        const plan = planInvoice({ job, materials, taxRates: rates, taxCodes: links, taxModel: 'global' });
        const sm8Total = toCents(job.total_invoice_amount) ?? 0;
        if (plan.kind === 'zero_value') return sm8Total === 0;
        // Every job's lines add up to its total in QuickBooks too: none is held for a cent (INV-4).
        if (plan.kind !== 'ready') throw new Error(`not posted: ${JSON.stringify(plan)}`);
        const body = invoicePayload(plan.plan, {
          jobUuid,
          customerId,
          itemIds: Object.fromEntries(plan.plan.lines.map((l) => [l.jobMaterialUuid, itemId])),
          billEmail: null,
        });
        const res = await axios.post<{ Invoice: { TotalAmt: number } }>(
          `${qbo.url}/v3/company/${qbo.realmId}/invoice?include=allowduplicatedocnum`,
          body,
          { headers: { Authorization: `Bearer ${bearer}` }, validateStatus: () => true },
        );
        if (res.status !== 200)
          throw new Error(`QuickBooks refused ${JSON.stringify(body)}: ${JSON.stringify(res.data)}`);
        posted += 1;
        return toCents(res.data.Invoice.TotalAmt) === sm8Total && plan.plan.qboTotalCents === sm8Total;
      },
    ),
    { numRuns: 120 },
  );
  // Inclusive, exclusive and mixed jobs alike: all of them posted (none held, none refused).
  expect(posted).toBeGreaterThan(100);
}, 60_000);
