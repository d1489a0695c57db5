import type { Client } from '@temporalio/client';
import { connectionRestoredSignal } from '../workflows/messages';

/**
 * After a reconnect (CON-3): wake every running workflow of the connection so that parked steps run
 * again. Returns how many were signalled. Workflows also re-check on a timer, so a workflow missing from
 * (eventually consistent) visibility still resumes.
 */
export async function notifyConnectionRestored(temporal: Client, connectionId: string): Promise<number> {
  let count = 0;
  const query = `ConnectionId = "${connectionId.replace(/"/g, '')}" AND ExecutionStatus = "Running"`;
  for await (const wf of temporal.workflow.list({ query })) {
    await temporal.workflow
      .getHandle(wf.workflowId, wf.runId)
      .signal(connectionRestoredSignal)
      .then(() => (count += 1))
      .catch(() => undefined); // finished meanwhile
  }
  return count;
}
