/**
 * One pass of a payments owner as ONE activity (issue 12): the same decisions as the owner's older
 * step-by-step path (workflows/payments.ts, domain/payments.ts), at the minimum API cost. Each side is
 * read in full only when an event asked for it (or it was never read); otherwise its payments are the
 * views kept from the last read, from the payment router's look-up (which read the one payment that
 * changed) and from our own writes (store/payment-views.ts). A pass that wrote confirms from those views,
 * not by reading again. So a ServiceM8 payment costs its look-up read and the QuickBooks create, and a
 * QuickBooks payment its look-up read and the ServiceM8 create.
 */
import { formatMoney, toCents } from '../domain/money';
import {
  overpaymentText,
  paymentFingerprint,
  paymentTotals,
  planPayments,
  type PaymentAction,
  type PaymentOrigin,
  type QboPaymentView,
  type Sm8PaymentView,
} from '../domain/payments';
import type { Sm8JobPayment } from '../domain/servicem8-types';
import { isNotFound } from '../apis/errors';
import { QuickBooksClient } from '../apis/quickbooks/client';
import { ServiceM8Client } from '../apis/servicem8/client';
import { ownWrite, recordOwnWrite } from '../store/own-writes';
import { paymentLinksOfInvoice } from '../store/payment-links';
import {
  databaseNow,
  markPaymentSideDirty,
  paymentSideStates,
  paymentViews,
  replacePaymentSide,
} from '../store/payment-views';
import {
  PaymentsState,
  type PaymentProblem,
  type PaymentsStateName,
  type PaymentsStatus,
} from '../workflows/messages';
import { isVoided } from './invoice';
import { derivedUuid } from './invoice-steps';
import { createPaymentActivities, type PaymentSnapshot } from './payments';
import { connectionFacts } from './support/connection-facts';
import type { ActivityDeps } from './support/deps';
import { qboView } from './support/payment-writes';
import { sm8View } from '../domain/payments';
import type { QboInvoiceRecord, QboPaymentRecord } from './support/payment-records';
import { createInvoiceSteps } from './invoice-steps';

/** A pass re-plans after writing, to confirm; it stops writing after this many rounds (the next event resumes). */
const MAX_ROUNDS = 3;

export interface PaymentsPassResult {
  state: PaymentsStateName;
  qboInvoiceId: string | null;
  /** PAY-6 with PAY-8: qbo = received for the job, applied = the part applied to the invoice. */
  last: { sm8: number; qbo: number; applied?: number } | null;
  payments: PaymentsStatus['payments'];
  problems: PaymentProblem[];
}

/** A requestid (≤ 50 chars) for one write of a pass whose base id came from the workflow. */
const subRequestId = (base: string, key: string) => `${base.slice(0, 36)}-${derivedUuid(key).slice(0, 12)}`;

export function createPaymentsPassActivities(deps: ActivityDeps) {
  const acts = createPaymentActivities(deps);
  const notes = createInvoiceSteps(deps);
  const qboFor = (connectionId: string) => new QuickBooksClient(deps.qboClientDeps(), connectionId);
  const sm8For = (connectionId: string) => new ServiceM8Client(deps.sm8ClientDeps(), connectionId);

  /**
   * Both sides' payments, reading only the sides that need it; `invoiceTotalCents` is the invoice's TotalAmt
   * as last read or written (PAY-8's open balance needs no read), `qboRead` whether this call read QuickBooks.
   */
  async function snapshot(
    connectionId: string,
    jobUuid: string,
  ): Promise<PaymentSnapshot & { invoiceTotalCents: number | null; qboRead: boolean }> {
    const empty = { sides: { sm8: [], qbo: [], links: [] }, invoiceTotalCents: null, qboRead: false };
    const link = await deps.links.bySm8(connectionId, 'invoice', jobUuid);
    if (!link?.qboId) return { invoice: null, gone: 'not_exported', ...empty };
    if (link.state !== 'linked') return { invoice: null, gone: link.state, ...empty };
    const invoiceId = link.qboId;
    const sides = await paymentSideStates(deps.pool, connectionId, jobUuid);
    const written =
      (await ownWrite(deps.pool, connectionId, 'qbo', 'invoice', invoiceId)) ??
      (await ownWrite(deps.pool, connectionId, 'qbo', 'invoice:info', invoiceId));
    let info = written?.answer as { CustomerRef?: { value?: string }; TotalAmt?: number } | null | undefined;

    let qboRead = false;
    if (!sides.qbo.known || sides.qbo.dirty || !info) {
      const startedAt = await databaseNow(deps.pool);
      const qbo = qboFor(connectionId);
      let invoice: QboInvoiceRecord;
      try {
        invoice = await qbo.read<QboInvoiceRecord>('Invoice', invoiceId);
      } catch (err) {
        if (isNotFound(err)) return { invoice: null, gone: 'deleted', ...empty };
        throw err;
      }
      if (isVoided(invoice)) return { invoice: null, gone: 'voided', ...empty };
      qboRead = true;
      info = { CustomerRef: { value: invoice.CustomerRef?.value }, TotalAmt: invoice.TotalAmt };
      // An invoice exported before issue 12 has no own write: its customer is kept for PAY-1 (under a key
      // of its own: what the payments owner read is no echo of ours, routing/echoes.ts never looks at it).
      if (!written)
        await recordOwnWrite(deps.pool, connectionId, {
          side: 'qbo',
          entity: 'invoice:info',
          recordId: invoiceId,
          fields: [],
          answer: info,
          syncToken: null,
          lastUpdated: null,
        });
      const ids = (invoice.LinkedTxn ?? [])
        .filter((t) => t.TxnType === 'Payment' && t.TxnId)
        .map((t) => t.TxnId as string);
      const payments = ids.length
        ? await qbo.query<'Payment', QboPaymentRecord>(
            'Payment',
            `SELECT * FROM Payment WHERE Id IN (${ids.map((id) => `'${id.replace(/'/g, "\\'")}'`).join(', ')}) MAXRESULTS 1000`,
          )
        : [];
      const needNames = payments.some((p) => p.PaymentMethodRef?.value && !p.PaymentMethodRef.name);
      const methods = needNames
        ? ((await connectionFacts(deps, connectionId, ['paymentMethods'])).paymentMethods ?? [])
        : [];
      const views = payments.map((p) => qboView(p, invoiceId, methods));
      await replacePaymentSide(
        deps.pool,
        connectionId,
        jobUuid,
        'qbo',
        views.map((v) => ({ id: v.id, view: v })),
        startedAt,
      );
    }
    if (!sides.sm8.known || sides.sm8.dirty) {
      const startedAt = await databaseNow(deps.pool);
      const list = await sm8For(connectionId).list<Sm8JobPayment>('jobpayment', [
        { field: 'job_uuid', op: 'eq', value: jobUuid },
      ]);
      await replacePaymentSide(
        deps.pool,
        connectionId,
        jobUuid,
        'sm8',
        list.map((p) => ({ id: p.uuid, view: sm8View(p) })),
        startedAt,
      );
    }
    return {
      invoice: {
        qboInvoiceId: invoiceId,
        customerId: info.CustomerRef?.value ?? '',
        totalCents: 0,
        balanceCents: 0,
      },
      invoiceTotalCents: typeof info.TotalAmt === 'number' ? (toCents(info.TotalAmt) ?? null) : null,
      qboRead,
      sides: {
        sm8: await paymentViews<Sm8PaymentView>(deps.pool, connectionId, jobUuid, 'sm8'),
        qbo: await paymentViews<QboPaymentView>(deps.pool, connectionId, jobUuid, 'qbo'),
        links: await paymentLinksOfInvoice(deps.pool, connectionId, jobUuid, invoiceId),
      },
    };
  }

  async function paymentsPass(input: {
    connectionId: string;
    jobUuid: string;
    /** uuid4 from the workflow: the base of this pass's QuickBooks requestids (design principle 5, docs/design.md). */
    passId: string;
    /** Read both sides in full (a wake that did not say what changed). */
    readAll?: boolean;
  }): Promise<PaymentsPassResult> {
    const { connectionId, jobUuid } = input;
    if (input.readAll) {
      await markPaymentSideDirty(deps.pool, connectionId, jobUuid, 'sm8');
      await markPaymentSideDirty(deps.pool, connectionId, jobUuid, 'qbo');
    }
    const problems: PaymentProblem[] = [];
    const refused = new Set<string>();
    /** PAY-8: payments refused once on a balance known from kept views; QuickBooks is read again for them. */
    const recheck = new Set<string>();
    const addProblem = (p: PaymentProblem) => {
      if (!problems.some((x) => x.sm8Uuid === p.sm8Uuid && x.code === p.code)) problems.push(p);
    };
    const noteOnce = (key: string, text: string) => notes.noteOnce(connectionId, jobUuid, key, text);

    async function apply(
      snap: PaymentSnapshot & { qboRead: boolean },
      actions: PaymentAction[],
    ): Promise<number> {
      const invoice = snap.invoice as NonNullable<PaymentSnapshot['invoice']>;
      const origin = new Map<string, PaymentOrigin>(snap.sides.links.map((l) => [l.sm8Uuid, l.origin]));
      const linkOf = new Map(snap.sides.links.map((l) => [l.sm8Uuid, l]));
      const sm8Amount = (uuid: string) => snap.sides.sm8.find((p) => p.uuid === uuid)?.amountCents ?? 0;
      const base = { connectionId, jobUuid, qboInvoiceId: invoice.qboInvoiceId };
      let writes = 0;
      for (const a of actions) {
        switch (a.kind) {
          case 'adopt':
            origin.set(a.sm8Uuid, a.origin);
            await acts.savePaymentLink({
              ...base,
              sm8Uuid: a.sm8Uuid,
              qboPaymentId: a.qboPaymentId,
              origin: a.origin,
              amountCents: sm8Amount(a.sm8Uuid),
              fingerprint: null,
            });
            break;
          case 'refresh_link':
            await acts.savePaymentLink({
              ...base,
              sm8Uuid: a.sm8Uuid,
              qboPaymentId: linkOf.get(a.sm8Uuid)?.qboPaymentId ?? null,
              origin: origin.get(a.sm8Uuid) ?? 'sm8',
              amountCents: sm8Amount(a.sm8Uuid),
              fingerprint: a.fingerprint,
            });
            break;
          case 'send_to_qbo': {
            if (refused.has(a.sm8Uuid)) break;
            const r = await acts.sendPaymentToQbo({
              ...base,
              customerId: invoice.customerId,
              sm8Uuid: a.sm8Uuid,
              amountCents: a.amountCents,
              appliedCents: a.appliedCents,
              date: a.date,
              method: a.method,
              requestId: subRequestId(input.passId, `${a.sm8Uuid}:${a.appliedCents}`),
            });
            if (r.ok) {
              writes += 1;
              if ((r.unappliedCents ?? 0) > 0) await overpaid(a, r.qboPaymentId, r.appliedCents ?? 0);
              break;
            }
            if (!snap.qboRead && !recheck.has(a.sm8Uuid)) {
              // PAY-8: the open balance came from kept views, which may miss a payment: read QuickBooks again
              // (next round) and send on its balance before calling it refused.
              recheck.add(a.sm8Uuid);
              await markPaymentSideDirty(deps.pool, connectionId, jobUuid, 'qbo');
              writes += 1;
              break;
            }
            refused.add(a.sm8Uuid);
            addProblem({ sm8Uuid: a.sm8Uuid, code: r.code, text: r.text });
            await noteOnce(
              `PAY-1:refused:${a.sm8Uuid}`,
              `the payment of ${formatMoney(a.amountCents)} could not be sent to QuickBooks: ${r.text}`,
            );
            break;
          }
          case 'mirror_to_sm8':
            await acts.mirrorQboPayment({
              ...base,
              qboPaymentId: a.qboPaymentId,
              sm8Uuid: derivedUuid(`jobpayment:${connectionId}:${a.qboPaymentId}:${invoice.qboInvoiceId}`),
              amountCents: a.amountCents,
              date: a.date,
              method: a.method,
              refNum: a.refNum,
            });
            writes += 1;
            break;
          case 'update_sm8':
            await acts.updateSm8Payment({
              ...base,
              sm8Uuid: a.sm8Uuid,
              qboPaymentId: a.qboPaymentId,
              origin: origin.get(a.sm8Uuid) ?? 'sm8',
              amountCents: a.amountCents,
              date: a.date,
              writeDate: a.was.date !== a.date,
              activate: a.activate,
            });
            writes += 1;
            if (a.cause === 'sm8_deleted')
              await noteOnce(
                `PAY-4:${a.sm8Uuid}`,
                `the payment of ${formatMoney(a.amountCents)} on ${a.date} was sent to QuickBooks and cannot be deleted in ServiceM8, so it was restored. Payments must be deleted in QuickBooks.`,
              );
            else if (a.cause === 'sm8_edited')
              await noteOnce(
                `PAY-4:edit:${a.sm8Uuid}:${paymentFingerprint(a.was)}`,
                `the payment of ${formatMoney(a.amountCents)} on ${a.date} was sent to QuickBooks and cannot be changed in ServiceM8, so the change (${formatMoney(a.was.amountCents)} on ${a.was.date ?? '-'}) was undone. Payments must be changed in QuickBooks.`,
              );
            if (a.cause !== 'qbo_changed')
              await acts.auditPayment({
                connectionId,
                action: `payment_${a.cause}`,
                ref: a.sm8Uuid,
                detail: {
                  jobUuid,
                  qboPaymentId: a.qboPaymentId,
                  was: a.was,
                  now: { amountCents: a.amountCents, date: a.date },
                },
              });
            break;
          case 'remove_from_sm8':
            await acts.removeSm8Payment({ connectionId, sm8Uuid: a.sm8Uuid, active: a.active, jobUuid });
            if (a.active) writes += 1;
            break;
          case 'refuse':
            addProblem({ sm8Uuid: a.sm8Uuid, code: a.code, text: a.text });
            await noteOnce(`PAY-1:${a.code}:${a.sm8Uuid}`, a.text);
            break;
        }
      }
      return writes;
    }

    /** PAY-8: one job note and an audit row for a payment sent with an unapplied rest. */
    async function overpaid(
      a: Extract<PaymentAction, { kind: 'send_to_qbo' }>,
      qboPaymentId: string,
      appliedCents: number,
    ): Promise<void> {
      await noteOnce(`PAY-8:${a.sm8Uuid}`, overpaymentText({ ...a, appliedCents }));
      await acts.auditPayment({
        connectionId,
        action: 'payment_overpaid',
        ref: a.sm8Uuid,
        detail: { jobUuid, qboPaymentId, amountCents: a.amountCents, appliedCents },
      });
    }

    for (let round = 0; ; round += 1) {
      const snap = await snapshot(connectionId, jobUuid);
      if (!snap.invoice)
        return {
          state: snap.gone === 'not_exported' ? PaymentsState.waitingForExport : PaymentsState.invoiceGone,
          qboInvoiceId: null,
          last: null,
          payments: [],
          problems,
        };
      const totals = paymentTotals(snap.sides);
      const actions = planPayments(snap.invoice.qboInvoiceId, snap.sides, {
        invoiceTotalCents: snap.invoiceTotalCents,
      });
      const wrote = actions.length ? await apply(snap, actions) : 0;
      if (wrote === 0 || round + 1 >= MAX_ROUNDS) {
        const inStep = wrote === 0 && totals.sm8Cents === totals.qboCents;
        return {
          state: inStep ? PaymentsState.inStep : PaymentsState.outOfStep,
          qboInvoiceId: snap.invoice.qboInvoiceId,
          last: { sm8: totals.sm8Cents, qbo: totals.qboCents, applied: totals.qboAppliedCents },
          payments: snap.sides.links.map((l) => ({
            sm8Uuid: l.sm8Uuid,
            qboPaymentId: l.qboPaymentId,
            origin: l.origin,
            state: l.state,
          })),
          problems,
        };
      }
    }
  }

  return { paymentsPass };
}
