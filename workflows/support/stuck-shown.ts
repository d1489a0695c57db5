/**
 * OPS-5 where support looks in Temporal: while a step of the owner is stuck (stepStuckSignal), its SyncState
 * reads STUCK and its memo carries the failure in words; both return to the owner's own state when the step
 * succeeds. Every owner registers it once; its publish function asks `syncState` and `memo` what to show.
 */
import { setHandler } from '@temporalio/workflow';
import { STUCK_STATE } from '../../domain/stuck';
import { stepStuckSignal } from '../messages';

export interface StuckShown {
  /** The stuck steps' texts, joined; null when none is stuck. */
  readonly text: string | null;
  /** The SyncState to show for the owner's own `state`. */
  syncState(state: string): string;
}

/** Registers the handler; `changed` runs when what is stuck changed (the owner publishes again). */
export function showStuckSteps(changed: () => void): StuckShown {
  const steps = new Map<string, string>();
  let text: string | null = null;
  setHandler(stepStuckSignal, ({ step, text: said }) => {
    if (said === null) steps.delete(step);
    else steps.set(step, said);
    const next = steps.size ? [...steps.values()].join(' · ') : null;
    if (next === text) return;
    text = next;
    changed();
  });
  return {
    get text() {
      return text;
    },
    syncState: (state: string) => (text ? STUCK_STATE : state),
  };
}
