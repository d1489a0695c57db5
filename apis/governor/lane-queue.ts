/**
 * The callers of one process waiting for permits of one (connection, API), highest lane first and in arrival
 * order within a lane (docs/rate-governor.md "Lanes"). Only the head is ever asked of the database, by the
 * queue's one pump (apis/governor/rate-governor.ts); a newcomer that outranks the head, or a head that
 * leaves, ends the pump's sleep so the new head is asked at once: interactive work waits behind bulk work
 * for at most the one permit being granted at that moment.
 */
import type { Lane } from '../../domain/lanes';
import { permitWaiters } from '../../infra/metrics';
import { LANE_RANK, type Permit } from './policy';

export interface Waiter {
  /** Raised while waiting when the work is raised (priority inheritance through a name turn). */
  lane: Lane;
  readonly seq: number;
  /** Local clock (ms); Infinity: waits until granted, cancelled or refused. */
  readonly deadline: number;
  readonly started: number;
  settled: boolean;
  /** The last refusal this waiter met as the head; 'queue' once it waited behind others first. */
  waitedFor: string | null;
  /** Hands the permit over; false when the waiter had already left (the caller must release it). */
  succeed(permit: Permit): boolean;
  fail(err: unknown): void;
}

export class LaneQueue {
  readonly waiters: Waiter[] = [];
  pumping = false;
  /** The waiter the pump is asking the database for right now. */
  trying: Waiter | null = null;
  /** What the head was last refused by, for a waiter's timeout message and its heartbeat. */
  lastBlocked: string | undefined;
  private kickFn: (() => void) | null = null;

  /** `system`: the API's label on the waiting-callers gauge (sm8qbo_permit_waiters). */
  constructor(private readonly system: 'servicem8' | 'quickbooks') {}

  head(): Waiter | undefined {
    return this.waiters[0];
  }

  /** Queues a caller in its lane's place; one that is not the head waits behind others ('queue'). */
  add(waiter: Waiter): void {
    this.insert(waiter);
    if (this.head() !== waiter) waiter.waitedFor ??= 'queue';
    permitWaiters.inc({ system: this.system, lane: waiter.lane });
  }

  /** Moves a waiter up to a more urgent lane (ahead of that lane's later callers). */
  promote(waiter: Waiter, lane: Lane): void {
    if (LANE_RANK[lane] >= LANE_RANK[waiter.lane] || !this.waiters.includes(waiter)) return;
    const wasHead = this.head() === waiter;
    this.waiters.splice(this.waiters.indexOf(waiter), 1);
    permitWaiters.dec({ system: this.system, lane: waiter.lane });
    permitWaiters.inc({ system: this.system, lane });
    waiter.lane = lane;
    this.insert(waiter);
    // Still the head: the pump's next ask is under the new lane's plan; end its sleep so it asks now.
    if (wasHead && this.head() === waiter) this.kick();
  }

  remove(waiter: Waiter): void {
    const at = this.waiters.indexOf(waiter);
    if (at < 0) return;
    this.waiters.splice(at, 1);
    permitWaiters.dec({ system: this.system, lane: waiter.lane });
    if (at === 0) this.kick();
  }

  private insert(waiter: Waiter): void {
    const rank = LANE_RANK[waiter.lane];
    let at = this.waiters.findIndex((w) => LANE_RANK[w.lane] > rank);
    if (at < 0) at = this.waiters.length;
    this.waiters.splice(at, 0, waiter);
    if (at === 0) this.kick();
  }

  /** Ends the pump's current sleep (if it sleeps). */
  kick(): void {
    const fn = this.kickFn;
    this.kickFn = null;
    fn?.();
  }

  /** For ReleaseListener.sleep: registers the sleep's early end; returns its removal. */
  readonly onKick = (wake: () => void): (() => void) => {
    this.kickFn = wake;
    return () => {
      if (this.kickFn === wake) this.kickFn = null;
    };
  };
}

/**
 * Waiting is not failure (issue 12): an activity waiting for a permit stays alive, and hears its cancellation,
 * by heartbeating what it waits for. Returns the stop.
 */
export function heartbeatWhileWaiting(
  heartbeat: (details: unknown) => void,
  api: string,
  waiter: Waiter,
  queue: LaneQueue,
  everyMs: number,
): () => void {
  const timer = setInterval(() => {
    try {
      heartbeat({ waitingForPermit: api, lane: waiter.lane, blockedBy: queue.lastBlocked ?? null });
    } catch {
      // The activity is finishing (or was cancelled): its signal says so.
    }
  }, everyMs);
  return () => clearInterval(timer);
}
