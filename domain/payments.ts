/**
 * The payments of one exported invoice (PAY-1 … PAY-6), as pure decisions: given what each side holds now and
 * the links between them, what must the owner do so that both sides hold the same payments?
 *
 * Rules in one place:
 *  - a linked payment takes QuickBooks' figures (amount applied to this invoice, date): after a payment is
 *    sent, QuickBooks holds the ledger (INV-10). A QuickBooks change updates ServiceM8 (PAY-2), a ServiceM8
 *    edit or delete is reverted (PAY-4), a QuickBooks delete/void/unapply removes it in ServiceM8 (PAY-3);
 *  - an unlinked active ServiceM8 payment is sent to QuickBooks (PAY-1), an unlinked QuickBooks payment is
 *    mirrored into ServiceM8 (PAY-2), unless a marker says it is our own copy (PAY-5): then it is linked
 *    (adopted: a write whose answer or link was lost), never mirrored back.
 */
import { fingerprint } from './fingerprint';
import { formatMoney, toCents } from './money';
import { flag, sm8Date, type Sm8JobPayment } from './servicem8-types';

export interface Sm8PaymentView {
  uuid: string;
  amountCents: number;
  /** YYYY-MM-DD of the payment's timestamp, null when unset. */
  date: string | null;
  method: string;
  note: string;
  active: boolean;
}

/** A ServiceM8 payment as the payments owner keeps it (a read, a poll hit's record, or our write). */
export function sm8View(p: Sm8JobPayment): Sm8PaymentView {
  return {
    uuid: p.uuid,
    amountCents: toCents(p.amount) ?? 0,
    date: sm8Date(p.timestamp),
    method: p.method ?? '',
    note: p.note ?? '',
    active: flag(p.active),
  };
}

/** Whether two views of one ServiceM8 payment say the same (nothing the owner follows changed). */
export function sameSm8View(a: Sm8PaymentView, b: Sm8PaymentView): boolean {
  return (
    a.uuid === b.uuid &&
    a.amountCents === b.amountCents &&
    a.date === b.date &&
    a.method === b.method &&
    a.note === b.note &&
    a.active === b.active
  );
}

export interface QboPaymentView {
  id: string;
  /** TxnDate, YYYY-MM-DD. */
  date: string;
  /** The amount this payment applies to this invoice (0 once voided or unapplied). */
  amountCents: number;
  /**
   * PAY-8: the payment's UnappliedAmt (money received but applied to no invoice: a credit of the customer);
   * absent in views kept before PAY-8 (read as 0).
   */
  unappliedCents?: number;
  privateNote: string;
  methodName: string | null;
  refNum: string | null;
  /**
   * The version read (`qboPaymentVersion`: LastUpdatedTime and SyncToken), so a poll hit for the same version
   * wakes nobody (issue 12); absent in views kept before it, and where the answer had no time.
   */
  version?: string;
}

/** A QuickBooks payment's version as a poll hit names it: its LastUpdatedTime (to the ms) and SyncToken. */
export function qboPaymentVersion(
  lastUpdated: string | undefined,
  syncToken: string | undefined,
): string | null {
  const ms = lastUpdated ? Date.parse(lastUpdated) : NaN;
  return Number.isNaN(ms) || !syncToken ? null : `${ms}#${syncToken}`;
}

export type PaymentOrigin = 'sm8' | 'qbo';

export interface PaymentLinkView {
  sm8Uuid: string;
  qboPaymentId: string | null;
  origin: PaymentOrigin;
  state: 'linked' | 'deleted';
  sm8Fingerprint: string | null;
  qboFingerprint: string | null;
}

export interface PaymentSides {
  sm8: Sm8PaymentView[];
  qbo: QboPaymentView[];
  links: PaymentLinkView[];
}

/** Why ServiceM8 is written for a linked payment. */
export type Sm8UpdateCause = 'qbo_changed' | 'sm8_edited' | 'sm8_deleted' | 'qbo_reapplied';

export type PaymentAction =
  /** A copy we made earlier whose link was lost: record the link, write nothing. */
  | { kind: 'adopt'; sm8Uuid: string; qboPaymentId: string; origin: PaymentOrigin }
  /**
   * PAY-1; PAY-8: `appliedCents` (≤ amountCents) is what goes on the invoice's line, the rest of the
   * payment's TotalAmt (= amountCents) stays unapplied, a credit of the customer.
   */
  | {
      kind: 'send_to_qbo';
      sm8Uuid: string;
      amountCents: number;
      appliedCents: number;
      date: string | null;
      method: string;
    }
  /** PAY-2 */
  | {
      kind: 'mirror_to_sm8';
      qboPaymentId: string;
      amountCents: number;
      date: string;
      method: string | null;
      refNum: string | null;
    }
  /** PAY-2 (later change), PAY-4 (restore / revert an edit) */
  | {
      kind: 'update_sm8';
      sm8Uuid: string;
      qboPaymentId: string;
      amountCents: number;
      date: string;
      activate: boolean;
      cause: Sm8UpdateCause;
      was: { amountCents: number; date: string | null; active: boolean };
    }
  /** PAY-3; `active` false: already inactive in ServiceM8, only the link is marked. */
  | { kind: 'remove_from_sm8'; sm8Uuid: string; qboPaymentId: string | null; active: boolean }
  /** Both sides agree but the stored fingerprints are stale. */
  | { kind: 'refresh_link'; sm8Uuid: string; fingerprint: string }
  /** A payment that cannot be sent (a reason, not a failure). */
  | { kind: 'refuse'; sm8Uuid: string; code: 'PAYMENT_NEGATIVE' | 'PAYMENT_INVOICE_PAID'; text: string };

/** PrivateNote marker of a QuickBooks payment we created from a ServiceM8 payment (PAY-1, PAY-5). */
export function sm8PaymentMarker(sm8Uuid: string): string {
  return `[sm8:payment:${sm8Uuid}]`;
}

/** Note marker of a ServiceM8 payment we created from a QuickBooks payment's application to an invoice. */
export function qboPaymentMarker(qboPaymentId: string, qboInvoiceId: string): string {
  return `[qbo:payment:${qboPaymentId}:invoice:${qboInvoiceId}]`;
}

export function markedSm8Uuid(privateNote: string | null | undefined): string | null {
  return /\[sm8:payment:([0-9a-fA-F-]{8,})\]/.exec(privateNote ?? '')?.[1] ?? null;
}

export function markedQboPayment(
  note: string | null | undefined,
): { qboPaymentId: string; qboInvoiceId: string } | null {
  const m = /\[qbo:payment:([^:\]]+):invoice:([^\]]+)\]/.exec(note ?? '');
  return m?.[1] && m[2] ? { qboPaymentId: m[1], qboInvoiceId: m[2] } : null;
}

/** Fingerprint of a payment's mapped fields (amount on this invoice, date): equal = nothing to do / our echo. */
export function paymentFingerprint(p: { amountCents: number; date: string | null }): string {
  return fingerprint({ amountCents: p.amountCents, date: p.date });
}

/**
 * PAY-8: what QuickBooks received for this job through one payment: the amount applied to this invoice, plus
 * the unapplied rest (the customer's credit) when the payment is our copy of one of this job's ServiceM8
 * payments and still applies to the invoice. A QuickBooks-born payment's unapplied rest is not this job's
 * (PAY-2 mirrors the line's amount only), and one no longer applied here is gone from this invoice (PAY-3).
 */
export function receivedCents(q: QboPaymentView, jobSm8Uuids: ReadonlySet<string>): number {
  const ours = jobSm8Uuids.has(markedSm8Uuid(q.privateNote) ?? '');
  return q.amountCents + (ours && q.amountCents > 0 ? Math.max(0, q.unappliedCents ?? 0) : 0);
}

/**
 * PAY-6 read with PAY-8: what ServiceM8 says was paid (active payments) against what QuickBooks received for
 * the job (`qboCents`: applied to the invoice plus the unapplied rest of the payments sent from this job);
 * `qboAppliedCents` is the part applied to the invoice.
 */
export function paymentTotals(sides: Pick<PaymentSides, 'sm8' | 'qbo'>): {
  sm8Cents: number;
  qboCents: number;
  qboAppliedCents: number;
} {
  const uuids = new Set(sides.sm8.map((p) => p.uuid));
  return {
    sm8Cents: sides.sm8.filter((p) => p.active).reduce((sum, p) => sum + p.amountCents, 0),
    qboCents: sides.qbo.reduce((sum, p) => sum + receivedCents(p, uuids), 0),
    qboAppliedCents: sides.qbo.reduce((sum, p) => sum + p.amountCents, 0),
  };
}

/**
 * PAY-8: the note on the job when a payment was more than the invoice's open balance in QuickBooks: the
 * balance was applied, the rest is the customer's credit there.
 */
export function overpaymentText(p: {
  amountCents: number;
  appliedCents: number;
  date: string | null;
}): string {
  const rest = formatMoney(p.amountCents - p.appliedCents);
  return `the payment of ${formatMoney(p.amountCents)}${p.date ? ` on ${p.date}` : ''} is more than the ${formatMoney(p.appliedCents)} still owing on this invoice in QuickBooks. It was sent to QuickBooks in full: ${formatMoney(p.appliedCents)} pays off the invoice and the other ${rest} is kept in QuickBooks as a credit for the customer (an unapplied payment). In QuickBooks, apply that credit to another invoice of the customer or refund it.`;
}

/** PAY-8: a payment that finds the invoice already paid in full in QuickBooks is held, not sent. */
export function invoicePaidText(p: Pick<Sm8PaymentView, 'amountCents' | 'date'>): string {
  return `the payment of ${formatMoney(p.amountCents)}${p.date ? ` on ${p.date}` : ''} was not sent to QuickBooks: the invoice is already paid in full there, so none of it can be applied to the invoice. If the customer really paid twice, record it in QuickBooks as a payment of the customer (a credit) and apply it or refund it there; if it was recorded by mistake, delete it in ServiceM8. Until then the invoice's payments in the two programs differ by ${formatMoney(p.amountCents)}.`;
}

/**
 * PAY-7: a negative ServiceM8 payment (a refund) is held, not posted (docs/decisions.md, "A refund recorded in
 * ServiceM8"): QuickBooks has no negative payment, and its refund records (a RefundReceipt with lines and tax,
 * or a cheque against a credit memo) need what ServiceM8 does not record: the account the money left from and
 * what was refunded. The bookkeeper records it in QuickBooks; the invoice's payments differ by it between the two
 * programs (a refund receipt does not change what was applied to the invoice), which PAY-6 reports.
 */
export function refundHeldText(p: Pick<Sm8PaymentView, 'amountCents' | 'date'>): string {
  return `the payment of ${formatMoney(p.amountCents)}${p.date ? ` on ${p.date}` : ''} is a refund, so it was not sent to QuickBooks: QuickBooks has no negative payments, and a refund there (a refund receipt, or a cheque against a credit memo) needs the account the money was paid from, which ServiceM8 does not record. Record the refund in QuickBooks. This payment stays as it is in ServiceM8, so the invoice's payments in the two programs differ by ${formatMoney(-p.amountCents)}.`;
}

/**
 * `invoiceTotalCents`: the invoice's TotalAmt in QuickBooks when the caller knows it (PAY-8): a payment above
 * the open balance (total − what the invoice's QuickBooks payments apply to it − what earlier sends of this
 * plan apply) is sent with the balance applied and the rest unapplied; with no balance left it is held.
 * Unknown, every payment is sent as applied in full (QuickBooks refuses an overpayment: PAYMENT_REFUSED).
 */
export function planPayments(
  qboInvoiceId: string,
  sides: PaymentSides,
  opts: { invoiceTotalCents?: number | null } = {},
): PaymentAction[] {
  const actions: PaymentAction[] = [];
  const jobSm8 = new Set(sides.sm8.map((p) => p.uuid));
  const sm8ByUuid = new Map(sides.sm8.map((p) => [p.uuid, p]));
  const qboById = new Map(sides.qbo.map((p) => [p.id, p]));
  const links = [...sides.links];
  const linkedSm8 = new Set(links.map((l) => l.sm8Uuid));
  const linkedQbo = new Set(links.flatMap((l) => (l.qboPaymentId ? [l.qboPaymentId] : [])));

  // PAY-5: copies we made whose link was not stored (a lost answer, a crash) are adopted, never mirrored back.
  const adopt = (sm8Uuid: string, qboPaymentId: string, origin: PaymentOrigin) => {
    actions.push({ kind: 'adopt', sm8Uuid, qboPaymentId, origin });
    links.push({
      sm8Uuid,
      qboPaymentId,
      origin,
      state: 'linked',
      sm8Fingerprint: null,
      qboFingerprint: null,
    });
    linkedSm8.add(sm8Uuid);
    linkedQbo.add(qboPaymentId);
  };
  for (const s of sides.sm8) {
    const m = markedQboPayment(s.note);
    if (!m || linkedSm8.has(s.uuid) || m.qboInvoiceId !== qboInvoiceId || linkedQbo.has(m.qboPaymentId))
      continue;
    adopt(s.uuid, m.qboPaymentId, 'qbo');
  }
  for (const q of sides.qbo) {
    const uuid = markedSm8Uuid(q.privateNote);
    if (!uuid || linkedQbo.has(q.id) || linkedSm8.has(uuid) || !sm8ByUuid.has(uuid)) continue;
    adopt(uuid, q.id, 'sm8');
  }

  for (const link of links) {
    const s = sm8ByUuid.get(link.sm8Uuid);
    if (!s) continue; // ServiceM8 deletes softly: a record missing from the job's list is not ours to judge
    const q0 = link.qboPaymentId ? qboById.get(link.qboPaymentId) : undefined;
    const q = q0 && q0.amountCents > 0 ? q0 : undefined;
    if (!q) {
      // PAY-3: deleted, voided or unapplied in QuickBooks.
      if (s.active || link.state !== 'deleted')
        actions.push({
          kind: 'remove_from_sm8',
          sm8Uuid: s.uuid,
          qboPaymentId: link.qboPaymentId,
          active: s.active,
        });
      continue;
    }
    // PAY-8: our payment stands for the whole ServiceM8 payment, its unapplied rest included.
    const qAmount = receivedCents(q, jobSm8);
    const qFp = paymentFingerprint({ amountCents: qAmount, date: q.date });
    // A ServiceM8 payment without a date took QuickBooks' (TxnDate defaults to today): not an edit.
    const sFp = paymentFingerprint({ amountCents: s.amountCents, date: s.date ?? q.date });
    const was = { amountCents: s.amountCents, date: s.date, active: s.active };
    const update = (cause: Sm8UpdateCause) =>
      actions.push({
        kind: 'update_sm8',
        sm8Uuid: s.uuid,
        qboPaymentId: q.id,
        amountCents: qAmount,
        date: q.date,
        activate: !s.active,
        cause,
        was,
      });
    if (link.state === 'deleted') update('qbo_reapplied');
    else if (!s.active)
      update('sm8_deleted'); // PAY-4
    else if (sFp !== qFp) update(qFp !== link.qboFingerprint ? 'qbo_changed' : 'sm8_edited');
    else if (link.sm8Fingerprint !== sFp || link.qboFingerprint !== qFp)
      actions.push({ kind: 'refresh_link', sm8Uuid: s.uuid, fingerprint: qFp });
  }

  // PAY-8: the open balance, from what the plan already holds (no read).
  let open =
    opts.invoiceTotalCents === undefined || opts.invoiceTotalCents === null
      ? null
      : opts.invoiceTotalCents - sides.qbo.reduce((sum, q) => sum + Math.max(0, q.amountCents), 0);
  // The earliest payments pay the invoice; the one that goes over it is the later one (stable for a date).
  const byDate = [...sides.sm8].sort((a, b) => (a.date ?? '9999').localeCompare(b.date ?? '9999'));
  for (const s of byDate) {
    if (linkedSm8.has(s.uuid) || !s.active || s.amountCents === 0) continue;
    if (markedQboPayment(s.note)) continue; // our copy of a QuickBooks payment of another invoice (PAY-5)
    if (s.amountCents < 0) {
      actions.push({ kind: 'refuse', sm8Uuid: s.uuid, code: 'PAYMENT_NEGATIVE', text: refundHeldText(s) });
      continue;
    }
    if (open !== null && open <= 0) {
      actions.push({
        kind: 'refuse',
        sm8Uuid: s.uuid,
        code: 'PAYMENT_INVOICE_PAID',
        text: invoicePaidText(s),
      });
      continue;
    }
    const appliedCents = open === null ? s.amountCents : Math.min(s.amountCents, open);
    if (open !== null) open -= appliedCents;
    actions.push({
      kind: 'send_to_qbo',
      sm8Uuid: s.uuid,
      amountCents: s.amountCents,
      appliedCents,
      date: s.date,
      method: s.method,
    });
  }

  for (const q of sides.qbo) {
    if (linkedQbo.has(q.id) || q.amountCents <= 0) continue;
    // Our own payment for a payment of this job is adopted above. One carrying the marker of another job's
    // payment was moved to this invoice by the bookkeeper (its first job lost it, PAY-3): mirror it here.
    const marked = markedSm8Uuid(q.privateNote);
    if (marked && sm8ByUuid.has(marked)) continue;
    actions.push({
      kind: 'mirror_to_sm8',
      qboPaymentId: q.id,
      amountCents: q.amountCents,
      date: q.date,
      method: q.methodName,
      refNum: q.refNum,
    });
  }
  return actions;
}

/** Actions that write to either system (the rest only touch our own records or report). */
export function writesSomething(action: PaymentAction): boolean {
  return action.kind !== 'adopt' && action.kind !== 'refresh_link' && action.kind !== 'refuse';
}
