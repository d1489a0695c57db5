import { formatTxnDate } from '../clock';
import { faults } from '../errors';
import { ACCOUNT_IDS } from '../company';
import { centsText, divRound, fromCents, lineAmountCents, toCents, toScaled } from '../money';
import { type TaxMode, checkLineTaxCode, computeTax, txnTaxDetailJson } from '../tax';
import { type EntityName, type Json, asArray, asJson, asString, refValue } from '../types';
import { type WriteContext, checkEnum, requireActiveRef, text } from './common';
import { checkEmailHolder } from './contact';
import { checkTransactionCurrency, setHomeAmount } from './currency';

/**
 * What Invoice, CreditMemo and RefundReceipt share (all three are SalesTransactions in Intuit's XSD): the
 * customer, lines, tax, totals, DocNumber, dates, statuses and email addresses. Each entity module adds its
 * own fields (Balance and payments for invoices, RemainingCredit for credit memos, the refund account for
 * refund receipts) on top.
 */

export type SalesFormEntity = Extract<EntityName, 'Invoice' | 'CreditMemo' | 'RefundReceipt'>;
export const SALES_FORMS: readonly SalesFormEntity[] = ['Invoice', 'CreditMemo', 'RefundReceipt'];

export function isSalesForm(entity: EntityName): entity is SalesFormEntity {
  return (SALES_FORMS as readonly EntityName[]).includes(entity);
}

/** Computed by QBO on every sales form; ignored when a client sends them back. */
export const SALES_FORM_READ_ONLY = [
  'TotalAmt',
  'HomeTotalAmt',
  'Balance',
  'HomeBalance',
  'LinkedTxn',
] as const;

const LINE_TYPES = [
  'SalesItemLineDetail',
  'DescriptionOnly',
  'SubTotalLineDetail',
  'DiscountLineDetail',
  'GroupLineDetail',
];
const DOC_NUMBER_MAX = 21;

interface PreparedLine {
  line: Json;
  /** The line Amount as sent. */
  amountCents: number;
  /** SalesItemLineDetail.TaxInclusiveAmt as sent, when it is read (TaxInclusive, Amount net). */
  grossCents?: number | undefined;
  taxCodeId: string | undefined;
  kind: 'sales' | 'description' | 'discount';
  /** DiscountLineDetail with PercentBased: the percentage (exact decimal text). */
  discountPercent?: string;
}

/**
 * Validates one line. Amount = round(Qty × UnitPrice) (6070) is checked against Amount as sent, which is the
 * net in TaxExcluded and, by default, in TaxInclusive (the gross only with `taxInclusiveAmountIsGross`).
 * TaxInclusiveAmt is read here and checked against Amount in computeTax, once the code's rates are known.
 */
function prepareLine(
  ctx: WriteContext,
  raw: unknown,
  mode: TaxMode,
  amountIsGross: boolean,
  entity: SalesFormEntity,
): PreparedLine | undefined {
  const line = asJson(raw);
  if (!line) throw faults.required('Line');
  const detailType = asString(line.DetailType);
  if (detailType === undefined) throw faults.required('Line.DetailType');
  if (!LINE_TYPES.includes(detailType)) throw faults.invalidEnum('Line.DetailType', detailType);
  // The subtotal line is QBO's own, added to every response; a client echoing it back is ignored.
  if (detailType === 'SubTotalLineDetail') return undefined;
  if (detailType === 'GroupLineDetail') {
    throw faults.unsupportedOperation(detailType, `${entity} line (not simulated)`);
  }
  if (detailType === 'DiscountLineDetail') return prepareDiscountLine(ctx, line);
  if (detailType === 'DescriptionOnly') {
    line.Amount = fromCents(toCents(line.Amount) ?? 0);
    line.DescriptionLineDetail ??= {};
    return { line, amountCents: 0, taxCodeId: undefined, kind: 'description' };
  }
  if (line.Amount === undefined || line.Amount === null) throw faults.required('Line.Amount');
  const amountCents = toCents(line.Amount);
  if (amountCents === undefined) throw faults.invalidNumber('Line.Amount', line.Amount);
  const detail = asJson(line.SalesItemLineDetail) ?? {};
  line.SalesItemLineDetail = detail;
  requireActiveRef(ctx.company, 'Item', detail.ItemRef, 'ItemRef', 'Name');
  if (detail.Qty !== undefined && detail.UnitPrice !== undefined) {
    const expected = lineAmountCents(detail.Qty, detail.UnitPrice);
    if (expected === undefined) throw faults.invalidNumber('Line.SalesItemLineDetail', detail.UnitPrice);
    if (expected !== amountCents) throw faults.amountMismatch(String(line.Amount));
  }
  const taxCodeId = refValue(detail.TaxCodeRef);
  checkLineTaxCode(ctx.company, taxCodeId, mode);
  if (amountCents < 0 && !ctx.options.allowNegativeLines) {
    throw faults.business(
      `Line amounts cannot be negative (${centsText(amountCents)}); record a credit as a CreditMemo.`,
      'Line.Amount',
    );
  }
  line.Amount = fromCents(amountCents);
  let grossCents: number | undefined;
  const sentGross = detail.TaxInclusiveAmt;
  if (mode === 'TaxInclusive' && !amountIsGross && sentGross !== undefined && sentGross !== null) {
    grossCents = toCents(sentGross);
    if (grossCents === undefined)
      throw faults.invalidNumber('Line.SalesItemLineDetail.TaxInclusiveAmt', sentGross);
  }
  // Set again from the computed gross once the tax is known (TaxInclusive); meaningless otherwise.
  delete detail.TaxInclusiveAmt;
  return { line, amountCents, grossCents, taxCodeId, kind: 'sales' };
}

/**
 * DiscountLineDetail: a transaction-level discount, by percentage (`PercentBased` + `DiscountPercent`, 0–100)
 * or by amount (`Amount`); one of the two is required (6090, from Intuit's error list). Its account defaults to
 * the company's "Discounts given". The amount of a percentage discount is computed once the subtotal is known.
 */
function prepareDiscountLine(ctx: WriteContext, line: Json): PreparedLine {
  const detail = asJson(line.DiscountLineDetail) ?? {};
  line.DiscountLineDetail = detail;
  const percentBased = detail.PercentBased === true;
  detail.PercentBased = percentBased;
  if (detail.DiscountAccountRef === undefined || detail.DiscountAccountRef === null)
    detail.DiscountAccountRef = { value: ACCOUNT_IDS.discountsGiven };
  requireActiveRef(ctx.company, 'Account', detail.DiscountAccountRef, 'DiscountAccountRef', 'Name');
  if (percentBased) {
    const percent = toScaled(detail.DiscountPercent, 4);
    if (detail.DiscountPercent === undefined || detail.DiscountPercent === null)
      throw faults.discountMissing();
    if (percent === undefined)
      throw faults.invalidNumber('DiscountLineDetail.DiscountPercent', detail.DiscountPercent);
    if (percent < 0n || percent > 1_000_000n) {
      throw faults.business('The discount percentage must be between 0 and 100.', 'DiscountPercent');
    }
    return {
      line,
      amountCents: 0,
      taxCodeId: undefined,
      kind: 'discount',
      discountPercent: String(detail.DiscountPercent),
    };
  }
  if (line.Amount === undefined || line.Amount === null) throw faults.discountMissing();
  const amountCents = toCents(line.Amount);
  if (amountCents === undefined || amountCents < 0) throw faults.invalidNumber('Line.Amount', line.Amount);
  delete detail.DiscountPercent;
  line.Amount = fromCents(amountCents);
  return { line, amountCents, taxCodeId: undefined, kind: 'discount' };
}

/** The discount of the (at most one) discount line, checked against the subtotal. */
function discountOf(discounts: PreparedLine[], subtotalCents: number): number {
  if (discounts.length > 1) {
    // UNCONFIRMED: QBO forms carry one transaction discount; several are refused here.
    throw faults.business('A transaction can carry only one discount line.', 'DiscountLineDetail');
  }
  const [discount] = discounts;
  if (!discount) return 0;
  let cents = discount.amountCents;
  if (discount.discountPercent !== undefined) {
    const percent = toScaled(discount.discountPercent, 4) ?? 0n;
    cents = Number(divRound(BigInt(subtotalCents) * percent, 1_000_000n));
    discount.line.Amount = fromCents(cents);
  }
  if (cents > Math.max(subtotalCents, 0)) {
    // The text integrators report (intuit/QuickBooks-V3-PHP-SDK#232).
    throw faults.business("The discount amount can't be greater than the subtotal.", 'DiscountLineDetail');
  }
  return cents;
}

/** Keeps the Ids of lines the client sent back and numbers the new ones after the highest known Id. */
function numberLines(lines: Json[], existing: Json | undefined): void {
  const known = new Set(
    asArray(existing?.Line)
      .map((line) => asString(asJson(line)?.Id))
      .filter((id) => id !== undefined),
  );
  let next = Math.max(0, ...[...known].map(Number).filter(Number.isFinite)) + 1;
  const used = new Set<string>();
  lines.forEach((line, index) => {
    const id = asString(line.Id);
    if (id !== undefined && known.has(id) && !used.has(id)) {
      used.add(id);
    } else {
      line.Id = String(next++);
    }
    line.LineNum = index + 1;
  });
}

/** DocNumber: ≤ 21 characters, unique among the entity's records (6140) unless allowduplicatedocnum. */
function checkDocNumber(ctx: WriteContext, data: Json, entity: SalesFormEntity): void {
  const docNumber = text(data.DocNumber);
  if (docNumber === undefined || docNumber === '') {
    delete data.DocNumber;
    const custom = asJson(ctx.company.preferences.SalesFormsPrefs)?.CustomTxnNumbers === true;
    // With custom transaction numbers on, QBO leaves an omitted DocNumber blank
    // (docs/quickbooks-api.md §4.1).
    if (!custom && ctx.op === 'create') data.DocNumber = String(ctx.company.nextDocNumber++);
    return;
  }
  if (docNumber.length > DOC_NUMBER_MAX)
    throw faults.stringLength('DocNumber', DOC_NUMBER_MAX, docNumber.length);
  data.DocNumber = docNumber;
  const unchanged = ctx.existing !== undefined && text(ctx.existing.DocNumber) === docNumber;
  if (unchanged || ctx.includes.has('allowduplicatedocnum')) return;
  for (const other of ctx.company.all(entity)) {
    if (other.data.Id !== ctx.id && text(other.data.DocNumber) === docNumber) {
      throw faults.duplicateDocNumber(docNumber, String(other.data.Id), entity);
    }
  }
}

function sentTaxDetailHasContent(detail: unknown): boolean {
  const json = asJson(detail);
  if (!json) return false;
  return (
    asArray(json.TaxLine).length > 0 ||
    (toCents(json.TotalTax) ?? 0) !== 0 ||
    refValue(json.TxnTaxCodeRef) !== undefined
  );
}

export interface SalesFormTotals {
  totalCents: number;
}

/** Validates a sales form and fills its computed fields; the entity module adds the rest. */
export function prepareSalesForm(ctx: WriteContext, data: Json, entity: SalesFormEntity): SalesFormTotals {
  if (refValue(data.CustomerRef) === undefined) throw faults.required('CustomerRef');
  const customer = requireActiveRef(ctx.company, 'Customer', data.CustomerRef, 'CustomerRef', 'DisplayName');
  checkTransactionCurrency(ctx, data, customer, entity);

  const us = ctx.company.country === 'US';
  const mode: TaxMode = us
    ? 'TaxExcluded'
    : (checkEnum(
        'GlobalTaxCalculation',
        data.GlobalTaxCalculation,
        ['TaxExcluded', 'TaxInclusive', 'NotApplicable'],
        'TaxExcluded',
      ) as TaxMode);
  if (!us) data.GlobalTaxCalculation = mode;
  else delete data.GlobalTaxCalculation;
  if (mode === 'NotApplicable' && sentTaxDetailHasContent(data.TxnTaxDetail))
    throw faults.txnTaxDetailNotApplicable();
  const txnTaxCodeId = us ? refValue(asJson(data.TxnTaxDetail)?.TxnTaxCodeRef) : undefined;
  if (txnTaxCodeId !== undefined && !ctx.company.get('TaxCode', txnTaxCodeId)) {
    throw faults.invalidReference('TaxCode', txnTaxCodeId, 'TxnTaxCodeRef');
  }

  if (!Array.isArray(data.Line)) throw faults.required('Line');
  const amountIsGross = ctx.options.taxInclusiveAmountIsGross;
  const prepared = data.Line.map((raw) => prepareLine(ctx, raw, mode, amountIsGross, entity)).filter(
    (line) => line !== undefined,
  );
  if (!prepared.some((line) => line.kind === 'sales')) throw faults.required('Line');
  const lines = prepared.map((entry) => entry.line);
  numberLines(lines, ctx.existing);

  const sales = prepared.filter((entry) => entry.kind === 'sales');
  const subtotalCents = sales.reduce((sum, entry) => sum + entry.amountCents, 0);
  const discountCents = discountOf(
    prepared.filter((entry) => entry.kind === 'discount'),
    subtotalCents,
  );
  // Outside the US a discount always comes off before tax; in the US ApplyTaxAfterDiscount decides.
  const discountBeforeTax = !us || data.ApplyTaxAfterDiscount === true;
  const summary = computeTax(ctx.company, sales, mode, {
    txnTaxCodeId,
    amountIsGross,
    discountCents,
    discountBeforeTax,
  });
  if (summary.totalCents < 0) {
    // QBO's UI: "a single line on an invoice can be negative but the total invoice cannot be" (code UNCONFIRMED).
    throw faults.business(
      `The total of this ${entity} would be negative (${centsText(summary.totalCents)}). Record a credit as a CreditMemo instead.`,
      'Line',
    );
  }
  if (mode === 'TaxInclusive') {
    // Stored and returned: Amount = net (as sent; the gross with the switch), TaxInclusiveAmt = gross.
    sales.forEach((entry, index) => {
      const detail = asJson(entry.line.SalesItemLineDetail);
      const gross = amountIsGross ? entry.amountCents : summary.lineGrossCents[index];
      if (detail && gross !== undefined) detail.TaxInclusiveAmt = fromCents(gross);
    });
  }
  // QBO puts its subtotal line in front of the discount it applies to (Intuit's invoice samples), else last.
  const subtotal = {
    Amount: fromCents(subtotalCents),
    DetailType: 'SubTotalLineDetail',
    SubTotalLineDetail: {},
  };
  const discountAt = lines.findIndex((line) => line.DetailType === 'DiscountLineDetail');
  lines.splice(discountAt < 0 ? lines.length : discountAt, 0, subtotal);
  data.Line = lines;
  data.TxnTaxDetail = txnTaxDetailJson(summary, txnTaxCodeId);
  data.TotalAmt = fromCents(summary.totalCents);
  setHomeAmount(data, 'HomeTotalAmt', summary.totalCents);

  checkDocNumber(ctx, data, entity);
  data.TxnDate = text(data.TxnDate) || formatTxnDate(ctx.nowMs);
  data.EmailStatus = checkEnum(
    'EmailStatus',
    data.EmailStatus,
    ['NotSet', 'NeedToSend', 'EmailSent'],
    'NotSet',
  );
  data.PrintStatus = checkEnum(
    'PrintStatus',
    data.PrintStatus,
    ['NotSet', 'NeedToPrint', 'PrintComplete'],
    'NotSet',
  );
  checkEmailHolder(ctx, data, 'BillEmail');
  checkEmailHolder(ctx, data, 'BillEmailCc', true);
  checkEmailHolder(ctx, data, 'BillEmailBcc', true);
  if (data.EmailStatus === 'NeedToSend' && text(asJson(data.BillEmail)?.Address) === undefined) {
    throw faults.business(
      `An email address is required to mark this ${entity} to be sent (BillEmail).`,
      'BillEmail',
    );
  }
  if (ctx.existing?.DeliveryInfo !== undefined) data.DeliveryInfo = ctx.existing.DeliveryInfo;
  data.ApplyTaxAfterDiscount ??= false;
  return { totalCents: summary.totalCents };
}

/** LinkedTxn entries for the payments applied to an invoice or credit memo. */
export function paymentLinks(paymentIds: readonly string[]): Json[] {
  return paymentIds.map((id) => ({ TxnId: id, TxnType: 'Payment' }));
}

/**
 * A voided sales form keeps its record with zero amounts and a "Voided" memo. Intuit's invoice page: "all
 * amounts and quantities are zeroed and the string, Voided, is injected into Invoice.PrivateNote, prepended to
 * existing text if present"; its sample response shows lines with Qty 0, Amount 0 and no UnitPrice,
 * TxnTaxDetail {TotalTax: 0}, TotalAmt 0 and Balance 0. The separator after "Voided" is UNCONFIRMED;
 * `markNote: false` (switch `voidNoteMarked`) leaves the memo as it was.
 */
export function voidedSalesForm(form: Json, markNote = true): Json {
  const lines = asArray(form.Line).map((raw) => {
    const line = { ...(asJson(raw) ?? {}) };
    line.Amount = 0;
    const detail = asJson(line.SalesItemLineDetail);
    if (detail) {
      const { UnitPrice: _unitPrice, ...kept } = detail;
      line.SalesItemLineDetail = { ...kept, Qty: 0 };
      if (detail.TaxInclusiveAmt !== undefined) (line.SalesItemLineDetail as Json).TaxInclusiveAmt = 0;
    }
    return line;
  });
  const note = text(form.PrivateNote);
  const voided: Json = {
    ...form,
    Line: lines,
    TxnTaxDetail: { TotalTax: 0 },
    TotalAmt: 0,
    Balance: 0,
    PrivateNote: note ? `Voided - ${note}` : 'Voided',
  };
  if (!markNote) {
    if (note) voided.PrivateNote = note;
    else delete voided.PrivateNote;
  }
  if (form.RemainingCredit !== undefined) voided.RemainingCredit = 0;
  if (form.HomeTotalAmt !== undefined) voided.HomeTotalAmt = 0;
  if (form.HomeBalance !== undefined) voided.HomeBalance = 0;
  return voided;
}
