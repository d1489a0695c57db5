import { type Simulator } from './context';
import { type SimControl, type SimSnapshot } from './control';
import { type StateFileSpec, loadingFrom } from '../state-file';

/** What the QuickBooks simulator's state file holds (envelope version 1). */
export interface QboState {
  snapshot: SimSnapshot;
  clockOffsetMs: number;
}

export function qboStateSpec(path: string): StateFileSpec {
  return { path, format: 'qbo-simulator-state', version: 1, describe: 'QuickBooks simulator' };
}

/**
 * Companies (records, id counters, tombstones, requestids, exchange rates), OAuth grants and access tokens,
 * and the clock's offset. Left out: faults, throttle counters, webhook queues and history, the call log and
 * runtime switches (they come from the options again).
 */
export function captureQboState(sim: Simulator): QboState {
  // Straight from the parts, not through the control handle: a control call would count as a change.
  return {
    snapshot: { version: 1, companies: sim.store.snapshot(), oauth: sim.oauth.snapshot() },
    clockOffsetMs: sim.clock.offset(),
  };
}

/** Control calls that change nothing, so they do not schedule a save. */
export const QBO_CONTROL_READS: ReadonlySet<string> = new Set([
  'company',
  'entity',
  'listRecords',
  'getRecord',
  'now',
  'listFaults',
  'webhookDeliveries',
  'webhookEvents',
  'calls',
  'stats',
  'snapshot',
]);

export function loadQboState(
  sim: Simulator,
  control: SimControl,
  spec: StateFileSpec,
  state: Record<string, unknown>,
): void {
  loadingFrom(spec, () => {
    const saved = state as unknown as QboState;
    if (typeof saved.clockOffsetMs !== 'number') throw new Error('clockOffsetMs is missing');
    control.loadSnapshot(saved.snapshot);
    if (!sim.store.company(sim.options.realmId)) {
      throw new Error(
        `it has no company for realm ${sim.options.realmId} (it holds ${[...sim.store.companies.keys()].join(', ')})`,
      );
    }
    sim.clock.restoreOffset(saved.clockOffsetMs);
  });
}
