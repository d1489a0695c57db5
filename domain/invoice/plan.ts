/**
 * From a ServiceM8 job to the QuickBooks invoice that represents it (INV-1, INV-2, INV-4), as pure
 * decisions: is it approved, is there anything to export, which tax mode, which lines with which amounts,
 * and would QuickBooks' computed TotalAmt equal ServiceM8's total_invoice_amount to the cent.
 *
 * ServiceM8 line arithmetic (rounded half away from zero, per line):
 *   tax-exclusive line: unit = round2(price);            ex  = round(qty × unit); tax = round(ex × r)
 *   tax-inclusive line: unit = round2(displayed_amount); inc = round(qty × unit); tax = round(inc × r/(1+r))
 * QuickBooks (global editions) also rounds tax per line. A line's `Amount` is always the NET amount; with
 * TaxInclusive the gross goes in `TaxInclusiveAmt` and QuickBooks derives tax = round(gross × r/(1+r)),
 * net = gross − tax (the ServiceM8 arithmetic). So a job priced all-exclusive maps to TaxExcluded and an
 * all-inclusive job to TaxInclusive with identical totals. A job mixing both goes TaxInclusive too, its
 * exclusive lines at their ServiceM8 gross (ex + round(ex × r)): QuickBooks' round(gross × r/(1+r)) gives
 * back exactly that tax (for any rate below 100 % it lies in the same rounding interval as ex × r), so the
 * lines, the tax and the total are ServiceM8's to the cent. (Sent TaxExcluded instead, an inclusive line's
 * rounded ex-tax price re-taxed moved about half of such totals by a cent, and they were held.) Whatever
 * would still move the total is not posted (TOTAL_MISMATCH, INV-4: never post a different total).
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
  /** Net unit price, with enough decimals that round(qty × unitPrice) = amountCents (QuickBooks 6070). */
  unitPrice: number;
  /** Net (ex-tax) line amount: QuickBooks' `Amount`. */
  amountCents: number;
  /** Gross line amount for TaxInclusive invoices: QuickBooks' `TaxInclusiveAmt`. */
  grossCents: number | null;
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

/** round(qty × unit cents), qty in ten-thousandths. */
function qtyTimes(qty: bigint, unitCents: number): number {
  return Number(divRound(qty * BigInt(unitCents), 10_000n));
}

/**
 * A net unit price whose product with qty rounds back to the net amount: exact to 7 decimals (QuickBooks
 * UnitPrice is a decimal), e.g. net 104.55 over 3 → 34.85; over 7 → 14.9357143.
 */
function netUnitPrice(amountCents: number, qty: bigint, fallback: string): number {
  if (qty === 0n) return (toCents(fallback) ?? 0) / 100;
  const unit = divRound(BigInt(amountCents) * 10n ** 9n, qty); // 10^-7 dollars: cents × 10^5 × 10^4 / qty
  return Number(unit) / 1e7;
}

function lineBase(line: Sm8JobMaterial, link: TaxCodeLink, qty: bigint) {
  return {
    jobMaterialUuid: line.uuid,
    materialUuid: line.material_uuid,
    description: line.name,
    qty: Number(qty) / 10_000,
    qboTaxCodeId: link.qboTaxCodeId,
  };
}

/** A tax rate of these lines whose ServiceM8 percentage differs from its linked QuickBooks code's, if any. */
function rateThatDiffers(
  lines: readonly Sm8JobMaterial[],
  input: {
    taxRates: Readonly<Record<string, Sm8TaxRate>>;
    taxCodes: Readonly<Record<string, TaxCodeLink | undefined>>;
  },
): { name: string; sm8Percent: string; qboPercent: string } | undefined {
  for (const line of lines) {
    const rate = input.taxRates[line.tax_rate_uuid];
    const link = input.taxCodes[line.tax_rate_uuid];
    if (!rate || !link) continue;
    if (parseRate(rate.amount) !== parseRate(link.ratePercent))
      return {
        name: rate.name,
        sm8Percent: String(Number(rate.amount)),
        qboPercent: String(Number(link.ratePercent)),
      };
  }
  return undefined;
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
  // A credit: QuickBooks refuses a negative invoice; held rather than posted as something else (issue 13).
  if (sm8TotalCents < 0) return blocked(reasons.negativeTotal(sm8TotalCents));
  if (!job.company_uuid) return blocked(reasons.noClient());
  if (lines.length === 0) return blocked(reasons.noBillableLines());
  if (input.taxModel === 'us') return blocked(reasons.usTaxUnsupported());

  const mode: TaxMode = lines.some((l) => flag(l.displayed_amount_is_tax_inclusive))
    ? 'TaxInclusive'
    : 'TaxExcluded';
  const planned: PlannedLine[] = [];
  for (const line of lines) {
    const link = input.taxCodes[line.tax_rate_uuid];
    if (!link) {
      const rateName = input.taxRates[line.tax_rate_uuid]?.name ?? (line.tax_rate_uuid || 'none');
      return blocked(reasons.taxRateUnmapped(line.name, rateName));
    }
    const rate = parseRate(link.ratePercent) ?? 0n;
    const qty = parseScaled(line.quantity, 4) ?? 0n;
    if (flag(line.displayed_amount_is_tax_inclusive)) {
      const grossCents = qtyTimes(qty, toCents(line.displayed_amount ?? '0') ?? 0);
      const taxCents = taxInGross(grossCents, rate);
      const amountCents = grossCents - taxCents;
      planned.push({
        ...lineBase(line, link, qty),
        unitPrice: netUnitPrice(amountCents, qty, line.price),
        amountCents,
        grossCents,
        taxCents,
      });
    } else {
      const unitCents = toCents(line.price) ?? 0;
      const amountCents = qtyTimes(qty, unitCents);
      const taxCents = taxOnNet(amountCents, rate);
      planned.push({
        ...lineBase(line, link, qty),
        unitPrice: unitCents / 100,
        amountCents,
        // In a TaxInclusive invoice (a job mixing both), an exclusive line travels at its ServiceM8 gross.
        grossCents: mode === 'TaxInclusive' ? amountCents + taxCents : null,
        taxCents,
      });
    }
  }
  const qboTotalCents = planned.reduce((sum, l) => sum + l.amountCents + l.taxCents, 0);
  if (qboTotalCents !== sm8TotalCents)
    return blocked(reasons.totalMismatch(sm8TotalCents, qboTotalCents, rateThatDiffers(lines, input)));
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
        ...(l.grossCents !== null ? { TaxInclusiveAmt: centsToAmount(l.grossCents) } : {}),
      },
    })),
  };
}

/** The invoice payload with every line of item `gone` on item `survivor` instead (CM-10: a merge unheard). */
export function withItemMoved(
  payload: Record<string, unknown>,
  gone: string,
  survivor: string,
): Record<string, unknown> {
  const lines = (payload.Line ?? []) as Array<{ SalesItemLineDetail?: { ItemRef?: { value?: string } } }>;
  return {
    ...payload,
    Line: lines.map((l) =>
      l.SalesItemLineDetail?.ItemRef?.value === gone
        ? { ...l, SalesItemLineDetail: { ...l.SalesItemLineDetail, ItemRef: { value: survivor } } }
        : l,
    ),
  };
}

/** Sum of a QuickBooks TaxCode's sales rates in percent, as a decimal string (TAX-1: SM8 `amount`). */
export function totalRatePercent(rates: readonly (number | string)[]): string {
  const total = rates.reduce<bigint>((s, r) => s + (parseRate(r) ?? 0n), 0n);
  const whole = total / 10_000n;
  const frac = (total % 10_000n).toString().padStart(4, '0');
  return `${whole}.${frac}`;
}
