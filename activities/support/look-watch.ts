/**
 * Issue 12: a job's look running below the interactive lane hears, wherever it is (a QuickBooks call, a
 * wait for a permit or a name turn), that a person approved the job meanwhile. One timer per worker takes
 * the marks of all such looks in one statement (store/invoice-look-wanted.ts) every `everyMs` while any
 * runs, and raises the looks it found. The timer stops when no look runs, so an idle worker asks nothing.
 */
import type { Pool } from 'pg';
import { currentLaneContext, withRaisableLane } from '../../infra/lane-context';
import { takeLookWanted, takeLooksWanted } from '../../store/invoice-look-wanted';

/** How often the running looks' marks are taken: an approval waits at most this long to raise its look. */
export const LOOK_WATCH_MS = 500;

export interface LookWatch {
  /** Watches a look until the returned stop is called; `raise` runs at most once. */
  watch(connectionId: string, jobUuid: string, raise: () => void): () => void;
}

export function createLookWatch(pool: Pool, everyMs = LOOK_WATCH_MS): LookWatch {
  const looks = new Map<number, { connectionId: string; jobUuid: string; raise: () => void }>();
  let next = 0;
  let timer: NodeJS.Timeout | null = null;
  let taking = false;

  const tick = async () => {
    if (taking || looks.size === 0) return;
    taking = true;
    try {
      const watched = [...looks.entries()];
      const taken = await takeLooksWanted(
        pool,
        watched.map(([, l]) => l),
      );
      for (const [id, l] of watched) {
        if (!taken.some((t) => t.connectionId === l.connectionId && t.jobUuid === l.jobUuid)) continue;
        looks.delete(id);
        l.raise();
      }
    } catch {
      // A database blip: the look still checks its mark before it writes the invoice (invoice-pass.ts).
    } finally {
      taking = false;
      if (looks.size === 0) stopTimer();
    }
  };
  const stopTimer = () => {
    if (timer) clearInterval(timer);
    timer = null;
  };

  return {
    watch(connectionId, jobUuid, raise) {
      const id = next++;
      looks.set(id, { connectionId, jobUuid, raise });
      if (!timer) {
        timer = setInterval(() => void tick(), everyMs);
        timer.unref();
      }
      return () => {
        looks.delete(id);
        if (looks.size === 0) stopTimer();
      };
    },
  };
}

/**
 * Runs a job's look as raisable work (infra/lane-context.ts): below the interactive lane it is watched, and
 * `raiseIfWanted` (called by the look before it writes the invoice) takes the job's mark once more, so the
 * write itself never misses an approval that came between two ticks.
 */
export function createRaisableLook(pool: Pool, watch: LookWatch = createLookWatch(pool)) {
  return <T>(
    connectionId: string,
    jobUuid: string,
    look: (raiseIfWanted: () => Promise<void>) => Promise<T>,
  ): Promise<T> =>
    withRaisableLane(async (raise) => {
      const below = () => currentLaneContext().lane !== 'interactive';
      const unwatch = below() ? watch.watch(connectionId, jobUuid, () => raise('interactive')) : () => {};
      try {
        return await look(async () => {
          if (below() && (await takeLookWanted(pool, connectionId, jobUuid))) raise('interactive');
        });
      } finally {
        unwatch();
      }
    });
}
