/**
 * Activities of the onboarding workflow (CM-1, CM-6, CM-7 on import, OPS-2 progress): count and page
 * through QuickBooks customers and items (STARTPOSITION/MAXRESULTS, ordered by Id, inactive ones included so
 * positions stay put and the skips are counted), import each page into ServiceM8 and record every record's
 * outcome and the phase cursor in PostgreSQL.
 *
 * Issue 12: the records of a page are read once (the page query keeps them in the record cache, the import
 * takes them from there), the CM-7 candidates are listed once per page, several records are imported at once
 * (importConcurrency; each in the turn of its QuickBooks name, so two workers never import one record
 * twice), and what is written is kept as our own record writes, so the echoes of the import cost no read.
 */
import {
  clientFromQbo,
  customerImportSkip,
  type QboCustomerRecord,
} from '../domain/clients-materials/customer-sync';
import { validationMessage } from '../apis/errors';
import { itemImportSkip, type QboItemRecord } from '../domain/clients-materials/item-sync';
import { qboQuote, sameName } from '../domain/names';
import type { OnboardingPhase, OnboardingProgress } from '../domain/onboarding';
import type { Sm8Company, Sm8Material } from '../domain/servicem8-types';
import {
  importCustomer,
  importItem,
  unlinkedCandidates,
  type ImportResult,
} from './clients-materials/import';
import type { ActivityDeps } from './support/deps';
import { OnboardingStore } from '../store/onboarding';
import { QuickBooksClient } from '../apis/quickbooks/client';
import { ServiceM8Client } from '../apis/servicem8/client';
import { RecordCache } from '../store/record-cache';
import { CmRecords } from './clients-materials/record-reads';
import { heartbeat, temporalClient } from './support/temporal';
import { signalClientMaterial } from '../routing/clients-materials';

type RecordPhase = Exclude<OnboardingPhase, 'taxcodes'>;
const ENTITY = { customers: 'Customer', items: 'Item' } as const;

/** One page to import: its records (each with the ServiceM8 uuids the workflow gave it) and the next cursor. */
interface PageInput<R extends { qboId: string }> {
  connectionId: string;
  run: number;
  records: R[];
  nextPosition: number;
}

/** A ServiceM8 refusal of one record (its own validation message) is a skip, not a failed import. */
const refusal = validationMessage;

/**
 * Records of one page imported at once (the governor paces their calls): enough to keep the bulk lane's
 * permits busy while each import spends up to half a second between its calls (PostgreSQL, its name turn),
 * and no more, since each import holds the turn of its QuickBooks name (activities/support/name-turn.ts)
 * while its writes wait for bulk permits, and an approval of the same client waits for that turn too (issue
 * 12: with 8 at once at the real limits one export waited 19 s). Two at ServiceM8's 136 bulk calls a minute;
 * more where the limits are raised (GOVERNOR_LIMIT_SCALE), so a turn is held about as long.
 */
export function importConcurrency(bulkCallsPerMinute: number | null | undefined): number {
  if (!bulkCallsPerMinute) return 2;
  return Math.max(2, Math.ceil((bulkCallsPerMinute / 60) * 0.5));
}

/** Runs `work` over `items`, `concurrency` at a time; the first failure is thrown once all have settled. */
async function eachConcurrently<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>) {
  let next = 0;
  let failure: { err: unknown } | null = null;
  const lane = async () => {
    // After a failure (a cancelled activity, a worker stopping) nothing new starts: the page is retried and
    // skips the records already recorded.
    while (!failure && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  if (failure) throw (failure as { err: unknown }).err;
}

export function createOnboardingActivities(deps: ActivityDeps) {
  const store = new OnboardingStore(deps.pool);
  const qboFor = (id: string) => new QuickBooksClient(deps.qboClientDeps(), id);
  const sm8For = (id: string) => new ServiceM8Client(deps.sm8ClientDeps(), id);
  const cache = new RecordCache(deps.pool);

  /** The page's records as the page query read them moments ago (cached), the missing ones read by Id. */
  async function pageRecords<T>(
    connectionId: string,
    phase: RecordPhase,
    ids: string[],
  ): Promise<Map<string, T>> {
    const found = await cache.getMany<T>(connectionId, 'qbo', ENTITY[phase], ids);
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length)
      for (const [id, r] of await readByIds<T>(connectionId, phase, missing)) found.set(id, r);
    return found;
  }

  async function readByIds<T>(
    connectionId: string,
    phase: RecordPhase,
    ids: string[],
  ): Promise<Map<string, T>> {
    const entity = ENTITY[phase];
    const rows = await qboFor(connectionId).query<typeof entity, T & { Id: string }>(
      entity,
      `SELECT * FROM ${entity} WHERE Id IN (${ids.map(qboQuote).join(', ')}) AND Active IN (true, false) MAXRESULTS 1000`,
    );
    return new Map(rows.map((r) => [r.Id, r]));
  }

  /**
   * Imports one page of customers or items: records gone, skipped (CM-6) or linked already are recorded as
   * skips, the others imported (CM-7 name match) or, when ServiceM8 refuses one, skipped with its reason.
   * The phase cursor moves to `nextPosition` afterwards; a page retried skips the records already recorded.
   */
  async function importPage<Q extends { Id: string }, R extends { qboId: string }, C>(
    input: PageInput<R>,
    kind: {
      phase: RecordPhase;
      entity: 'customer' | 'item';
      sm8Object: 'company' | 'material';
      importSkip(record: Q): string | null;
      /** `intoLinkId`: a link holding only the QuickBooks id (its owner saw an event first), completed in place. */
      importOne(
        sm8: ServiceM8Client,
        record: Q,
        rec: R,
        candidates: C[],
        intoLinkId?: string,
      ): Promise<ImportResult>;
      /** Once the candidates are listed: read at once what the page's imports will need of them. */
      prefetch?(records: CmRecords, page: Q[], candidates: C[]): Promise<void>;
    },
  ): Promise<OnboardingProgress | null> {
    const { connectionId, run } = input;
    const { phase } = kind;
    const seen = await store.outcomesOf(
      connectionId,
      run,
      phase,
      input.records.map((r) => r.qboId),
    );
    const todo = input.records.filter((r) => !seen.has(r.qboId));
    if (todo.length) {
      const sm8 = sm8For(connectionId);
      const records = await pageRecords<Q>(
        connectionId,
        phase,
        todo.map((r) => r.qboId),
      );
      // The CM-7 candidates, listed once per page (and only when a record of the page needs them).
      let candidates: Promise<C[]> | undefined;
      const concurrency = importConcurrency(deps.governor.minuteLimit?.('sm8', 'bulk'));
      await eachConcurrently(todo, concurrency, async (rec) => {
        const q = records.get(rec.qboId);
        const skip = !q ? 'gone' : kind.importSkip(q);
        if (!q || skip) {
          await store.recordOutcome(connectionId, run, phase, rec.qboId, 'skipped', {
            reason: skip ?? 'gone',
          });
          return;
        }
        const linked = await deps.links.byQbo(connectionId, kind.entity, q.Id);
        if (linked?.sm8Uuid) {
          await store.recordOutcome(connectionId, run, phase, q.Id, 'skipped', {
            reason: 'already_linked',
            sm8Uuid: linked.sm8Uuid,
          });
          return;
        }
        // A link holding only the QuickBooks id: the record's owner saw an event about it first and waits
        // while onboarding runs (activities/clients-materials/sync.ts); onboarding brings it in, in place.
        candidates ??= unlinkedCandidates<C & { uuid: string; active: unknown }>(
          deps,
          sm8,
          connectionId,
          kind.sm8Object,
        ).then(async (listed) => {
          await kind.prefetch?.(new CmRecords(deps, connectionId, sm8), [...records.values()], listed);
          return listed;
        });
        try {
          const r = await kind.importOne(sm8, q, rec, await candidates, linked?.id);
          if (r.outcome === 'already_linked')
            await store.recordOutcome(connectionId, run, phase, q.Id, 'skipped', {
              reason: 'already_linked',
              sm8Uuid: r.sm8Uuid,
            });
          else await store.recordOutcome(connectionId, run, phase, q.Id, r.outcome, { sm8Uuid: r.sm8Uuid });
        } catch (err) {
          const why = refusal(err);
          if (!why) throw err;
          await store.recordOutcome(connectionId, run, phase, q.Id, 'skipped', {
            reason: `refused_by_servicem8: ${why}`.slice(0, 300),
          });
        }
        heartbeat();
      });
    }
    await store.updatePhase(connectionId, run, phase, { nextPosition: input.nextPosition });
    return store.progress(connectionId, run);
  }

  return {
    /** The run to work on (a new one, or the unfinished one to resume) with its phase cursors. */
    async beginOnboarding(input: { connectionId: string; startedBy: string; run?: number }): Promise<{
      run: number;
      resumed: boolean;
      phases: Record<OnboardingPhase, { state: string; total: number | null; nextPosition: number }>;
    }> {
      // A continued workflow run (continue-as-new) carries its run; otherwise a new or unfinished one.
      const { run, resumed } = input.run
        ? { run: input.run, resumed: true }
        : await store.begin(input.connectionId, input.startedBy);
      const [taxcodes, customers, items] = await Promise.all([
        store.phaseCursor(input.connectionId, run, 'taxcodes'),
        store.phaseCursor(input.connectionId, run, 'customers'),
        store.phaseCursor(input.connectionId, run, 'items'),
      ]);
      return { run, resumed, phases: { taxcodes, customers, items } };
    },

    async onboardingProgress(input: {
      connectionId: string;
      run: number;
    }): Promise<OnboardingProgress | null> {
      return store.progress(input.connectionId, input.run);
    },

    /** How many QuickBooks records the phase will look at (inactive included: they are counted as skipped). */
    async countOnboardingRecords(input: {
      connectionId: string;
      run: number;
      phase: RecordPhase;
    }): Promise<number> {
      const entity = ENTITY[input.phase];
      const total = await qboFor(input.connectionId).count(entity, 'Active IN (true, false)');
      await store.updatePhase(input.connectionId, input.run, input.phase, { state: 'running', total });
      return total;
    },

    /** The ids of one page, ordered by Id (the workflow gives each a ServiceM8 uuid before importing). */
    async readOnboardingPage(input: {
      connectionId: string;
      phase: RecordPhase;
      startPosition: number;
      pageSize: number;
    }): Promise<string[]> {
      const entity = ENTITY[input.phase];
      const rows = await qboFor(input.connectionId).query<typeof entity, { Id: string; SyncToken: string }>(
        entity,
        `SELECT * FROM ${entity} WHERE Active IN (true, false) ORDERBY Id STARTPOSITION ${input.startPosition} MAXRESULTS ${input.pageSize}`,
      );
      // Kept for the page's import and the records' first syncs: nobody reads them again.
      await new CmRecords(deps, input.connectionId, sm8For(input.connectionId)).cacheQbo(entity, rows);
      return rows.map((r) => r.Id);
    },

    /** CM-1/CM-6/CM-7: imports one page of customers; the cursor moves to `nextPosition` afterwards. */
    async importCustomerPage(
      input: PageInput<{ qboId: string; companyUuid: string; contactUuid: string }>,
    ): Promise<OnboardingProgress | null> {
      return importPage(input, {
        phase: 'customers',
        entity: 'customer',
        sm8Object: 'company',
        importSkip: customerImportSkip,
        importOne: (sm8, c: QboCustomerRecord, rec, candidates: Sm8Company[], intoLinkId) =>
          importCustomer(deps, sm8, input.connectionId, c, rec, candidates, intoLinkId),
        // CM-7: a client matched by name is updated with its contacts: the page's matches' contacts are
        // listed in one call, not one list per client.
        prefetch: (records, page: QboCustomerRecord[], candidates: Sm8Company[]) => {
          const names = page.map((c) => clientFromQbo(c).name);
          const matched = candidates.filter((c) => names.some((n) => sameName(c.name, n)));
          return records.prefetchContactsOf(matched.map((c) => c.uuid));
        },
      });
    },

    /** CM-1/CM-7/CM-8: imports one page of items; the cursor moves to `nextPosition` afterwards. */
    async importItemPage(
      input: PageInput<{ qboId: string; materialUuid: string }>,
    ): Promise<OnboardingProgress | null> {
      return importPage(input, {
        phase: 'items',
        entity: 'item',
        sm8Object: 'material',
        importSkip: itemImportSkip,
        importOne: (sm8, i: QboItemRecord, rec, candidates: Sm8Material[], intoLinkId) =>
          importItem(deps, sm8, input.connectionId, i, rec.materialUuid, candidates, intoLinkId),
      });
    },

    async finishOnboardingPhase(input: {
      connectionId: string;
      run: number;
      phase: OnboardingPhase;
      detail?: Record<string, number>;
      total?: number;
    }): Promise<OnboardingProgress | null> {
      await store.updatePhase(input.connectionId, input.run, input.phase, {
        state: 'done',
        ...(input.detail ? { detail: input.detail } : {}),
        ...(input.total !== undefined ? { total: input.total } : {}),
      });
      return store.progress(input.connectionId, input.run);
    },

    async finishOnboarding(input: {
      connectionId: string;
      run: number;
      /** The workflow's task queue, where the owners of records born meanwhile are started. */
      taskQueue?: string;
    }): Promise<OnboardingProgress | null> {
      await store.finish(input.connectionId, input.run);
      // Records born in QuickBooks while onboarding ran and not brought in by it (their events started no
      // owner: routing/clients-materials.ts): their owners start now. Finished first, so an event routed from
      // now on starts its owner itself.
      if (input.taskQueue) {
        const left = await deps.links.qboOnly(input.connectionId);
        if (left.length) {
          const temporal = temporalClient(deps, 'onboarding');
          for (const l of left)
            await signalClientMaterial(
              temporal,
              input.taskQueue,
              l.entityType === 'item' ? 'item' : 'customer',
              input.connectionId,
              l.id,
            );
        }
      }
      return store.progress(input.connectionId, input.run);
    },
  };
}
