/**
 * Onboarding of one connection (CM-1, CM-6, CM-7 on import, TAX-1 step; OPS-2 progress): tax codes are
 * linked first, then every QuickBooks customer and item is brought into ServiceM8, page by page. One
 * workflow per connection (`onboarding/<connection>`). PostgreSQL holds the run, each phase's cursor and
 * every record's outcome, so a crashed worker resumes the page it was on (Temporal retries the activity;
 * outcomes already stored are not redone) and even a terminated workflow is resumed from its cursors by
 * the next start. Creates use uuids generated here, one per QuickBooks id, so a retried page can only hit
 * the same ServiceM8 records. History stays small: continue-as-new every PAGES_PER_RUN pages.
 */
import {
  condition,
  continueAsNew,
  setCurrentDetails,
  setHandler,
  allHandlersFinished,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { completion, phaseLine, type OnboardingPhase, type OnboardingProgress } from '../domain/onboarding';
import { SyncState } from '../domain/search-attributes';
import { onboardingProgressQuery, type OnboardingWorkflowInput } from './messages';
import { laneActivities, ONBOARDING_ACTIVITY } from './support/activity-options';
import { createConnectionGate } from './support/connection-gate';

const acts = laneActivities<Activities>('bulk', ONBOARDING_ACTIVITY);

const PAGE_SIZE = 100;
const PAGES_PER_RUN = 20;

export async function onboardingWorkflow(input: OnboardingWorkflowInput): Promise<OnboardingProgress | null> {
  const { connectionId } = input;
  const pageSize = Math.min(Math.max(input.pageSize ?? PAGE_SIZE, 1), 1000);
  let progress: OnboardingProgress | null = null;
  let pagesThisRun = 0;
  setHandler(onboardingProgressQuery, () => progress);
  const gate = createConnectionGate(connectionId, {
    onBlocked: () => upsertSearchAttributes([{ key: SyncState, value: 'WAITING_FOR_REAUTH' }]),
    onResumed: () => upsertSearchAttributes([{ key: SyncState, value: 'RUNNING' }]),
  });

  function show(p: OnboardingProgress | null): void {
    progress = p;
    if (!p) return;
    setCurrentDetails(
      `**${p.state}** ${Math.floor(completion(p) * 100)}% (run ${p.run})\n\n${p.phases.map(phaseLine).join('\n\n')}`,
    );
  }

  upsertSearchAttributes([{ key: SyncState, value: 'RUNNING' }]);
  const begun = await gate.run(() =>
    acts.beginOnboarding({ connectionId, startedBy: input.startedBy ?? 'admin', run: input.run }),
  );
  const run = begun.run;
  show(await acts.onboardingProgress({ connectionId, run }));

  // (a) TAX-1: tax codes first, so items can carry their ServiceM8 tax rate.
  if (begun.phases.taxcodes.state !== 'done') {
    // A US company's pass is skipped (TAX-4): its counts are all zero and the phase is done.
    const { skipped: _skipped, ...detail } = await gate.run(() => acts.syncTaxCodes({ connectionId }));
    const total = Object.values(detail).reduce((sum, n) => sum + n, 0);
    show(await acts.finishOnboardingPhase({ connectionId, run, phase: 'taxcodes', detail, total }));
  }

  // (b) customers, (c) items: page by page from the stored cursor.
  for (const phase of ['customers', 'items'] as const) {
    const cursor = begun.phases[phase];
    if (cursor.state === 'done') continue;
    if (cursor.total === null)
      await gate.run(() => acts.countOnboardingRecords({ connectionId, run, phase }));
    let position = cursor.nextPosition;
    for (;;) {
      const startPosition = position;
      const ids = await gate.run(() =>
        acts.readOnboardingPage({ connectionId, phase, startPosition, pageSize }),
      );
      if (ids.length > 0) {
        const nextPosition = startPosition + ids.length;
        const importThisPage = pageImport(phase, ids, nextPosition);
        show(await gate.run(importThisPage));
        position = nextPosition;
        pagesThisRun += 1;
      }
      if (ids.length < pageSize) break;
      if (pagesThisRun >= PAGES_PER_RUN || workflowInfo().continueAsNewSuggested) {
        await condition(allHandlersFinished);
        await continueAsNew<typeof onboardingWorkflow>({ ...input, run });
      }
    }
    show(await acts.finishOnboardingPhase({ connectionId, run, phase }));
  }

  show(await acts.finishOnboarding({ connectionId, run, taskQueue: workflowInfo().taskQueue }));
  upsertSearchAttributes([{ key: SyncState, value: 'DONE' }]);
  return progress;

  /**
   * The import of one page, with one uuid per QuickBooks id generated now (replay-stable), outside the
   * gate: a page retried after a crash or a reconnect can only hit the same ServiceM8 records.
   */
  function pageImport(
    phase: Exclude<OnboardingPhase, 'taxcodes'>,
    ids: string[],
    nextPosition: number,
  ): () => Promise<OnboardingProgress | null> {
    if (phase === 'customers') {
      const records = ids.map((qboId) => ({ qboId, companyUuid: uuid4(), contactUuid: uuid4() }));
      return () => acts.importCustomerPage({ connectionId, run, records, nextPosition });
    }
    const records = ids.map((qboId) => ({ qboId, materialUuid: uuid4() }));
    return () => acts.importItemPage({ connectionId, run, records, nextPosition });
  }
}
