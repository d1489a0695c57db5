/**
 * INV-3, the red X: why an approved invoice is not in QuickBooks, as a stable code plus a sentence a
 * bookkeeper understands. Codes never change meaning (support, search attributes and job notes use them).
 */
import { formatMoney } from '../money';

export const ReasonCode = {
  noClient: 'NO_CLIENT',
  clientInactive: 'CLIENT_INACTIVE',
  noBillableLines: 'NO_BILLABLE_LINES',
  taxRateUnmapped: 'TAX_RATE_UNMAPPED',
  usTaxUnsupported: 'US_TAX_UNSUPPORTED',
  nameTaken: 'NAME_TAKEN_IN_QBO',
  itemNameTaken: 'ITEM_NAME_TAKEN_IN_QBO',
  duplicateDocNumber: 'DUPLICATE_DOC_NUMBER',
  totalMismatch: 'TOTAL_MISMATCH',
  noIncomeAccount: 'NO_INCOME_ACCOUNT',
  qboValidation: 'QBO_VALIDATION',
  needsReauth: 'CONNECTION_NEEDS_REAUTH',
  connectionPaused: 'CONNECTION_PAUSED',
} as const;

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
  noBillableLines: (): Reason => ({
    code: ReasonCode.noBillableLines,
    text: 'The invoice has no billable lines: add materials or labour to the job in ServiceM8.',
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
  duplicateDocNumber: (docNumber: string): Reason => ({
    code: ReasonCode.duplicateDocNumber,
    text: `QuickBooks already has another invoice numbered ${q(docNumber)}: renumber or delete that invoice in QuickBooks (QuickBooks error 6140).`,
  }),
  totalMismatch: (sm8Cents: number, qboCents: number): Reason => ({
    code: ReasonCode.totalMismatch,
    text: `The invoice total would differ between the systems (ServiceM8 ${formatMoney(sm8Cents)}, QuickBooks ${formatMoney(qboCents)}), so it was not posted: check the lines' tax settings (inc/ex tax) in ServiceM8.`,
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
