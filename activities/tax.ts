/**
 * TAX-1 … TAX-3: one pass that makes ServiceM8's tax rates follow QuickBooks' tax codes (QuickBooks owns
 * tax settings while integrated). Called by the onboarding workflow (first phase), the tax-poll pass
 * (TAX-2: TaxCode has neither webhooks nor CDC) and the connection's tax owner workflow (woken by ServiceM8
 * taxrate events, TAX-3). A pass reads both sides and the links, plans with domain/tax.ts and writes only
 * differences, so it is idempotent; passes of one connection are serialised by an advisory lock, so the
 * three callers may overlap freely.
 */
import crypto from 'node:crypto';
import { validationMessage } from '../apis/errors';
import {
  planTaxSync,
  qboTaxCodeView,
  sameValues,
  sm8TaxFingerprint,
  type Sm8TaxValues,
  type TaxAction,
  type TaxSyncResult,
} from '../domain/tax';
import { flag, type Sm8TaxRate } from '../domain/servicem8-types';
import { withTransaction } from '../infra/database';
import { withAdvisoryLock } from '../store/advisory-locks';
import { writeAudit } from '../store/audit';
import type { ActivityDeps } from './support/deps';
import { heartbeat, taskQueue, temporalClient } from './support/temporal';
import { TAX_REASON_CODES } from '../domain/invoice/reasons';
import { jobsHeldFor } from '../store/invoice-exports';
import { signalInvoice } from '../routing/routes';
import type { Link } from '../store/links';
import { qboTaxModel, readQboTaxTables, taxCodeInfos } from '../apis/quickbooks/lookups';
import { forgetConnectionFacts, saveConnectionFacts } from '../store/connection-facts';
import { QuickBooksClient } from '../apis/quickbooks/client';
import { ServiceM8Client } from '../apis/servicem8/client';

/** Advisory lock class of the tax sync (each module that locks has its own class: 7_283_0xx). */
const LOCK_CLASS = 7_283_008;
const LOCK_POLL_MS = 250;

export type { TaxSyncResult };

const emptyResult = (): TaxSyncResult => ({
  created: 0,
  updated: 0,
  deactivated: 0,
  unchanged: 0,
  linked: 0,
  reverted: 0,
  failed: 0,
});

/**
 * The uuid of the ServiceM8 rate made for one QuickBooks code: derived (a name-based, version-5 style
 * uuid) from connection, company and code, so that a retried or concurrent create can only hit one record
 * (ServiceM8 applies a create with an existing uuid as an update), without needing a workflow to mint it.
 */
export function taxRateUuid(connectionId: string, realmId: string, qboTaxCodeId: string): string {
  const h = crypto
    .createHash('sha1')
    .update(`sm8-qbo-sync:taxcode:${connectionId}:${realmId}:${qboTaxCodeId}`)
    .digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

const sm8Fields = (v: Sm8TaxValues) => ({ name: v.name, amount: v.amount, active: v.active ? 1 : 0 });

export function createTaxActivities(deps: ActivityDeps) {
  const qboFor = (connectionId: string) => new QuickBooksClient(deps.qboClientDeps(), connectionId);
  const sm8For = (connectionId: string) => new ServiceM8Client(deps.sm8ClientDeps(), connectionId);

  /** Runs fn while holding the connection's tax lock (a session advisory lock on its own client). */
  function withTaxLock<T>(connectionId: string, fn: () => Promise<T>): Promise<T> {
    return withAdvisoryLock(
      deps.pool,
      LOCK_CLASS,
      connectionId,
      async () => {
        heartbeat('waiting for another tax sync of this connection');
        await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
      },
      fn,
    );
  }

  /** Stores the fingerprints (and state) of a link after a write, with the audit row, in one transaction. */
  async function recordWrite(
    connectionId: string,
    linkId: string | null,
    values: Sm8TaxValues,
    qboFingerprint: string | null,
    audit?: { action: string; sm8Uuid: string; detail: Record<string, unknown> },
  ): Promise<void> {
    await withTransaction(deps.pool, async (db) => {
      if (linkId)
        await deps.links.update(
          linkId,
          {
            sm8Fingerprint: sm8TaxFingerprint(values),
            ...(qboFingerprint !== null ? { qboFingerprint } : {}),
            state: values.active ? 'linked' : 'inactive',
          },
          db,
        );
      if (audit)
        await writeAudit(db, {
          connectionId,
          entityType: 'taxrate',
          entityRef: audit.sm8Uuid,
          action: audit.action,
          detail: audit.detail,
        });
    });
  }

  async function auditFailure(connectionId: string, sm8Uuid: string, detail: Record<string, unknown>) {
    await writeAudit(deps.pool, {
      connectionId,
      entityType: 'taxrate',
      entityRef: sm8Uuid,
      action: 'tax_sync_failed',
      detail,
    });
  }

  async function apply(
    connectionId: string,
    sm8: ServiceM8Client,
    action: TaxAction,
    result: TaxSyncResult,
  ): Promise<void> {
    switch (action.kind) {
      case 'unchanged': {
        result.unchanged += 1;
        if (action.refresh && action.linkId && action.values)
          await recordWrite(connectionId, action.linkId, action.values, action.qboFingerprint ?? null);
        return;
      }
      case 'create': {
        // The link first: a crash after the create leaves a link whose rate the next pass finds (or
        // writes again under the same uuid), never an orphan rate that would be taken for a user's own.
        const linkId = await deps.links.linkTaxCode(
          connectionId,
          action.sm8Uuid,
          action.qboId,
          // No fingerprints until written: an unfinished create is then finished, not taken for an edit.
          { sm8: null, qbo: null },
          'linked',
        );
        if (!linkId) {
          result.unchanged += 1; // linked meanwhile by the invoice export's name match: next pass aligns it
          return;
        }
        await sm8.create('taxrate', action.sm8Uuid, sm8Fields(action.values));
        await recordWrite(connectionId, linkId, action.values, action.qboFingerprint, {
          action: 'tax_imported',
          sm8Uuid: action.sm8Uuid,
          detail: { rule: 'TAX-1', qboTaxCodeId: action.qboId, after: action.values },
        });
        result.created += 1;
        return;
      }
      case 'link': {
        const linkId = await deps.links.linkTaxCode(
          connectionId,
          action.sm8Uuid,
          action.qboId,
          // No fingerprints until aligned: a retry after a failed write is a TAX-2 update, not a revert.
          { sm8: null, qbo: null },
          action.before.active ? 'linked' : 'inactive',
        );
        if (!linkId) {
          result.unchanged += 1;
          return;
        }
        if (!sameValues(action.before, action.values))
          await sm8.update('taxrate', action.sm8Uuid, sm8Fields(action.values));
        await recordWrite(connectionId, linkId, action.values, action.qboFingerprint, {
          action: 'tax_linked',
          sm8Uuid: action.sm8Uuid,
          detail: { rule: 'TAX-1', qboTaxCodeId: action.qboId, before: action.before, after: action.values },
        });
        result.linked += 1;
        if (action.before.active && !action.values.active) result.deactivated += 1;
        return;
      }
      case 'update': {
        if (action.recreate) await sm8.create('taxrate', action.sm8Uuid, sm8Fields(action.values));
        else await sm8.update('taxrate', action.sm8Uuid, sm8Fields(action.values));
        const revert = action.cause === 'sm8';
        await recordWrite(
          connectionId,
          action.linkId,
          action.values,
          action.qboFingerprint,
          revert
            ? {
                action: 'tax_reverted',
                sm8Uuid: action.sm8Uuid,
                detail: {
                  rule: 'TAX-3',
                  why: 'tax rates follow QuickBooks while integrated; a ServiceM8 edit is undone',
                  qboTaxCodeId: action.qboId,
                  before: action.before,
                  after: action.values,
                },
              }
            : {
                action: 'tax_updated',
                sm8Uuid: action.sm8Uuid,
                detail: {
                  rule: 'TAX-2',
                  qboTaxCodeId: action.qboId,
                  before: action.before,
                  after: action.values,
                },
              },
        );
        if (revert) result.reverted += 1;
        else if (action.before.active && !action.values.active) result.deactivated += 1;
        else result.updated += 1;
        return;
      }
      case 'deactivateUnlinked': {
        const after = { ...action.before, active: false };
        await sm8.update('taxrate', action.sm8Uuid, { active: 0 });
        await recordWrite(connectionId, null, after, null, {
          action: 'tax_deactivated',
          sm8Uuid: action.sm8Uuid,
          detail: {
            rule: 'TAX-3',
            why: 'no QuickBooks tax code has this name and rate; tax rates are managed in QuickBooks while integrated',
            before: action.before,
            after,
          },
        });
        result.deactivated += 1;
        return;
      }
    }
  }

  return {
    /**
     * TAX-1 … TAX-3 for one connection: every active QuickBooks tax code with a sales rate becomes (or is
     * linked to) a ServiceM8 tax rate; changes and inactivations follow; ServiceM8-side edits are undone.
     * Idempotent and safe to run concurrently with itself (serialised per connection).
     */
    async syncTaxCodes(input: { connectionId: string }): Promise<TaxSyncResult> {
      const { connectionId } = input;
      const conn = await deps.store.require(connectionId);
      if (!conn.qboRealmId || !conn.sm8AuthKind)
        return { ...emptyResult(), skipped: 'both ServiceM8 and QuickBooks must be connected' };
      const realmId = conn.qboRealmId;
      return withTaxLock(connectionId, async () => {
        const qbo = qboFor(connectionId);
        const sm8 = sm8For(connectionId);
        const taxModel = await qboTaxModel(qbo, realmId);
        if (taxModel === 'us') {
          await saveConnectionFacts(deps.pool, connectionId, { taxModel });
          // TAX-4: US sales tax (TAX/NON, automated) has no ServiceM8 equivalent; nothing is imported and
          // ServiceM8's own rates are left alone (their invoices are held with a reason anyway).
          return { ...emptyResult(), skipped: 'US company: tax codes are not synced (TAX-4)' };
        }
        const [{ codes, rateValues }, sm8Rates, links] = await Promise.all([
          readQboTaxTables(qbo),
          sm8.list<Sm8TaxRate>('taxrate'),
          deps.links.all(connectionId, 'taxcode'),
        ]);
        heartbeat({ codes: codes.length, rates: sm8Rates.length });
        const plan = planTaxSync({
          codes: codes.map((c) => qboTaxCodeView(c, rateValues)),
          rates: sm8Rates.map((r) => ({
            uuid: r.uuid,
            name: String(r.name ?? ''),
            amount: String(r.amount ?? '0'),
            active: flag(r.active),
          })),
          links: links
            .filter((l): l is Link & { sm8Uuid: string; qboId: string } => !!l.sm8Uuid && !!l.qboId)
            .map((l) => ({
              id: l.id,
              sm8Uuid: l.sm8Uuid,
              qboId: l.qboId,
              sm8Fingerprint: l.sm8Fingerprint,
              qboFingerprint: l.qboFingerprint,
            })),
          newUuidFor: (qboId) => taxRateUuid(connectionId, realmId, qboId),
        });
        // Issue 12: what this pass read is what exports plan with (connection facts), so they read none of it.
        await saveConnectionFacts(deps.pool, connectionId, {
          taxModel,
          taxCodes: taxCodeInfos(codes, rateValues),
          sm8TaxRates: sm8Rates,
        });
        const result = emptyResult();
        for (const action of plan) {
          try {
            await apply(connectionId, sm8, action, result);
          } catch (err) {
            const refused = validationMessage(err);
            if (refused === null) throw err;
            // A business refusal is recorded, not retried forever; the next pass tries again.
            result.failed += 1;
            await auditFailure(connectionId, 'sm8Uuid' in action ? (action.sm8Uuid ?? '') : '', {
              action: action.kind,
              message: refused,
            });
          }
          heartbeat(result);
        }
        if (plan.some((a) => a.kind !== 'unchanged')) {
          // ServiceM8's rates were written: the next export that needs them reads them once.
          await forgetConnectionFacts(deps.pool, connectionId, ['sm8TaxRates']);
          // Invoices held for a tax reason look again now, behind approvals: the cause may be gone (a rate
          // put back to QuickBooks' value) or different, and the reason shown must say what is true now.
          for (const jobUuid of await jobsHeldFor(deps.pool, connectionId, TAX_REASON_CODES))
            await signalInvoice(
              temporalClient(deps, 'waking invoices held for tax'),
              taskQueue(),
              connectionId,
              jobUuid,
              'sm8JobChanged',
              { background: true },
            );
        }
        return result;
      });
    },
  };
}
