/**
 * TAX-3: the owner of one connection's tax rates (`tax/<connection>`). ServiceM8 taxrate events (webhook or
 * poll) only mark it dirty; it runs one tax sync pass at a time (activities/tax.ts), so a burst of events
 * costs one pass, and a pass that our own writes echo back finds nothing to do. It ends when idle and the
 * next event starts it again (links in PostgreSQL are the durable state); a lost authorisation parks it.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { SyncState } from '../domain/search-attributes';
import { sm8TaxRateChangedSignal, taxStatusQuery, type TaxStatus, type TaxWorkflowInput } from './messages';
import { createConnectionGate } from './support/connection-gate';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes' },
});

const IDLE_END = '1 hour';
const MAX_PASSES_PER_RUN = 100;

export async function taxWorkflow(input: TaxWorkflowInput): Promise<TaxStatus> {
  const { connectionId } = input;
  let passes = input.carried?.passes ?? 0;
  let last = input.carried?.last ?? null;
  let dirty = true; // a (re)start always looks once
  let syncing = false;
  let passesThisRun = 0;

  const gate = createConnectionGate(connectionId, {
    onBlocked: () => publish('WAITING_FOR_REAUTH'),
    onResumed: () => publish('IN_STEP'),
  });
  const status = (): TaxStatus => ({
    connectionId,
    passes,
    last,
    waitingForReauth: gate.waiting,
    idle: !syncing && !dirty,
  });
  setHandler(sm8TaxRateChangedSignal, () => {
    dirty = true;
  });
  setHandler(taxStatusQuery, status);

  function publish(state: string): void {
    upsertSearchAttributes([{ key: SyncState, value: state }]);
    upsertMemo({ lastTaxSync: last });
    const counts = last
      ? `created ${last.created}, updated ${last.updated}, deactivated ${last.deactivated}, reverted ${last.reverted}, linked ${last.linked}, unchanged ${last.unchanged}`
      : 'no pass yet';
    setCurrentDetails(`**${state}** · ${passes} passes · last: ${counts}`);
  }

  for (;;) {
    if (!dirty) {
      const woke = await condition(() => dirty, input.idleEnd ?? IDLE_END);
      if (!woke) break;
    }
    dirty = false;
    syncing = true;
    try {
      last = await gate.run(() => acts.syncTaxCodes({ connectionId }));
    } finally {
      syncing = false;
    }
    passes += 1;
    passesThisRun += 1;
    publish('IN_STEP');
    if (
      workflowInfo().continueAsNewSuggested ||
      passesThisRun >= (input.maxPassesPerRun ?? MAX_PASSES_PER_RUN)
    ) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof taxWorkflow>({ ...input, carried: { passes, last } });
    }
  }
  return status();
}
