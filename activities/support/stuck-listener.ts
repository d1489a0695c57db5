/**
 * OPS-5: who hears of a stuck step (activities/support/stuck-watch.ts, activities/stuck.ts). The invoice's
 * job gets one note (stuck-notes.ts); the owner workflow is told, and shows SyncState STUCK with the failure
 * in its memo in the Temporal Web UI until the step succeeds (workflows/support/stuck-shown.ts). A signal is
 * sent only on a failed attempt of a stuck step and on the success after failures: never on the happy path.
 */
import { describeFailure, showsStuckInWebUi } from '../../domain/stuck';
import { stepStuckSignal } from '../../workflows/messages';
import type { ActivityDeps } from './deps';
import { createStuckNotes } from './stuck-notes';
import type { OnStuck } from './stuck-watch';
import { temporalClient } from './temporal';

export function createStuckListener(deps: ActivityDeps): OnStuck {
  const note = createStuckNotes(deps);
  const tell = async (workflowId: string, step: string, text: string | null) => {
    if (!showsStuckInWebUi(workflowId)) return;
    const temporal = temporalClient(deps, 'the stuck watch');
    await temporal.workflow.getHandle(workflowId).signal(stepStuckSignal, { step, text });
  };
  return {
    async stuck(step) {
      const text = describeFailure(step.activityType, step.failureType, step.technical);
      await Promise.all([note(step), tell(step.workflowId, step.activityType, text).catch(() => undefined)]);
    },
    async cleared(workflowId, activityType) {
      await tell(workflowId, activityType, null).catch(() => undefined);
    },
  };
}
