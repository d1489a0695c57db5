/**
 * INV-3, the red X: why an approved invoice is not in QuickBooks, as a stable code plus a sentence a
 * bookkeeper understands. Codes never change meaning (support, search attributes and job notes use them).
 */
import { fingerprint } from '../fingerprint';
import { formatMoney } from '../money';

export const ReasonCode = {
  noClient: 'NO_CLIENT',
  clientInactive: 'CLIENT_INACTIVE',
  customerGone: 'CUSTOMER_GONE_IN_QBO',
  noBillableLines: 'NO_BILLABLE_LINES',
  zeroAfterExport: 'ZERO_AFTER_EXPORT',
  negativeTotal: 'NEGATIVE_TOTAL',
  currencyMismatch: 'CURRENCY_MISMATCH',
  taxRateUnmapped: 'TAX_RATE_UNMAPPED',
  usTaxUnsupported: 'US_TAX_UNSUPPORTED',
  nameTaken: 'NAME_TAKEN_IN_QBO',
  itemNameTaken: 'ITEM_NAME_TAKEN_IN_QBO',
  itemInactive: 'ITEM_INACTIVE_IN_QBO',
  itemGone: 'ITEM_GONE_IN_QBO',
  nameShared: 'NAME_SHARED_IN_SM8',
  clientRefused: 'CLIENT_REFUSED_BY_QBO',
  clientChangeRefused: 'CLIENT_CHANGE_REFUSED_BY_QBO',
  duplicateDocNumber: 'DUPLICATE_DOC_NUMBER',
  totalMismatch: 'TOTAL_MISMATCH',
  noIncomeAccount: 'NO_INCOME_ACCOUNT',
  qboValidation: 'QBO_VALIDATION',
  needsReauth: 'CONNECTION_NEEDS_REAUTH',
  connectionPaused: 'CONNECTION_PAUSED',
} as const;

/**
 * Reasons that may come from tax facts: a plan held for one reads the facts again once, and a tax pass that
 * changed ServiceM8's rates wakes the invoices held for one, so their reason is current (TAX-3, issue 13).
 */
export const TAX_REASON_CODES: readonly string[] = [
  ReasonCode.taxRateUnmapped,
  ReasonCode.usTaxUnsupported,
  ReasonCode.totalMismatch,
];

export type ReasonCodeName = (typeof ReasonCode)[keyof typeof ReasonCode];

export interface Reason {
  code: ReasonCodeName;
  text: string;
}

const q = (s: string) => `"${s}"`;

export const reasons = {
  noClient: (): Reason => ({
    code: ReasonCode.noClient,
    text: 'The job has no client: choose a client on the job in ServiceM8.',
  }),
  clientInactive: (name: string): Reason => ({
    code: ReasonCode.clientInactive,
    text: `The job's client ${q(name)} is inactive in QuickBooks: make the customer active in QuickBooks or pick another client.`,
  }),
  /** CM-10 with the merge unheard (activities/clients-materials/merges.ts). */
  customerGone: (client: string, goneId: string, survivorOfOther?: string): Reason => ({
    code: ReasonCode.customerGone,
    text: survivorOfOther
      ? `The QuickBooks customer of the job's client ${q(client)} (Id ${goneId}) was merged into the customer with Id ${survivorOfOther}, which is the customer of another ServiceM8 client, and QuickBooks keeps one customer per client: give the job that other client, or rename ${q(client)} in ServiceM8 to have a customer of its own made, then press Sync again.`
      : `The QuickBooks customer of the job's client ${q(client)} (Id ${goneId}) no longer exists in QuickBooks: it was merged into another customer, and no invoice of the client shows which one. The link was removed, so Sync again links the client by name (to the QuickBooks customer named ${q(client)}, or a new one); to use the customer it was merged into, first rename the client in ServiceM8 to that customer's name.`,
  }),
  itemInactive: (item: string, material: string): Reason => ({
    code: ReasonCode.itemInactive,
    text: `The QuickBooks product/service ${q(item)} of the material ${q(material)} is inactive in QuickBooks: make it active in QuickBooks, or use another material on the job.`,
  }),
  itemGone: (material: string, goneId: string): Reason => ({
    code: ReasonCode.itemGone,
    text: `The QuickBooks product/service of the material ${q(material)} (Id ${goneId}) no longer exists in QuickBooks: it was merged into another one or deleted. The link was removed, so the next look links the material by name (to the QuickBooks product/service named ${q(material)}, or a new one); to use the one it was merged into, first rename the material in ServiceM8 to its name.`,
  }),
  noBillableLines: (): Reason => ({
    code: ReasonCode.noBillableLines,
    text: 'The invoice has no billable lines: add materials or labour to the job in ServiceM8.',
  }),
  zeroAfterExport: (invoiceId: string): Reason => ({
    code: ReasonCode.zeroAfterExport,
    text: `The job's total is now zero, but its invoice ${q(invoiceId)} is already in QuickBooks, which keeps its old lines and total: add the lines back in ServiceM8, or void the invoice in QuickBooks if the work was cancelled.`,
  }),
  /** A credit (docs/decisions.md, "A negative-total job is held, not posted as a credit memo"). */
  negativeTotal: (cents: number): Reason => ({
    code: ReasonCode.negativeTotal,
    text: `The job's total is negative (${formatMoney(cents)}), a credit: QuickBooks takes no negative invoice and this sync does not post credit memos, so nothing was sent. In QuickBooks, enter a credit memo for the customer and apply it to the invoice it reverses (Receive payment); or correct the job in ServiceM8.`,
  }),
  /** The same after export: the QuickBooks invoice keeps its old total (as with ZERO_AFTER_EXPORT). */
  negativeAfterExport: (cents: number, invoiceId: string): Reason => ({
    code: ReasonCode.negativeTotal,
    text: `The job's total is now negative (${formatMoney(cents)}), but its invoice ${q(invoiceId)} is already in QuickBooks, which keeps its old lines and total: QuickBooks takes no negative invoice and this sync does not post credit memos. In QuickBooks, enter a credit memo for the customer and apply it to that invoice (Receive payment); or correct the job in ServiceM8.`,
  }),
  currencyMismatch: (customer: string, currency: string, home: string): Reason => ({
    code: ReasonCode.currencyMismatch,
    text: `The QuickBooks customer ${q(customer)} uses ${currency}, but the job's amounts are in ${home}, the QuickBooks company's home currency, so nothing was sent (the amounts would be read as ${currency}). Link this client to a customer in ${home} (rename one of them), then sync the job again.`,
  }),
  taxRateUnmapped: (line: string, rate: string): Reason => ({
    code: ReasonCode.taxRateUnmapped,
    text: `Line ${q(line)} uses tax rate ${q(rate)} which does not exist in QuickBooks: create a matching tax code in QuickBooks or change the line's tax rate.`,
  }),
  usTaxUnsupported: (): Reason => ({
    code: ReasonCode.usTaxUnsupported,
    text: 'This QuickBooks company uses US sales tax, which this sync does not post yet: the invoice is held rather than posted with the wrong tax.',
  }),
  nameTaken: (name: string, holder: string): Reason => ({
    code: ReasonCode.nameTaken,
    text: `QuickBooks already uses the name ${q(name)} for a ${holder}: rename the client in ServiceM8 or the ${holder} in QuickBooks (QuickBooks error 6240).`,
  }),
  itemNameTaken: (name: string, detail: string): Reason => ({
    code: ReasonCode.itemNameTaken,
    text: `QuickBooks refused the product/service ${q(name)}: ${detail} (QuickBooks error 6240).`,
  }),
  /**
   * Two ServiceM8 records whose names are one name in QuickBooks (`name`, as QuickBooks compares it). `sm8Names`
   * are the two records' own names where known: when QuickBooks' rules made them one (no ':', at most 100
   * characters), the sentence says so.
   */
  nameShared: (
    kind: 'client' | 'material',
    name: string,
    linkedTo: string,
    sm8Names: { mine?: string; other?: string } = {},
  ): Reason => {
    const plain = (n: string) => n.trim().replace(/\s+/g, ' ').toLowerCase();
    const byRules = [sm8Names.mine, sm8Names.other].some((n) => n !== undefined && plain(n) !== plain(name));
    const other = sm8Names.other ? `, ${q(sm8Names.other.trim())},` : '';
    const why = byRules
      ? ' in QuickBooks (QuickBooks names have no ":" and at most 100 characters)'
      : ' (apart from capitals or spaces)';
    return {
      code: ReasonCode.nameShared,
      text:
        kind === 'client'
          ? `Another ServiceM8 client${other} has the name ${q(name)}${why} and is already linked to the QuickBooks customer ${q(linkedTo)}; QuickBooks needs each customer name once: rename one of the two clients in ServiceM8, then sync the job again.`
          : `Another ServiceM8 material${other} has the name ${q(name)}${why} and is already linked to the QuickBooks product/service ${q(linkedTo)}; QuickBooks needs each product/service name once: rename one of the two materials in ServiceM8, then sync the job again.`,
    };
  },
  clientRefused: (name: string, message: string, code: string | null): Reason => ({
    code: ReasonCode.clientRefused,
    text: `QuickBooks refused the job's client ${q(name)} as a customer: ${message}${code ? ` (QuickBooks error ${code})` : ''}. Correct the client in ServiceM8, then sync the job again.`,
  }),
  /**
   * INV-11: the job's client changed after export and QuickBooks would not move the invoice to the new
   * customer (`paid`: payments are applied to it, the usual cause). Names where known.
   */
  clientChangeRefused: (
    invoiceId: string,
    names: { from?: string; to?: string },
    paid: boolean,
    message: string,
    code: string | null,
  ): Reason => {
    const from = names.from ? ` from ${q(names.from)}` : '';
    const to = names.to ? ` to ${q(names.to)}` : '';
    const back = names.from ? ` to ${q(names.from)}` : '';
    return {
      code: ReasonCode.clientChangeRefused,
      text:
        `The job's client changed${from}${to} after its invoice ${q(invoiceId)} went to QuickBooks, and QuickBooks kept the invoice on the old customer${paid ? ' because payments are applied to it' : ''}: ${message}${code ? ` (QuickBooks error ${code})` : ''}. ` +
        (paid
          ? `Either take the payments off the invoice in QuickBooks (and record them for the new customer), or set the job's client back${back} in ServiceM8; the invoice then follows by itself.`
          : `Either change the invoice's customer in QuickBooks yourself, or set the job's client back${back} in ServiceM8; the sync then goes on by itself.`),
    };
  },
  duplicateDocNumber: (docNumber: string): Reason => ({
    code: ReasonCode.duplicateDocNumber,
    text: `QuickBooks already has another invoice numbered ${q(docNumber)}: renumber or delete that invoice in QuickBooks (QuickBooks error 6140).`,
  }),
  /**
   * `rateDiffers`: a tax rate of the job whose percentage differs from its QuickBooks tax code's (the usual
   * cause: a rate edited on one side); without one, ServiceM8's total does not add up from its lines.
   */
  totalMismatch: (
    sm8Cents: number,
    qboCents: number,
    rateDiffers?: { name: string; sm8Percent: string; qboPercent: string },
  ): Reason => ({
    code: ReasonCode.totalMismatch,
    text: `The invoice total would differ between the systems (ServiceM8 ${formatMoney(sm8Cents)}, QuickBooks ${formatMoney(qboCents)}), so it was not posted: ${
      rateDiffers
        ? `tax rate ${q(rateDiffers.name)} is ${rateDiffers.sm8Percent}% in ServiceM8 but its QuickBooks tax code is ${rateDiffers.qboPercent}%. Make them agree (QuickBooks' value comes back to ServiceM8 at the next tax sync); the invoice is then posted by itself.`
        : "ServiceM8's total does not add up from the job's lines. Re-save the job's lines in ServiceM8 so it recomputes the total; the invoice is then posted by itself."
    }`,
  }),
  noIncomeAccount: (): Reason => ({
    code: ReasonCode.noIncomeAccount,
    text: 'QuickBooks has no active income account to post new products/services to: create one in QuickBooks.',
  }),
  qboValidation: (message: string, code: string | null): Reason => ({
    code: ReasonCode.qboValidation,
    text: `QuickBooks refused the invoice: ${message}${code ? ` (QuickBooks error ${code})` : ''}.`,
  }),
  needsReauth: (): Reason => ({
    code: ReasonCode.needsReauth,
    text: 'The connection to QuickBooks or ServiceM8 needs to be authorised again: reconnect it; the invoice is exported right after.',
  }),
  connectionPaused: (): Reason => ({
    code: ReasonCode.connectionPaused,
    text: 'The connection is paused: resume it to export this invoice.',
  }),
};

/**
 * INV-10: the note on a job deleted or un-approved after its invoice went to QuickBooks (issue 13: approving
 * again re-syncs; a void only if the work was cancelled).
 */
export function jobGoneAfterExportNote(what: 'deleted' | 'un-approved', invoiceId: string): string {
  const advice =
    what === 'un-approved'
      ? 'Approve the job again to send its current lines and total to that invoice; void it in QuickBooks only if the work was cancelled.'
      : 'Void or adjust it in QuickBooks if the work was cancelled.';
  return `this job was ${what} after its invoice was sent to QuickBooks; the QuickBooks invoice ${invoiceId} was left unchanged. ${advice}`;
}

/**
 * The key a job note is written once under: its reason code (or event) and its wording, so the same reason
 * again adds nothing and a different one of the same code (another line, another rate) gets its own note.
 */
export function jobNoteKey(key: string, text: string): string {
  return `${key}#${fingerprint(text).slice(0, 12)}`;
}
