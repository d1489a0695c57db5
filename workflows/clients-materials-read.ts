/**
 * The bulk read of one connection's clients and materials (issue 12, CM-2): `cm-read/<connection>`. Routers
 * mark records dirty and signal it (routing/clients-materials.ts); it gathers a burst (until no event came for
 * DEBOUNCE_QUIET_MS, at most DEBOUNCE_MAX_MS after the first), then one activity reads every marked record of
 * each kind at once and wakes the owners of those that changed (activities/clients-materials/bulk-read.ts).
 * Marks for the echoes of our own writes wake nobody; they are confirmed by the next read, at the latest
 * CONFIRM_ECHOES_AFTER_MS after they came. The marks live in PostgreSQL, so the workflow ends when idle and
 * the next event starts it again; while its connection is paused or needs re-authorisation it waits (CON-3).
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { BulkReadResult } from '../activities/clients-materials/bulk-read';
import {
  CONFIRM_ECHOES_AFTER_MS,
  DEBOUNCE_MAX_MS,
  DEBOUNCE_QUIET_MS,
} from '../domain/clients-materials/echo';
import { connectionBlockedType } from '../domain/failures';
import { cmMarkedSignal, connectionRestoredSignal, type ClientsMaterialsReadInput } from './messages';
import { laneActivities, OWNER_ACTIVITY } from './support/activity-options';

// Live lane: it reads what linked records' owners need now (domain/lanes.ts).
const acts = laneActivities<Activities>('live', OWNER_ACTIVITY);

const IDLE_END = '10 minutes';
const MAX_PASSES_PER_RUN = 200;
const PARKED_RECHECK_FIRST_MS = 5_000;
const PARKED_RECHECK_MAX_MS = 5 * 60_000;

export async function clientsMaterialsReadWorkflow(
  input: ClientsMaterialsReadInput,
): Promise<{ passes: number }> {
  const { connectionId } = input;
  let real = input.pending === true; // a real mark waits: read after the debounce
  let firstAt: number | null = real ? Date.now() : null;
  let lastAt = Date.now();
  let echoDueAt: number | null = null; // echoes only: read by then
  let restored = 0;
  let passes = 0;
  setHandler(cmMarkedSignal, ({ echo }) => {
    const now = Date.now();
    lastAt = now;
    if (echo) {
      echoDueAt ??= now + CONFIRM_ECHOES_AFTER_MS;
      return;
    }
    real = true;
    firstAt ??= now;
  });
  setHandler(connectionRestoredSignal, () => {
    restored += 1;
  });

  async function readOnce(): Promise<BulkReadResult | { blocked: string }> {
    try {
      return await acts.readDirtyClientsMaterials({ connectionId, taskQueue: workflowInfo().taskQueue });
    } catch (err) {
      const blocked = connectionBlockedType(err);
      if (!blocked) throw err;
      return { blocked };
    }
  }

  let parkedFor = PARKED_RECHECK_FIRST_MS;
  for (;;) {
    if (!real) {
      const due = echoDueAt;
      const wait = due === null ? IDLE_END : Math.max(0, due - Date.now());
      const woke = await condition(() => real || echoDueAt !== due, wait);
      if (woke && !real) continue; // an echo came: wait until it is due
      if (!woke && due === null) break; // idle: the next event starts a new run
    }
    // Debounce: a burst of events costs one read.
    while (real && firstAt !== null) {
      const until = Math.min(lastAt + DEBOUNCE_QUIET_MS, firstAt + DEBOUNCE_MAX_MS);
      if (Date.now() >= until) break;
      await sleep(until - Date.now());
    }
    real = false;
    firstAt = null;
    echoDueAt = null;
    const r = await readOnce();
    passes += 1;
    if (r.blocked) {
      // Paused or needing re-authorisation (CON-3): wait for the reconnect signal, re-checking now and then.
      const seen = restored;
      await condition(() => restored > seen, parkedFor);
      parkedFor = Math.min(parkedFor * 2, PARKED_RECHECK_MAX_MS);
      real = true;
      firstAt = Date.now() - DEBOUNCE_MAX_MS;
      continue;
    }
    parkedFor = PARKED_RECHECK_FIRST_MS;
    if ('nextInMs' in r && r.nextInMs !== null) {
      const due = Date.now() + r.nextInMs;
      echoDueAt = echoDueAt === null ? due : Math.min(echoDueAt, due);
    }
    if (passes >= MAX_PASSES_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      // Marks stay in PostgreSQL: the next run reads whatever is pending (echoes included) at once.
      await continueAsNew<typeof clientsMaterialsReadWorkflow>({
        connectionId,
        pending: real || echoDueAt !== null,
      });
    }
  }
  return { passes };
}
