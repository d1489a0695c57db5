/**
 * Activity heartbeats (issue 12). Every activity of the sync runs with a heartbeat timeout, so that the
 * activities of a worker that died are retried elsewhere within that timeout instead of when their
 * start-to-close timeout (hours, since a wait for budget may be long) runs out. A heartbeat timeout only
 * helps if the activity beats: the worker beats for every running activity on its behalf (the keep-alive
 * below), so a step that is merely slow (a long page, a long wait for a permit) never times out, while a
 * dead process stops beating. An activity that reports progress (`recordHeartbeat`) keeps its details:
 * the keep-alive repeats the last ones.
 */
import type { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

/**
 * How often the keep-alive beats: three times inside the 30-second heartbeat timeout, so a worker busy for a
 * few seconds (2 cores, a bulk page being mapped) never misses one. An activity that ends within this sends
 * no heartbeat at all (the SDK also throttles them to 80 % of the timeout).
 */
export const KEEP_ALIVE_MS = 10_000;

const lastDetails = new WeakMap<Context, unknown>();

/** Heartbeats `ctx` with progress details, which the keep-alive then repeats. */
export function recordHeartbeat(ctx: Context, details?: unknown): void {
  lastDetails.set(ctx, details);
  ctx.heartbeat(details);
}

/** The worker's activity interceptor that heartbeats every running activity every `everyMs`. */
export function keepAliveHeartbeats(everyMs = KEEP_ALIVE_MS): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const timer = setInterval(() => {
          try {
            ctx.heartbeat(lastDetails.get(ctx));
          } catch {
            // the activity is finishing; the interval is cleared right after
          }
        }, everyMs);
        try {
          return await next(input);
        } finally {
          clearInterval(timer);
        }
      },
    },
  });
}
