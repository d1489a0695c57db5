/**
 * Activities of the onboarding workflow (CM-1, CM-6, CM-7 on import, OPS-2 progress): count and page
 * through QuickBooks customers and items (STARTPOSITION/MAXRESULTS, ordered by Id, inactive ones included so
 * positions stay put and the skips are counted), import each page into ServiceM8 and record every record's
 * outcome and the phase cursor in PostgreSQL.
 */
import { ApplicationFailure } from '@temporalio/common';
import { customerImportSkip, type QboCustomerRecord } from '../domain/customer-sync';
import { FailureType } from '../domain/failures';
import { itemImportSkip, type QboItemRecord } from '../domain/item-sync';
import { qboQuote } from '../domain/names';
import type { OnboardingPhase, OnboardingProgress } from '../domain/onboarding';
import type { Sm8Company, Sm8Material } from '../domain/servicem8-types';
import { importCustomer, importItem, unlinkedCandidates } from './cm-import';
import type { ActivityDeps } from './index';
import { OnboardingStore } from './onboarding-store';
import { QuickBooksClient } from './quickbooks-client';
import { ServiceM8Client } from './servicem8-client';

type RecordPhase = Exclude<OnboardingPhase, 'taxcodes'>;
const ENTITY = { customers: 'Customer', items: 'Item' } as const;

/** A ServiceM8 refusal of one record (its own validation message) is a skip, not a failed import. */
function refusal(err: unknown): string | null {
  if (err instanceof ApplicationFailure && err.type === FailureType.validation) return err.message;
  return null;
}

export function createOnboardingActivities(deps: ActivityDeps) {
  const store = new OnboardingStore(deps.pool);
  const qboFor = (id: string) => new QuickBooksClient(deps.qboClientDeps(), id);
  const sm8For = (id: string) => new ServiceM8Client(deps.sm8ClientDeps(), id);

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
      const rows = await qboFor(input.connectionId).query<typeof entity, { Id: string }>(
        entity,
        `SELECT * FROM ${entity} WHERE Active IN (true, false) ORDERBY Id STARTPOSITION ${input.startPosition} MAXRESULTS ${input.pageSize}`,
      );
      return rows.map((r) => r.Id);
    },

    /** CM-1/CM-6/CM-7: imports one page of customers; the cursor moves to `nextPosition` afterwards. */
    async importCustomerPage(input: {
      connectionId: string;
      run: number;
      records: Array<{ qboId: string; companyUuid: string; contactUuid: string }>;
      nextPosition: number;
    }): Promise<OnboardingProgress | null> {
      const { connectionId, run } = input;
      const seen = await store.outcomesOf(
        connectionId,
        run,
        'customers',
        input.records.map((r) => r.qboId),
      );
      const todo = input.records.filter((r) => !seen.has(r.qboId));
      if (todo.length) {
        const sm8 = sm8For(connectionId);
        const customers = await readByIds<QboCustomerRecord>(
          connectionId,
          'customers',
          todo.map((r) => r.qboId),
        );
        let candidates: Sm8Company[] | undefined;
        for (const rec of todo) {
          const c = customers.get(rec.qboId);
          const skip = !c ? 'gone' : customerImportSkip(c);
          if (!c || skip) {
            await store.recordOutcome(connectionId, run, 'customers', rec.qboId, 'skipped', {
              reason: skip ?? 'gone',
            });
            continue;
          }
          const linked = await deps.links.byQbo(connectionId, 'customer', c.Id);
          if (linked) {
            await store.recordOutcome(connectionId, run, 'customers', c.Id, 'skipped', {
              reason: linked.sm8Uuid ? 'already_linked' : 'imported_by_its_owner',
              sm8Uuid: linked.sm8Uuid ?? undefined,
            });
            continue;
          }
          candidates ??= await unlinkedCandidates<Sm8Company>(deps, sm8, connectionId, 'company');
          try {
            const r = await importCustomer(deps, sm8, connectionId, c, rec, candidates);
            await store.recordOutcome(connectionId, run, 'customers', c.Id, r.outcome, {
              sm8Uuid: r.sm8Uuid,
            });
          } catch (err) {
            const why = refusal(err);
            if (!why) throw err;
            await store.recordOutcome(connectionId, run, 'customers', c.Id, 'skipped', {
              reason: `refused_by_servicem8: ${why}`.slice(0, 300),
            });
          }
        }
      }
      await store.updatePhase(connectionId, run, 'customers', { nextPosition: input.nextPosition });
      return store.progress(connectionId, run);
    },

    /** CM-1/CM-7/CM-8: imports one page of items; the cursor moves to `nextPosition` afterwards. */
    async importItemPage(input: {
      connectionId: string;
      run: number;
      records: Array<{ qboId: string; materialUuid: string }>;
      nextPosition: number;
    }): Promise<OnboardingProgress | null> {
      const { connectionId, run } = input;
      const seen = await store.outcomesOf(
        connectionId,
        run,
        'items',
        input.records.map((r) => r.qboId),
      );
      const todo = input.records.filter((r) => !seen.has(r.qboId));
      if (todo.length) {
        const sm8 = sm8For(connectionId);
        const items = await readByIds<QboItemRecord>(
          connectionId,
          'items',
          todo.map((r) => r.qboId),
        );
        let candidates: Sm8Material[] | undefined;
        for (const rec of todo) {
          const i = items.get(rec.qboId);
          const skip = !i ? 'gone' : itemImportSkip(i);
          if (!i || skip) {
            await store.recordOutcome(connectionId, run, 'items', rec.qboId, 'skipped', {
              reason: skip ?? 'gone',
            });
            continue;
          }
          const linked = await deps.links.byQbo(connectionId, 'item', i.Id);
          if (linked) {
            await store.recordOutcome(connectionId, run, 'items', i.Id, 'skipped', {
              reason: linked.sm8Uuid ? 'already_linked' : 'imported_by_its_owner',
              sm8Uuid: linked.sm8Uuid ?? undefined,
            });
            continue;
          }
          candidates ??= await unlinkedCandidates<Sm8Material>(deps, sm8, connectionId, 'material');
          try {
            const r = await importItem(deps, sm8, connectionId, i, rec.materialUuid, candidates);
            await store.recordOutcome(connectionId, run, 'items', i.Id, r.outcome, { sm8Uuid: r.sm8Uuid });
          } catch (err) {
            const why = refusal(err);
            if (!why) throw err;
            await store.recordOutcome(connectionId, run, 'items', i.Id, 'skipped', {
              reason: `refused_by_servicem8: ${why}`.slice(0, 300),
            });
          }
        }
      }
      await store.updatePhase(connectionId, run, 'items', { nextPosition: input.nextPosition });
      return store.progress(connectionId, run);
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

    async finishOnboarding(input: { connectionId: string; run: number }): Promise<OnboardingProgress | null> {
      await store.finish(input.connectionId, input.run);
      return store.progress(input.connectionId, input.run);
    },
  };
}
