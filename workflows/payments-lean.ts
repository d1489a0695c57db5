/**
 * The payments owner's run at its minimum cost (issue 12), for runs the routers start with `lean: true`:
 * one activity per pass (activities/payments-pass.ts reads only the side an event names, writes, notes and
 * confirms from what it kept), and the state shown only when it changed. Runs recorded before keep the
 * older path (workflows/payments.ts), so their histories replay unchanged.
 */
import {
  continueAsNew,
  patched,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  uuid4,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { refusalMessageOf } from '../domain/failures';
import { formatMoney } from '../domain/money';
import { QboId, SyncState } from '../domain/search-attributes';
import {
  paymentsChangedSignal,
  PaymentsState,
  paymentsStatusQuery,
  type PaymentProblem,
  type PaymentsCarried,
  type PaymentsStateName,
  type PaymentsStatus,
  type PaymentsWorkflowInput,
} from './messages';
import { laneActivities, OWNER_ACTIVITY } from './support/activity-options';
import { createConnectionGate } from './support/connection-gate';
import { ownerLoop } from './support/owner-loop';
import { showStuckSteps } from './support/stuck-shown';

const acts = laneActivities<Activities>('interactive', OWNER_ACTIVITY);
/** Looks nobody waits for (PaymentsWake.background) go behind approvals. */
const backgroundActs = laneActivities<Activities>('live', OWNER_ACTIVITY);

const MAX_SYNCS_PER_RUN = 200;
const IDLE_END = '1 day';

export async function leanPaymentsRun(input: PaymentsWorkflowInput): Promise<PaymentsStatus> {
  const { connectionId, jobUuid } = input;
  let s: PaymentsCarried = input.carried ?? {
    state: PaymentsState.waitingForExport,
    qboInvoiceId: null,
    syncs: 0,
  };
  let dirty = input.carried ? input.carried.dirty !== false : true;
  let last: { sm8: number; qbo: number; applied?: number } | null = input.carried?.view?.last ?? null;
  let payments: PaymentsStatus['payments'] = input.carried?.view?.payments ?? [];
  let problems: PaymentProblem[] = input.carried?.view?.problems ?? [];
  let shown: { attrs: string; memo: string } = { attrs: '', memo: '' };
  /** A wake that did not say what changed: the next pass reads both sides in full. */
  let readAll = input.described !== true;
  /** Someone waits for the next pass (a payment recorded, a resync): it runs in the interactive lane. */
  let urgent = input.background !== true;

  const status = (): PaymentsStatus => ({
    connectionId,
    jobUuid,
    state: s.state,
    qboInvoiceId: s.qboInvoiceId,
    sm8PaidCents: last?.sm8 ?? null,
    qboPaidCents: last?.qbo ?? null,
    ...(last?.applied !== undefined && last.applied !== last.qbo ? { qboAppliedCents: last.applied } : {}),
    payments,
    problems,
    syncs: s.syncs,
    idle: !loop.busy && !dirty,
  });
  setHandler(paymentsChangedSignal, (wake) => {
    dirty = true;
    if (!wake?.described) readAll = true;
    if (!wake?.background) urgent = true;
  });
  setHandler(paymentsStatusQuery, status);

  /** Shows the state where support looks, writing only what changed (each write is a Temporal action). */
  function publish(state: PaymentsStateName): void {
    s = { ...s, state };
    const syncState = stuck.syncState(state);
    const attrs = JSON.stringify([syncState, s.qboInvoiceId]);
    if (attrs !== shown.attrs)
      upsertSearchAttributes([
        { key: SyncState, value: syncState },
        ...(s.qboInvoiceId ? [{ key: QboId, value: s.qboInvoiceId }] : []),
      ]);
    const memo = {
      sm8Paid: last ? formatMoney(last.sm8) : null,
      qboPaid: last ? formatMoney(last.qbo) : null,
      problems: problems.map((p) => `${p.code}: ${p.text}`),
      // OPS-5: a stuck step, in words, until it succeeds (workflows/support/stuck-shown.ts).
      ...(stuck.text || shownStuck ? { stuck: stuck.text } : {}),
    };
    const memoKey = JSON.stringify(memo);
    // An owner with nothing to say yet writes no memo; a stuck step is something to say, even before the
    // first sums (OPS-5: a payment refused on the first look left the Web UI's memo empty). Patched: runs
    // before it skipped that write.
    const nothingYet =
      !problems.length &&
      (last?.sm8 ?? 0) === 0 &&
      (last?.qbo ?? 0) === 0 &&
      !(stuck.text !== null && patched('payments-stuck-memo-first'));
    if (memoKey !== shown.memo && !(shown.memo === '' && nothingYet)) {
      upsertMemo(memo);
      shownStuck = stuck.text !== null;
    }
    shown = { attrs, memo: memoKey };
  }

  /** Whether the memo shows a stuck step (it is cleared with a null, as memos merge). */
  let shownStuck = false;
  const stuck = showStuckSteps(() => publish(s.state));

  let beforeWait: PaymentsStateName = s.state;
  const gate = createConnectionGate(connectionId, {
    onBlocked: () => {
      beforeWait = s.state;
      publish(PaymentsState.waitingForReauth);
    },
    onResumed: () => publish(beforeWait),
  });

  const loop = ownerLoop<PaymentsStatus>({
    pending: () => dirty,
    waitFor: () => ({ timeout: IDLE_END, onTimeout: 'end' }),
    pass: async () => {
      dirty = false;
      s.syncs += 1;
      const all = readAll;
      readAll = false;
      const lane = urgent ? acts : backgroundActs;
      urgent = false;
      try {
        const r = await gate.run(() =>
          lane.paymentsPass({ connectionId, jobUuid, passId: uuid4(), readAll: all }),
        );
        s.qboInvoiceId = r.qboInvoiceId ?? s.qboInvoiceId;
        last = r.last;
        payments = r.payments;
        problems = r.problems;
        publish(r.state);
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
      continueAsNew<(i: PaymentsWorkflowInput) => Promise<PaymentsStatus>>({
        ...input,
        described: !readAll,
        ...(dirty && !urgent ? { background: true } : {}),
        carried: { ...s, dirty, view: { last, payments, problems } },
      }),
    result: () => status(),
  });
  return loop.run();
}
