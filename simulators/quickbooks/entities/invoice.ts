import { formatTxnDate } from '../clock';
import { faults } from '../errors';
import { fromCents, lineAmountCents, toCents } from '../money';
import { type TaxMode, checkLineTaxCode, computeTax, txnTaxDetailJson } from '../tax';
import { type Json, asArray, asJson, asString, refValue } from '../types';
import {
  type EntityModule,
  type WriteContext,
  checkEnum,
  homeCurrency,
  requireActiveRef,
  text,
} from './common';
import { checkEmailHolder } from './contact';
import { appliedToInvoice, paymentsLinkedTo } from './ledger';

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
  sales: boolean;
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
): PreparedLine | undefined {
  const line = asJson(raw);
  if (!line) throw faults.required('Line');
  const detailType = asString(line.DetailType);
  if (detailType === undefined) throw faults.required('Line.DetailType');
  if (!LINE_TYPES.includes(detailType)) throw faults.invalidEnum('Line.DetailType', detailType);
  // The subtotal line is QBO's own, added to every response; a client echoing it back is ignored.
  if (detailType === 'SubTotalLineDetail') return undefined;
  if (detailType === 'DiscountLineDetail' || detailType === 'GroupLineDetail') {
    throw faults.unsupportedOperation(detailType, 'Invoice line (not simulated)');
  }
  if (detailType === 'DescriptionOnly') {
    line.Amount = fromCents(toCents(line.Amount) ?? 0);
    line.DescriptionLineDetail ??= {};
    return { line, amountCents: 0, taxCodeId: undefined, sales: false };
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
  return { line, amountCents, grossCents, taxCodeId, sales: true };
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

function checkDocNumber(ctx: WriteContext, data: Json): void {
  const docNumber = text(data.DocNumber);
  if (docNumber === undefined || docNumber === '') {
    delete data.DocNumber;
    const custom = asJson(ctx.company.preferences.SalesFormsPrefs)?.CustomTxnNumbers === true;
    // With custom transaction numbers on, QBO leaves an omitted DocNumber blank (docs §4.1).
    if (!custom && ctx.op === 'create') data.DocNumber = String(ctx.company.nextDocNumber++);
    return;
  }
  if (docNumber.length > DOC_NUMBER_MAX)
    throw faults.stringLength('DocNumber', DOC_NUMBER_MAX, docNumber.length);
  data.DocNumber = docNumber;
  const unchanged = ctx.existing !== undefined && text(ctx.existing.DocNumber) === docNumber;
  if (unchanged || ctx.includes.has('allowduplicatedocnum')) return;
  for (const other of ctx.company.all('Invoice')) {
    if (other.data.Id !== ctx.id && text(other.data.DocNumber) === docNumber) {
      throw faults.duplicateDocNumber(docNumber, String(other.data.Id));
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

export const invoiceModule: EntityModule = {
  readOnly: [
    'TotalAmt',
    'Balance',
    'HomeTotalAmt',
    'HomeBalance',
    'LinkedTxn',
    'DeliveryInfo',
    'InvoiceLink',
  ],
  recomputed: ['TxnTaxDetail'],

  prepare(ctx, data) {
    if (refValue(data.CustomerRef) === undefined) throw faults.required('CustomerRef');
    requireActiveRef(ctx.company, 'Customer', data.CustomerRef, 'CustomerRef', 'DisplayName');

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
    const prepared = data.Line.map((raw) => prepareLine(ctx, raw, mode, amountIsGross)).filter(
      (line) => line !== undefined,
    );
    if (!prepared.some((line) => line.sales)) throw faults.required('Line');
    const lines = prepared.map((entry) => entry.line);
    numberLines(lines, ctx.existing);

    const sales = prepared.filter((entry) => entry.sales);
    const summary = computeTax(ctx.company, sales, mode, { txnTaxCodeId, amountIsGross });
    if (mode === 'TaxInclusive') {
      // Stored and returned: Amount = net (as sent; the gross with the switch), TaxInclusiveAmt = gross.
      sales.forEach((entry, index) => {
        const detail = asJson(entry.line.SalesItemLineDetail);
        const gross = amountIsGross ? entry.amountCents : summary.lineGrossCents[index];
        if (detail && gross !== undefined) detail.TaxInclusiveAmt = fromCents(gross);
      });
    }
    const subtotalCents = sales.reduce((sum, entry) => sum + entry.amountCents, 0);
    lines.push({
      Amount: fromCents(subtotalCents),
      DetailType: 'SubTotalLineDetail',
      SubTotalLineDetail: {},
    });
    data.Line = lines;
    data.TxnTaxDetail = txnTaxDetailJson(summary, txnTaxCodeId);
    data.TotalAmt = fromCents(summary.totalCents);
    const appliedCents = appliedToInvoice(ctx.company, ctx.id);
    if (appliedCents > summary.totalCents) {
      throw faults.business(
        'The invoice total cannot be less than the payments already applied to it.',
        'Line',
      );
    }
    data.Balance = fromCents(summary.totalCents - appliedCents);
    const linked = paymentsLinkedTo(ctx.company, ctx.id);
    if (linked.length > 0) data.LinkedTxn = linked.map((id) => ({ TxnId: id, TxnType: 'Payment' }));
    if (ctx.existing?.DeliveryInfo !== undefined) data.DeliveryInfo = ctx.existing.DeliveryInfo;

    checkDocNumber(ctx, data);
    data.TxnDate = text(data.TxnDate) || formatTxnDate(ctx.nowMs);
    data.DueDate = text(data.DueDate) || data.TxnDate;
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
        'An email address is required to mark this invoice to be sent (BillEmail).',
        'BillEmail',
      );
    }
    data.CurrencyRef ??= homeCurrency(ctx.company);
    data.ApplyTaxAfterDiscount ??= false;
    data.Deposit ??= 0;
    data.AllowOnlinePayment ??= false;
    return data;
  },
};

/** A voided invoice keeps its record with zero amounts and a "Voided" memo (UNCONFIRMED look, docs §4.1). */
export function voidedInvoice(invoice: Json): Json {
  const lines = asArray(invoice.Line).map((raw) => {
    const line = { ...(asJson(raw) ?? {}) };
    line.Amount = 0;
    const detail = asJson(line.SalesItemLineDetail);
    if (detail) {
      line.SalesItemLineDetail = { ...detail, Qty: 0 };
      if (detail.TaxInclusiveAmt !== undefined) (line.SalesItemLineDetail as Json).TaxInclusiveAmt = 0;
    }
    return line;
  });
  const note = text(invoice.PrivateNote);
  return {
    ...invoice,
    Line: lines,
    TxnTaxDetail: { TotalTax: 0 },
    TotalAmt: 0,
    Balance: 0,
    PrivateNote: note ? `Voided - ${note}` : 'Voided',
  };
}
