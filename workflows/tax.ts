/**
 * TAX-3: the owner of one connection's tax rates (`tax/<connection>`). ServiceM8 taxrate events (webhook or
 * poll) only mark it dirty; it runs one tax sync pass at a time (activities/tax.ts), so a burst of events
 * costs one pass, and a pass that our own writes echo back finds nothing to do. It ends when idle and the
 * next event starts it again (links in PostgreSQL are the durable state); a lost authorisation parks it.
 */
import {
  continueAsNew,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { SyncState } from '../domain/search-attributes';
import { sm8TaxRateChangedSignal, taxStatusQuery, type TaxStatus, type TaxWorkflowInput } from './messages';
import { laneActivities, TAX_PASS_ACTIVITY } from './support/activity-options';
import { createConnectionGate } from './support/connection-gate';
import { ownerLoop } from './support/owner-loop';

const acts = laneActivities<Activities>('live', TAX_PASS_ACTIVITY);

const IDLE_END = '1 hour';
const MAX_PASSES_PER_RUN = 100;

export async function taxWorkflow(input: TaxWorkflowInput): Promise<TaxStatus> {
  const { connectionId } = input;
  let passes = input.carried?.passes ?? 0;
  let last = input.carried?.last ?? null;
  let dirty = true; // a (re)start always looks once

  const gate = createConnectionGate(connectionId, {
    onBlocked: () => publish('WAITING_FOR_REAUTH'),
    onResumed: () => publish('IN_STEP'),
  });
  const status = (): TaxStatus => ({
    connectionId,
    passes,
    last,
    waitingForReauth: gate.waiting,
    idle: !loop.busy && !dirty,
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

  const loop = ownerLoop<TaxStatus>({
    pending: () => dirty,
    waitFor: () => ({ timeout: IDLE_END, onTimeout: 'end' }),
    pass: async () => {
      dirty = false;
      last = await gate.run(() => acts.syncTaxCodes({ connectionId }));
      passes += 1;
      publish('IN_STEP');
    },
    maxPassesPerRun: MAX_PASSES_PER_RUN,
    continueAsNew: () => continueAsNew<typeof taxWorkflow>({ ...input, carried: { passes, last } }),
    result: () => status(),
  });
  return loop.run();
}
