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
import { formatMoney } from './money';

export interface Sm8PaymentView {
  uuid: string;
  amountCents: number;
  /** YYYY-MM-DD of the payment's timestamp, null when unset. */
  date: string | null;
  method: string;
  note: string;
  active: boolean;
}

export interface QboPaymentView {
  id: string;
  /** TxnDate, YYYY-MM-DD. */
  date: string;
  /** The amount this payment applies to this invoice (0 once voided or unapplied). */
  amountCents: number;
  privateNote: string;
  methodName: string | null;
  refNum: string | null;
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
  /** PAY-1 */
  | { kind: 'send_to_qbo'; sm8Uuid: string; amountCents: number; date: string | null; method: string }
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
  | { kind: 'refuse'; sm8Uuid: string; code: 'PAYMENT_NEGATIVE'; text: string };

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

/** PAY-6: what ServiceM8 says was paid (active payments) and what QuickBooks applied to the invoice. */
export function paymentTotals(sides: Pick<PaymentSides, 'sm8' | 'qbo'>): {
  sm8Cents: number;
  qboCents: number;
} {
  return {
    sm8Cents: sides.sm8.filter((p) => p.active).reduce((sum, p) => sum + p.amountCents, 0),
    qboCents: sides.qbo.reduce((sum, p) => sum + p.amountCents, 0),
  };
}

export function planPayments(qboInvoiceId: string, sides: PaymentSides): PaymentAction[] {
  const actions: PaymentAction[] = [];
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
    const qFp = paymentFingerprint(q);
    // A ServiceM8 payment without a date took QuickBooks' (TxnDate defaults to today): not an edit.
    const sFp = paymentFingerprint({ amountCents: s.amountCents, date: s.date ?? q.date });
    const was = { amountCents: s.amountCents, date: s.date, active: s.active };
    const update = (cause: Sm8UpdateCause) =>
      actions.push({
        kind: 'update_sm8',
        sm8Uuid: s.uuid,
        qboPaymentId: q.id,
        amountCents: q.amountCents,
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

  for (const s of sides.sm8) {
    if (linkedSm8.has(s.uuid) || !s.active || s.amountCents === 0) continue;
    if (markedQboPayment(s.note)) continue; // our copy of a QuickBooks payment of another invoice (PAY-5)
    if (s.amountCents < 0) {
      actions.push({
        kind: 'refuse',
        sm8Uuid: s.uuid,
        code: 'PAYMENT_NEGATIVE',
        text: `the payment of ${formatMoney(s.amountCents)} (a refund) was not sent to QuickBooks: QuickBooks payments cannot be negative. Record the refund in QuickBooks.`,
      });
      continue;
    }
    actions.push({
      kind: 'send_to_qbo',
      sm8Uuid: s.uuid,
      amountCents: s.amountCents,
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
