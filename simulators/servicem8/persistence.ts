/**
 * What the ServiceM8 simulator's state file holds (envelope version 1): records with job numbers and the last
 * edit_date, webhook subscriptions, OAuth access and refresh tokens, and the clock's offset. Left out: the
 * call log, faults, rate counters, webhook deliveries in flight and the settings (they come from the options).
 */
import { type AuthSnapshot } from './auth';
import { type SimContext } from './context';
import { type SimulatorControl, type SimulatorSnapshot } from './control';
import { type StateFileSpec, loadingFrom } from '../state-file';

export interface Sm8State {
  snapshot: SimulatorSnapshot;
  auth: AuthSnapshot;
  clockOffsetMs: number;
}

export function sm8StateSpec(path: string): StateFileSpec {
  return { path, format: 'sm8-simulator-state', version: 1, describe: 'ServiceM8 simulator' };
}

export function captureSm8State(ctx: SimContext): Sm8State {
  // Straight from the parts, not through the control handle: a control call would count as a change.
  return {
    snapshot: { store: ctx.store.snapshot(), webhookSubscriptions: ctx.webhooks.exportSubscriptions() },
    auth: ctx.auth.snapshot(),
    clockOffsetMs: ctx.clock.offset(),
  };
}

/** Control calls that change nothing, so they do not schedule a save. */
export const SM8_CONTROL_READS: ReadonlySet<string> = new Set([
  'summary',
  'records',
  'settings',
  'snapshot',
  'clock.now',
  'faults.list',
  'webhooks.behaviour',
  'webhooks.deliveries',
  'webhooks.idle',
  'webhooks.subscriptions',
  'calls.list',
  'calls.stats',
]);

export function loadSm8State(
  ctx: SimContext,
  control: SimulatorControl,
  spec: StateFileSpec,
  state: Record<string, unknown>,
): void {
  loadingFrom(spec, () => {
    const saved = state as unknown as Sm8State;
    if (typeof saved.clockOffsetMs !== 'number') throw new Error('clockOffsetMs is missing');
    if (!saved.snapshot || !Array.isArray(saved.snapshot.webhookSubscriptions))
      throw new Error('snapshot.webhookSubscriptions is missing');
    control.loadSnapshot(saved.snapshot);
    ctx.auth.load(saved.auth);
    ctx.clock.restoreOffset(saved.clockOffsetMs);
  });
}
