/**
 * Adaptive polling (TRG-2, issue 12): how soon the next poll pass of a connection runs.
 *
 * The connection's schedule runs a pass every regular interval (POLL_INTERVAL, 10 minutes by default: the
 * rules allow 20 minutes of lag, and webhooks bring changes in seconds). Passes run at once when a connection
 * is made and when the product starts (webhooks may have been lost while it was down). A pass that finds a
 * change no webhook announced suspects a gap in the webhooks: passes then follow every fast interval
 * (POLL_FAST_INTERVAL, 1 minute) until one finds nothing unannounced, for at most `maxFastPasses` in a row
 * (a connection whose webhooks stay broken is still polled within the rules, at the regular interval).
 *
 * Webhook health is judged per change, not by "a delivery seen lately" for the connection: an idle connection
 * receives no deliveries at all, and polling fast exactly when nothing happens is what spent the budget.
 */

/** The cadence a poll chain follows (the regular interval is the schedule's own). */
export interface FastPolling {
  /** The interval of passes while a gap is suspected. */
  everyMs: number;
  /** At most this many fast passes in a row; then the regular schedule takes over again. */
  maxPasses: number;
}

export const DEFAULT_REGULAR_POLL_MS = 10 * 60_000;
export const DEFAULT_FAST_POLL_MS = 60_000;
export const DEFAULT_MAX_FAST_PASSES = 10;

/**
 * A change counts as announced when a webhook for the same record arrived within this window before the pass:
 * longer than the longest regular interval the rules allow (20 minutes), so a change made right after one
 * pass and announced then still counts as announced at the next.
 */
export const ANNOUNCED_WITHIN_MS = 30 * 60_000;

/** What a pass found that matters to the cadence. */
export interface PassFindings {
  /** Changes routed to an owner for which no webhook was received (ANNOUNCED_WITHIN_MS). */
  unannounced: number;
  /** The pass itself says something may have been missed (a CDC look-back exceeded, a page that could not advance). */
  gap?: string;
}

export type PollDecision =
  { next: 'fast'; afterMs: number; reason: string } | { next: 'regular'; reason: string };

/**
 * After a pass: poll again after the fast interval, or leave the next pass to the regular schedule.
 * `fastPassesSoFar` counts the fast passes already run in this chain (0 for a scheduled or triggered pass).
 */
export function nextPoll(fast: FastPolling, findings: PassFindings, fastPassesSoFar: number): PollDecision {
  const suspected = findings.gap
    ? `the pass reported a gap (${findings.gap})`
    : findings.unannounced > 0
      ? `${findings.unannounced} change(s) found that no webhook announced`
      : null;
  if (!suspected) {
    return {
      next: 'regular',
      reason:
        fastPassesSoFar > 0
          ? `quiet again after ${fastPassesSoFar} fast pass(es): back to the regular interval`
          : 'every change found was announced by a webhook',
    };
  }
  if (fastPassesSoFar >= fast.maxPasses) {
    return {
      next: 'regular',
      reason: `${suspected}, but ${fast.maxPasses} fast passes in a row already ran: back to the regular interval`,
    };
  }
  return { next: 'fast', afterMs: fast.everyMs, reason: `${suspected}: a gap is suspected` };
}

/** The fast interval actually used: never slower than the regular one (a schedule set faster than 1 minute). */
export function fastPolling(
  regularMs: number,
  fastMs: number,
  maxPasses = DEFAULT_MAX_FAST_PASSES,
): FastPolling {
  return { everyMs: Math.min(regularMs, fastMs), maxPasses };
}
