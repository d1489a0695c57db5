/**
 * OPS-5 on the invoice itself: a step of an invoice's owner that is stuck gets ONE note in the ServiceM8 job's
 * diary, the failure in the bookkeeper's words (domain/stuck.ts), written once per wording like every held
 * reason (INV-3, jobNoteKey in domain/invoice/reasons.ts). The diary is where ServiceM8 shows why a job's
 * invoice is not in QuickBooks: the sync writes no sync-state field on the job. Called by the stuck watch
 * (activities/support/stuck-watch.ts) on each failed attempt of a stuck step, and for a stuck owner pass.
 */
import { describeFailure, STUCK_REASON_CODE, stuckNoteJob, stuckNoteReachable } from '../../domain/stuck';
import type { FailedAttempt } from '../../store/stuck-steps';
import { createInvoiceSteps } from '../invoice-steps';
import type { ActivityDeps } from './deps';

/** The failing attempt waits at most this long for its note; a later attempt writes it otherwise. */
const NOTE_WAIT_MS = 10_000;

export function createStuckNotes(
  deps: ActivityDeps,
): (
  step: Pick<FailedAttempt, 'connectionId' | 'workflowId' | 'activityType' | 'failureType' | 'technical'>,
) => Promise<void> {
  const steps = createInvoiceSteps(deps);
  return async (
    step: Pick<FailedAttempt, 'connectionId' | 'workflowId' | 'activityType' | 'failureType' | 'technical'>,
  ) => {
    const jobUuid = stuckNoteJob(step.workflowId);
    if (!jobUuid || !step.connectionId || !stuckNoteReachable(step.technical)) return;
    const text = describeFailure(step.activityType, step.failureType, step.technical);
    // A note whose ServiceM8 budget is busy must not hold the failed attempt (and its retry) for long: the
    // write goes on, and its uuid derives from its key, so a later attempt's write lands on the same note.
    const write = steps.noteOnce(step.connectionId, jobUuid, STUCK_REASON_CODE, text).catch(() => false);
    let timer: NodeJS.Timeout | undefined;
    const wait = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, NOTE_WAIT_MS);
      timer.unref();
    });
    await Promise.race([write, wait]);
    clearTimeout(timer);
  };
}
