/** The webhook inbox relay (client/webhook-inbox.ts) as the API runs it, started by a test on its world. */
import type { Client } from '@temporalio/client';
import { LazyTemporal } from '../../client/temporal-client';
import { startInboxRelay } from '../../client/webhook-inbox';
import type { World } from './world';

export interface TestRelayOptions {
  /**
   * The connections whose events this relay routes. Every test file shares the test database: a relay that
   * routed every pending row took another file's events meanwhile (its "still pending" checks then failed).
   */
  connections: readonly string[];
  /** Passes every 100 ms unless said. */
  intervalMs?: number;
  /** The world's Temporal client unless said (a test may give one that cannot reach Temporal). */
  temporal?: Client;
}

/** Starts the relay (14 days' retention); returns its stop, which resolves once the relay has stopped. */
export function startTestRelay(w: World, opts: TestRelayOptions): () => Promise<void> {
  return startInboxRelay({
    pool: w.h.pool,
    temporal: LazyTemporal.of(opts.temporal ?? w.h.client),
    links: w.h.deps.links,
    taskQueue: w.h.taskQueue,
    retentionDays: 14,
    intervalMs: opts.intervalMs ?? 100,
    connectionIds: opts.connections,
  });
}

/** Runs `fn` while the relay runs; returns what `fn` returned once the relay has stopped. */
export async function withTestRelay<T>(w: World, fn: () => Promise<T>, opts: TestRelayOptions): Promise<T> {
  const stop = startTestRelay(w, opts);
  try {
    return await fn();
  } finally {
    await stop();
  }
}
