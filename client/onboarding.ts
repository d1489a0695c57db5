/**
 * Starting onboarding (CM-1): by the connect flows once both sides are connected (once per connection:
 * a reconnect does not import again), and by hand (admin API, CLI), which re-runs it safely (links and
 * name matches mean nothing is duplicated; an unfinished run resumes from its cursors).
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { ConnectionStore } from '../store/connections';
import type { OnboardingStore } from '../store/onboarding';
import { onboardingWorkflowId } from '../domain/workflow-ids';
import { WorkflowType, type OnboardingWorkflowInput } from '../workflows/messages';
import { ConnectionId, EntityType } from '../domain/search-attributes';

export interface OnboardingStart {
  workflowId: string;
  /** false: it was already running (this start joined it). */
  started: boolean;
}

/** Starts the connection's onboarding workflow unless it is running already. */
export async function startOnboarding(
  temporal: Client,
  taskQueue: string,
  connectionId: string,
  opts: Omit<OnboardingWorkflowInput, 'connectionId' | 'run'> = {},
): Promise<OnboardingStart> {
  const workflowId = onboardingWorkflowId(connectionId);
  const input: OnboardingWorkflowInput = { connectionId, ...opts };
  try {
    await temporal.workflow.start(WorkflowType.onboarding, {
      workflowId,
      taskQueue,
      args: [input],
      typedSearchAttributes: [
        { key: ConnectionId, value: connectionId },
        { key: EntityType, value: 'onboarding' },
      ],
      staticSummary: `Onboarding of connection ${connectionId}`,
    });
    return { workflowId, started: true };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, started: false };
    throw err;
  }
}

/**
 * After a connect step: once both QuickBooks and ServiceM8 are connected, start the first onboarding.
 * A connection that was ever onboarded (or is being onboarded) is not imported again by a reconnect.
 */
export async function startOnboardingWhenComplete(
  deps: { temporal: Client; store: ConnectionStore; onboarding: OnboardingStore; taskQueue: string },
  connectionId: string,
): Promise<OnboardingStart | null> {
  const c = await deps.store.get(connectionId);
  if (!c?.qboRealmId || !c.sm8AuthKind || c.status === 'disconnected') return null;
  if (await deps.onboarding.everStarted(connectionId)) return null;
  // The run is recorded before its workflow starts (which then takes it up): the connection's first poll
  // pass, started at the same moment, already sees onboarding under way and leaves the QuickBooks records
  // born before the connection to it (issue 12: it started one owner workflow per record, thousands at
  // once, and the first approvals queued behind them).
  const { run, resumed } = await deps.onboarding.begin(connectionId, 'connect');
  try {
    return await startOnboarding(deps.temporal, deps.taskQueue, connectionId, { startedBy: 'connect' });
  } catch (err) {
    if (!resumed) await deps.onboarding.discard(connectionId, run);
    throw err;
  }
}
