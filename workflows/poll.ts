/**
 * TRG-2: the polling safety net, one short workflow per pass, started by the connection's Temporal
 * Schedules (client/schedules.ts; ids `poll/<connection>-<scheduled time>` and alike). A pass reads what
 * changed since the stored watermarks and wakes the owning workflows, exactly like webhooks do, so it is
 * safe to overlap with webhooks and with another pass. Passes never park: a connection that cannot be
 * used now is skipped, and the next scheduled pass (watermark untouched) catches up. A scheduled pass is
 * adaptive (domain/poll-cadence.ts): when it found changes no webhook announced, it continues as new after
 * the fast interval, until a pass is quiet; a pass started by hand runs once.
 */
import {
  ApplicationFailure,
  continueAsNew,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { PollSideResult, ReconcileResult } from '../activities/poll';
import type { TaxSyncResult } from '../domain/tax';
import { CONNECTION_BLOCKED_FAILURES, connectionBlockedType } from '../domain/failures';
import { nextPoll, type PollDecision } from '../domain/poll-cadence';
import { ConnectionId, EntityType } from '../domain/search-attributes';
import type { PollInput } from './messages';
import { LONG_RUNNING, laneActivities } from './support/activity-options';

/**
 * A pass's step is retried until it succeeds (at most a minute apart), never given up after N attempts: the
 * long soak's first pass, waiting for budget, was hit by all three worker kills and ended failed. A step that
 * keeps failing shows as stuck (OPS-5, activities/support/stuck-watch.ts); the schedule skips its next
 * passes meanwhile (overlap SKIP), and this pass does their work when it succeeds.
 */
const retry = {
  initialInterval: '5 seconds',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  nonRetryableErrorTypes: [...CONNECTION_BLOCKED_FAILURES],
};

// Bulk lane (domain/lanes.ts): polls and reconciliation fill what budget is left.
const pollActs = laneActivities<Activities>('bulk', {
  startToCloseTimeout: '20 minutes',
  heartbeatTimeout: LONG_RUNNING.heartbeatTimeout,
  retry,
});

const reconcileActs = laneActivities<Activities>('bulk', { ...LONG_RUNNING, retry });

const quickActs = laneActivities<Activities>('bulk', { startToCloseTimeout: '30 seconds', retry });

export interface PollResult {
  connectionId: string;
  /** Why the whole pass was skipped (connection paused, needs re-authorisation, disconnected). */
  skipped?: string;
  sm8?: PollSideResult;
  qbo?: PollSideResult;
  /** Adaptive polling (a scheduled pass): when the next pass runs, and why. */
  next?: PollDecision;
}

function tag(connectionId: string, entityType: string): void {
  // Schedules set these on start; a pass started by hand (tests, support) gets them here.
  const attrs = workflowInfo().typedSearchAttributes;
  if (attrs.get(ConnectionId) === connectionId && attrs.get(EntityType) === entityType) return;
  upsertSearchAttributes([
    { key: ConnectionId, value: connectionId },
    { key: EntityType, value: entityType },
  ]);
}

/** One polling pass over both APIs of a connection (the two sides are independent). */
export async function pollConnectionWorkflow(input: PollInput): Promise<PollResult> {
  const { connectionId } = input;
  tag(connectionId, 'poll');
  const status = await quickActs.getConnectionStatus({ connectionId });
  if (status !== 'active') return { connectionId, skipped: `connection is ${status}` };

  const args = { connectionId, backfillMs: input.backfillMs };
  const [sm8, qbo] = await Promise.allSettled([
    pollActs.pollServiceM8Changes(args),
    pollActs.pollQuickBooksChanges(args),
  ]);
  const result: PollResult = { connectionId };
  const failures: string[] = [];
  for (const [side, outcome] of [
    ['sm8', sm8],
    ['qbo', qbo],
  ] as const) {
    if (outcome.status === 'fulfilled') {
      result[side] = outcome.value;
      continue;
    }
    const blocked = connectionBlockedType(outcome.reason);
    if (blocked) {
      result.skipped = `connection blocked (${blocked})`;
      continue;
    }
    const err = outcome.reason as Error;
    failures.push(`${side}: ${err.cause instanceof Error ? err.cause.message : err.message}`);
  }
  if (failures.length) {
    // Visible as a failed pass in the Web UI; the watermark of the failed side did not move, so the next
    // scheduled pass reads the same changes again.
    throw ApplicationFailure.create({
      type: 'PollFailed',
      message: `poll of ${connectionId} failed: ${failures.join('; ')}`,
      details: [result],
      nonRetryable: true,
    });
  }
  if (!input.fast || result.skipped) return result;
  // Adaptive polling: a pass that found changes no webhook announced is followed by fast passes until quiet.
  const fastPasses = input.fastPasses ?? 0;
  result.next = nextPoll(
    input.fast,
    {
      unannounced: (result.sm8?.unannounced ?? 0) + (result.qbo?.unannounced ?? 0),
      gap: result.qbo?.gap ?? result.sm8?.gap,
    },
    fastPasses,
  );
  if (result.next.next === 'fast') {
    await sleep(result.next.afterMs);
    await continueAsNew<typeof pollConnectionWorkflow>({
      connectionId,
      fast: input.fast,
      fastPasses: fastPasses + 1,
    });
  }
  return result;
}

export interface TaxPollResult extends Partial<TaxSyncResult> {
  connectionId: string;
  /** Why the pass did nothing (connection paused, needs re-authorisation, disconnected, US company). */
  skipped?: string;
}

/**
 * TAX-2: QuickBooks sends neither webhooks nor CDC for TaxCode/TaxRate, so they are polled (schedule
 * `tax-poll/<connection>`, at most every 20 minutes). A pass is one tax sync (activities/tax.ts): new,
 * changed and inactivated codes reach ServiceM8, ServiceM8-side edits are undone (TAX-3). Its counts are
 * the workflow's result, visible in the Web UI.
 */
export async function taxPollWorkflow(input: { connectionId: string }): Promise<TaxPollResult> {
  const { connectionId } = input;
  tag(connectionId, 'tax-poll');
  const status = await quickActs.getConnectionStatus({ connectionId });
  if (status !== 'active') return { connectionId, skipped: `connection is ${status}` };
  try {
    return { connectionId, ...(await pollActs.syncTaxCodes({ connectionId })) };
  } catch (err) {
    const blocked = connectionBlockedType(err);
    if (blocked) return { connectionId, skipped: `connection blocked (${blocked})` };
    throw err;
  }
}

export interface ReconcileWorkflowResult extends Partial<ReconcileResult> {
  connectionId: string;
  skipped?: string;
}

/**
 * Nightly: every exported invoice's QuickBooks total against its ServiceM8 total; drift is returned,
 * written to audit_log (`reconcile_drift`, both figures), and its owner is woken to look again.
 */
export async function reconcileInvoicesWorkflow(input: {
  connectionId: string;
  wake?: boolean;
}): Promise<ReconcileWorkflowResult> {
  const { connectionId } = input;
  tag(connectionId, 'reconcile');
  const status = await quickActs.getConnectionStatus({ connectionId });
  if (status !== 'active') return { connectionId, skipped: `connection is ${status}` };
  try {
    const r = await reconcileActs.reconcileInvoices({ connectionId, wake: input.wake });
    return { connectionId, ...r };
  } catch (err) {
    const blocked = connectionBlockedType(err);
    if (blocked) return { connectionId, skipped: `connection blocked (${blocked})` };
    throw err;
  }
}
