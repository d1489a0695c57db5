/**
 * The payments of one ServiceM8 job's exported invoice (PAY-1 … PAY-6), and their one owner: every event
 * about any payment of the job or of its QuickBooks invoice only wakes this workflow, which reads both sides
 * and converges the whole set (domain/payments.ts decides). One owner per invoice rather than per payment:
 * PAY-6 is a property of the invoice, "sent right after export" is the invoice's moment, and a QuickBooks
 * payment arrives by id only and may touch several invoices, each converged by its own owner.
 *
 * Also the payment router's helper (`paymentRouteWorkflow`): a payment event whose invoice no link reveals
 * (a new payment) needs an API read to find its owner, which routers must not do; this short workflow does it.
 */
import { continueAsNew, setHandler, upsertMemo, upsertSearchAttributes, uuid4 } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { PaymentSnapshot } from '../activities/payments';
import { refusalMessageOf } from '../domain/failures';
import { formatMoney } from '../domain/money';
import {
  paymentFingerprint,
  paymentTotals,
  planPayments,
  type PaymentAction,
  type PaymentOrigin,
} from '../domain/payments';
import { QboId, SyncState } from '../domain/search-attributes';
import {
  paymentEventSignal,
  paymentsChangedSignal,
  PaymentsState,
  paymentsStatusQuery,
  type PaymentProblem,
  type PaymentRouteInput,
  type PaymentRouteResult,
  type PaymentsCarried,
  type PaymentsStateName,
  type PaymentsStatus,
  type PaymentsWorkflowInput,
} from './messages';
import { laneActivities, OWNER_ACTIVITY } from './support/activity-options';
import { createConnectionGate } from './support/connection-gate';
import { leanPaymentsRun } from './payments-lean';
import { ownerLoop } from './support/owner-loop';

const acts = laneActivities<Activities>('interactive', OWNER_ACTIVITY);

const MAX_SYNCS_PER_RUN = 200;
const IDLE_END = '7 days';
/** A pass re-reads after writing, to confirm; it stops writing after this many rounds (the next event resumes). */
const MAX_ROUNDS = 3;

export async function paymentsWorkflow(input: PaymentsWorkflowInput): Promise<PaymentsStatus> {
  // Issue 12: runs started since carry `lean` and take the path at minimum cost (workflows/payments-lean.ts).
  if (input.lean) return leanPaymentsRun(input);
  const { connectionId, jobUuid } = input;
  let s: PaymentsCarried = input.carried ?? {
    state: PaymentsState.waitingForExport,
    qboInvoiceId: null,
    syncs: 0,
  };
  // A (re)start always looks once; a run continued-as-new looks only if an event is pending.
  let dirty = input.carried ? input.carried.dirty !== false : true;
  let last: { sm8: number; qbo: number } | null = input.carried?.view?.last ?? null;
  let payments: PaymentsStatus['payments'] = input.carried?.view?.payments ?? [];
  let problems: PaymentProblem[] = input.carried?.view?.problems ?? [];

  const status = (): PaymentsStatus => ({
    connectionId,
    jobUuid,
    state: s.state,
    qboInvoiceId: s.qboInvoiceId,
    sm8PaidCents: last?.sm8 ?? null,
    qboPaidCents: last?.qbo ?? null,
    payments,
    problems,
    syncs: s.syncs,
    idle: !loop.busy && !dirty,
  });
  setHandler(paymentsChangedSignal, () => {
    dirty = true;
  });
  setHandler(paymentsStatusQuery, status);

  let beforeWait: PaymentsStateName = s.state;
  const gate = createConnectionGate(connectionId, {
    onBlocked: () => {
      beforeWait = s.state;
      publish(PaymentsState.waitingForReauth);
    },
    onResumed: () => publish(beforeWait),
  });

  function publish(state: PaymentsStateName): void {
    s = { ...s, state };
    upsertSearchAttributes([
      { key: SyncState, value: state },
      ...(s.qboInvoiceId ? [{ key: QboId, value: s.qboInvoiceId }] : []),
    ]);
    upsertMemo({
      sm8Paid: last ? formatMoney(last.sm8) : null,
      qboPaid: last ? formatMoney(last.qbo) : null,
      problems: problems.map((p) => `${p.code}: ${p.text}`),
    });
  }

  /** A pass may plan the same refusal in each of its rounds: it is listed once. */
  function addProblem(p: PaymentProblem): void {
    if (!problems.some((x) => x.sm8Uuid === p.sm8Uuid && x.code === p.code)) problems.push(p);
  }

  function noteOnce(noteKey: string, text: string): Promise<boolean> {
    return acts.addJobNoteOnce({ connectionId, jobUuid, noteKey, text, noteUuid: uuid4() });
  }

  /** Carries out one plan; returns how many writes reached ServiceM8 or QuickBooks. */
  async function apply(
    snap: PaymentSnapshot & { invoice: NonNullable<PaymentSnapshot['invoice']> },
    actions: PaymentAction[],
    refused: Set<string>,
  ): Promise<number> {
    const invoiceId = snap.invoice.qboInvoiceId;
    const origin = new Map<string, PaymentOrigin>(snap.sides.links.map((l) => [l.sm8Uuid, l.origin]));
    const linkOf = new Map(snap.sides.links.map((l) => [l.sm8Uuid, l]));
    const sm8Amount = (uuid: string) => snap.sides.sm8.find((p) => p.uuid === uuid)?.amountCents ?? 0;
    const base = { connectionId, jobUuid, qboInvoiceId: invoiceId };
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
        case 'refresh_link': {
          const link = linkOf.get(a.sm8Uuid);
          await acts.savePaymentLink({
            ...base,
            sm8Uuid: a.sm8Uuid,
            qboPaymentId: link?.qboPaymentId ?? null,
            origin: origin.get(a.sm8Uuid) ?? 'sm8',
            amountCents: sm8Amount(a.sm8Uuid),
            fingerprint: a.fingerprint,
          });
          break;
        }
        case 'send_to_qbo': {
          if (refused.has(a.sm8Uuid)) break;
          const r = await acts.sendPaymentToQbo({
            ...base,
            customerId: snap.invoice.customerId,
            sm8Uuid: a.sm8Uuid,
            amountCents: a.amountCents,
            date: a.date,
            method: a.method,
            requestId: uuid4(),
          });
          if (r.ok) {
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
            sm8Uuid: uuid4(),
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
          if (a.cause === 'sm8_deleted') {
            await noteOnce(
              `PAY-4:${a.sm8Uuid}`,
              `the payment of ${formatMoney(a.amountCents)} on ${a.date} was sent to QuickBooks and cannot be deleted in ServiceM8, so it was restored. Payments must be deleted in QuickBooks.`,
            );
          } else if (a.cause === 'sm8_edited') {
            await noteOnce(
              `PAY-4:edit:${a.sm8Uuid}:${paymentFingerprint(a.was)}`,
              `the payment of ${formatMoney(a.amountCents)} on ${a.date} was sent to QuickBooks and cannot be changed in ServiceM8, so the change (${formatMoney(a.was.amountCents)} on ${a.was.date ?? '-'}) was undone. Payments must be changed in QuickBooks.`,
            );
          }
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
          await acts.removeSm8Payment({ connectionId, sm8Uuid: a.sm8Uuid, active: a.active });
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

  async function syncOnce(): Promise<void> {
    s.syncs += 1;
    problems = [];
    const refused = new Set<string>();
    for (let round = 0; ; round += 1) {
      const snap = await acts.loadPaymentSnapshot({ connectionId, jobUuid });
      if (!snap.invoice) {
        last = null;
        payments = [];
        return publish(
          snap.gone === 'not_exported' ? PaymentsState.waitingForExport : PaymentsState.invoiceGone,
        );
      }
      s.qboInvoiceId = snap.invoice.qboInvoiceId;
      const totals = paymentTotals(snap.sides);
      last = { sm8: totals.sm8Cents, qbo: totals.qboCents };
      payments = snap.sides.links.map((l) => ({
        sm8Uuid: l.sm8Uuid,
        qboPaymentId: l.qboPaymentId,
        origin: l.origin,
        state: l.state,
      }));
      const actions = planPayments(snap.invoice.qboInvoiceId, snap.sides);
      const wrote = actions.length ? await apply({ ...snap, invoice: snap.invoice }, actions, refused) : 0;
      if (wrote === 0 || round + 1 >= MAX_ROUNDS) {
        // A pass that wrote is confirmed by the next round's read; one that only reported is done.
        const inStep = wrote === 0 && totals.sm8Cents === totals.qboCents;
        return publish(inStep ? PaymentsState.inStep : PaymentsState.outOfStep);
      }
    }
  }

  const loop = ownerLoop<PaymentsStatus>({
    pending: () => dirty,
    waitFor: () => ({ timeout: IDLE_END, onTimeout: 'end' }),
    pass: async () => {
      dirty = false;
      try {
        await gate.run(() => syncOnce());
      } catch (err) {
        // A refusal no retry can change (a validation error, a record gone) is a reason, not a failed
        // workflow: it is shown, and the next event looks again.
        const refusal = refusalMessageOf(err);
        if (!refusal) throw err;
        problems = [{ sm8Uuid: '', code: 'SYNC_REFUSED', text: refusal }];
        publish(PaymentsState.outOfStep);
      }
    },
    maxPassesPerRun: MAX_SYNCS_PER_RUN,
    continueAsNew: () =>
      continueAsNew<typeof paymentsWorkflow>({
        ...input,
        carried: { ...s, dirty, view: { last, payments, problems } },
      }),
    result: () => status(),
  });
  return loop.run();
}

/** The message of a non-retryable activity failure (a business refusal), else undefined. */
/** Finds the owner(s) of one payment event (an API read) and wakes them; repeats while events keep coming. */
export async function paymentRouteWorkflow(input: PaymentRouteInput): Promise<PaymentRouteResult> {
  let dirty = true;
  setHandler(paymentEventSignal, () => {
    dirty = true;
  });
  const gate = createConnectionGate(input.connectionId);
  let looks = 0;
  const woken = new Set<string>();
  let ignored: string | undefined;
  while (dirty) {
    dirty = false;
    looks += 1;
    try {
      const r = await gate.run(() => acts.routePaymentRecord(input));
      r.woken.forEach((id) => woken.add(id));
      ignored = r.ignored;
    } catch (err) {
      const refusal = refusalMessageOf(err);
      if (!refusal) throw err;
      ignored = `could not be read: ${refusal}`; // the next poll pass looks again (TRG-2)
    }
  }
  return { looks, woken: [...woken], ...(ignored ? { ignored } : {}) };
}
