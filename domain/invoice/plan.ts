/**
 * From a ServiceM8 job to the QuickBooks invoice that represents it (INV-1, INV-2, INV-4), as pure
 * decisions: is it approved, is there anything to export, which tax mode, which lines with which amounts,
 * and would QuickBooks' computed TotalAmt equal ServiceM8's total_invoice_amount to the cent.
 *
 * ServiceM8 line arithmetic (rounded half away from zero, per line):
 *   tax-exclusive line: unit = round2(price);            ex  = round(qty × unit); tax = round(ex × r)
 *   tax-inclusive line: unit = round2(displayed_amount); inc = round(qty × unit); tax = round(inc × r/(1+r))
 * QuickBooks (global editions) also rounds tax per line: TaxExcluded tax = round(Amount × r), TaxInclusive
 * tax = round(Amount × r/(1+r)). So a job priced all-exclusive maps to TaxExcluded and an all-inclusive job
 * to TaxInclusive with identical totals. A job mixing both is sent TaxExcluded with the inclusive lines at
 * their ex-tax unit price; when that would move the total by a cent, the invoice is not posted
 * (TOTAL_MISMATCH, INV-4: never post a different total).
 */
import { centsToAmount, divRound, parseRate, parseScaled, taxInGross, taxOnNet, toCents } from '../money';
import { flag, sm8Date, type Sm8Job, type Sm8JobMaterial, type Sm8TaxRate } from '../servicem8-types';
import { reasons, type Reason } from './reasons';

/** A ServiceM8 tax rate linked to a QuickBooks TaxCode, with the code's total sales rate (percent). */
export interface TaxCodeLink {
  qboTaxCodeId: string;
  ratePercent: string;
}

export type TaxMode = 'TaxExcluded' | 'TaxInclusive';

export interface PlannedLine {
  jobMaterialUuid: string;
  materialUuid: string;
  description: string;
  qty: number;
  unitPrice: number;
  amountCents: number;
  qboTaxCodeId: string;
  /** What QuickBooks will compute as this line's tax. */
  taxCents: number;
}

export interface InvoicePlan {
  docNumber: string;
  txnDate: string | null;
  mode: TaxMode;
  lines: PlannedLine[];
  /** ServiceM8's total_invoice_amount in cents. */
  sm8TotalCents: number;
  /** The TotalAmt QuickBooks will compute for these lines. */
  qboTotalCents: number;
}

export type PlanResult =
  | { kind: 'not_approved' }
  | { kind: 'zero_value'; sm8TotalCents: number }
  | { kind: 'blocked'; reason: Reason; sm8TotalCents: number }
  | { kind: 'ready'; plan: InvoicePlan };

export const DOC_NUMBER_MAX = 21;

/** INV-1: Completed, approved (payment_processed) and not deleted. Nothing else exports an invoice. */
export function isApproved(job: Sm8Job): boolean {
  return job.status === 'Completed' && flag(job.payment_processed) && flag(job.active);
}

/** The invoice's lines: active jobmaterials in sort_order (ties keep ServiceM8's order). */
export function billableLines(materials: readonly Sm8JobMaterial[]): Sm8JobMaterial[] {
  return materials
    .map((m, i) => ({ m, i, order: Number(m.sort_order ?? 0) || 0 }))
    .filter(({ m }) => flag(m.active))
    .sort((a, b) => a.order - b.order || a.i - b.i)
    .map(({ m }) => m);
}

export function docNumberFor(job: Sm8Job, prefix = ''): string {
  return `${prefix}${job.generated_job_id}`.slice(0, DOC_NUMBER_MAX);
}

/** Rounds a decimal string to 2 places and returns it as a number (the unit prices ServiceM8 bills). */
function unit2(value: string | undefined): number {
  return (toCents(value ?? '0') ?? 0) / 100;
}

function qtyTimes(qtyText: string, unitCents: number): number {
  const qty = parseScaled(qtyText, 4) ?? 0n;
  return Number(divRound(qty * BigInt(unitCents), 10_000n));
}

export function planInvoice(input: {
  job: Sm8Job;
  materials: readonly Sm8JobMaterial[];
  taxRates: Readonly<Record<string, Sm8TaxRate>>;
  taxCodes: Readonly<Record<string, TaxCodeLink | undefined>>;
  taxModel: 'global' | 'us';
  docNumberPrefix?: string;
}): PlanResult {
  const { job } = input;
  if (!isApproved(job)) return { kind: 'not_approved' };
  const sm8TotalCents = toCents(job.total_invoice_amount) ?? 0;
  const lines = billableLines(input.materials);
  if (sm8TotalCents === 0) return { kind: 'zero_value', sm8TotalCents };
  const blocked = (reason: Reason): PlanResult => ({ kind: 'blocked', reason, sm8TotalCents });
  if (!job.company_uuid) return blocked(reasons.noClient());
  if (lines.length === 0) return blocked(reasons.noBillableLines());
  if (input.taxModel === 'us') return blocked(reasons.usTaxUnsupported());

  const allInclusive = lines.every((l) => flag(l.displayed_amount_is_tax_inclusive));
  const mode: TaxMode = allInclusive ? 'TaxInclusive' : 'TaxExcluded';
  const planned: PlannedLine[] = [];
  for (const line of lines) {
    const link = input.taxCodes[line.tax_rate_uuid];
    if (!link) {
      const rateName = input.taxRates[line.tax_rate_uuid]?.name ?? (line.tax_rate_uuid || 'none');
      return blocked(reasons.taxRateUnmapped(line.name, rateName));
    }
    const rate = parseRate(link.ratePercent) ?? 0n;
    const inclusive = mode === 'TaxInclusive';
    const unitPrice = inclusive ? unit2(line.displayed_amount) : unit2(line.price);
    const unitCents = Math.round(unitPrice * 100);
    const amountCents = qtyTimes(line.quantity, unitCents);
    planned.push({
      jobMaterialUuid: line.uuid,
      materialUuid: line.material_uuid,
      description: line.name,
      qty: Number(parseScaled(line.quantity, 4) ?? 0n) / 10_000,
      unitPrice,
      amountCents,
      qboTaxCodeId: link.qboTaxCodeId,
      taxCents: inclusive ? taxInGross(amountCents, rate) : taxOnNet(amountCents, rate),
    });
  }
  const qboTotalCents =
    mode === 'TaxInclusive'
      ? planned.reduce((s, l) => s + l.amountCents, 0)
      : planned.reduce((s, l) => s + l.amountCents + l.taxCents, 0);
  if (qboTotalCents !== sm8TotalCents) return blocked(reasons.totalMismatch(sm8TotalCents, qboTotalCents));
  return {
    kind: 'ready',
    plan: {
      docNumber: docNumberFor(job, input.docNumberPrefix),
      txnDate: sm8Date(job.completion_date) ?? sm8Date(job.payment_processed_stamp) ?? sm8Date(job.date),
      mode,
      lines: planned,
      sm8TotalCents,
      qboTotalCents,
    },
  };
}

/** The marker in PrivateNote that identifies our invoice for a job (INV-4, INV-9). */
export function invoiceMarker(jobUuid: string): string {
  return `[sm8:job:${jobUuid}]`;
}

export function hasMarker(privateNote: string | undefined, jobUuid: string): boolean {
  return (privateNote ?? '').includes(invoiceMarker(jobUuid));
}

/** The QuickBooks Invoice body (create) or the fields of a sparse update (re-sync, INV-6). */
export function invoicePayload(
  plan: InvoicePlan,
  refs: {
    jobUuid: string;
    customerId: string;
    itemIds: Readonly<Record<string, string>>;
    billEmail: string | null;
  },
): Record<string, unknown> {
  return {
    CustomerRef: { value: refs.customerId },
    DocNumber: plan.docNumber,
    ...(plan.txnDate ? { TxnDate: plan.txnDate } : {}),
    GlobalTaxCalculation: plan.mode,
    ...(refs.billEmail ? { BillEmail: { Address: refs.billEmail } } : {}),
    PrivateNote: `ServiceM8 job ${plan.docNumber} ${invoiceMarker(refs.jobUuid)}`,
    Line: plan.lines.map((l, i) => ({
      LineNum: i + 1,
      Description: l.description,
      Amount: centsToAmount(l.amountCents),
      DetailType: 'SalesItemLineDetail',
      SalesItemLineDetail: {
        ItemRef: { value: refs.itemIds[l.jobMaterialUuid] },
        Qty: l.qty,
        UnitPrice: l.unitPrice,
        TaxCodeRef: { value: l.qboTaxCodeId },
      },
    })),
  };
}

/** Sum of a QuickBooks TaxCode's sales rates in percent, as a decimal string (TAX-1: SM8 `amount`). */
export function totalRatePercent(rates: readonly (number | string)[]): string {
  const total = rates.reduce<bigint>((s, r) => s + (parseRate(r) ?? 0n), 0n);
  const whole = total / 10_000n;
  const frac = (total % 10_000n).toString().padStart(4, '0');
  return `${whole}.${frac}`;
}
