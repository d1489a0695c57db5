/**
 * The callers of one process waiting for permits of one (connection, API), highest lane first and in arrival
 * order within a lane (docs/rate-governor.md "Lanes"). Only the head is ever asked of the database, by the
 * queue's one pump (apis/governor/rate-governor.ts); a newcomer that outranks the head, or a head that
 * leaves, ends the pump's sleep so the new head is asked at once: interactive work waits behind bulk work
 * for at most the one permit being granted at that moment.
 */
import type { Lane } from '../../domain/lanes';
import { LANE_RANK, type Permit } from './policy';

export interface Waiter {
  readonly lane: Lane;
  readonly seq: number;
  /** Local clock (ms); Infinity: waits until granted, cancelled or refused. */
  readonly deadline: number;
  readonly started: number;
  settled: boolean;
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

  head(): Waiter | undefined {
    return this.waiters[0];
  }

  add(waiter: Waiter): void {
    const rank = LANE_RANK[waiter.lane];
    let at = this.waiters.findIndex((w) => LANE_RANK[w.lane] > rank);
    if (at < 0) at = this.waiters.length;
    this.waiters.splice(at, 0, waiter);
    if (at === 0) this.kick();
  }

  remove(waiter: Waiter): void {
    const at = this.waiters.indexOf(waiter);
    if (at < 0) return;
    this.waiters.splice(at, 1);
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
