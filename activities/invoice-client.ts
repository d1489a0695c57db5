/**
 * INV-11: a job's client changed in ServiceM8 after its invoice went to QuickBooks. The invoice pass
 * (activities/invoice-pass.ts) compares the client the invoice was last written for (kept with our own write,
 * store/own-writes.ts) with the job it has just read: no call when nothing changed (issue 12's budget). When
 * the client changed, the invoice's CustomerRef (and BillEmail) is updated sparsely with its current
 * SyncToken, the customer ensured or linked as at export (activities/invoice-parties.ts); a refusal (payments
 * applied to it, docs/quickbooks-api.md §4.1) is an INV-3 reason the bookkeeper can act on.
 */
import { fingerprint } from '../domain/fingerprint';
import { reasons } from '../domain/invoice/reasons';
import { zeroedInvoice } from '../domain/invoice/voids';
import { isNotFound, validationDetails } from '../apis/errors';
import { QuickBooksClient } from '../apis/quickbooks/client';
import { ServiceM8Client } from '../apis/servicem8/client';
import { ownWrite, recordOwnWrite } from '../store/own-writes';
import { isVoided } from './invoice';
import type { Refusal } from './invoice-settings';
import type { ActivityDeps } from './support/deps';
import { sm8NameOf } from './support/party-lookups';

interface QboInvoice {
  Id: string;
  SyncToken: string;
  TotalAmt?: number;
  PrivateNote?: string;
  CustomerRef?: { value?: string };
  LinkedTxn?: Array<{ TxnId?: string; TxnType?: string }>;
  Line?: Parameters<typeof zeroedInvoice>[0]['Line'];
  MetaData?: { LastUpdatedTime?: string };
}

/** What our last write of the invoice says about its client (its answer, kept in own_writes). */
interface WrittenFor {
  sm8CompanyUuid?: string;
  CustomerRef?: { value?: string };
}

/** The client the invoice was written for, when it is not the job's client now. */
export interface ClientMove {
  /** The ServiceM8 company the invoice was written for, when known. */
  fromCompanyUuid: string | null;
}

export function createInvoiceClientSteps(deps: ActivityDeps) {
  const qboFor = (connectionId: string) => new QuickBooksClient(deps.qboClientDeps(), connectionId);
  const sm8For = (connectionId: string) => new ServiceM8Client(deps.sm8ClientDeps(), connectionId);

  return {
    /**
     * INV-11 from PostgreSQL alone: null when the invoice is (as far as the sync knows) written for the job's
     * client. Our write names the client (`sm8CompanyUuid`); a write from before INV-11 names only the
     * customer, compared with the customer linked to the job's client. Nothing known: null (no read).
     */
    async clientMoved(
      connectionId: string,
      invoiceId: string,
      companyUuid: string,
    ): Promise<ClientMove | null> {
      if (!companyUuid) return null; // no client: the plan holds it (NO_CLIENT)
      const written =
        (await ownWrite(deps.pool, connectionId, 'qbo', 'invoice', invoiceId)) ??
        (await ownWrite(deps.pool, connectionId, 'qbo', 'invoice:info', invoiceId));
      const was = written?.answer as WrittenFor | null | undefined;
      if (!was) return null;
      if (was.sm8CompanyUuid)
        return was.sm8CompanyUuid === companyUuid ? null : { fromCompanyUuid: was.sm8CompanyUuid };
      const customerId = was.CustomerRef?.value;
      if (!customerId) return null;
      const now = await deps.links.bySm8(connectionId, 'customer', companyUuid);
      if (now?.qboId === customerId) return null;
      const before = await deps.links.byQbo(connectionId, 'customer', customerId);
      return { fromCompanyUuid: before?.sm8Uuid ?? null };
    },

    /**
     * INV-11: moves the invoice to the customer of the job's client (one read for the SyncToken, one sparse
     * update; none when QuickBooks already has it there). A voided or deleted invoice is `gone` (INV-10).
     */
    async moveInvoice(input: {
      connectionId: string;
      invoiceId: string;
      customerId: string;
      billEmail: string | null;
      companyUuid: string;
      fromCompanyUuid: string | null;
    }): Promise<{ ok: true } | { ok: false; gone: 'deleted' | 'voided' } | Refusal> {
      const { connectionId, invoiceId, customerId } = input;
      const qbo = qboFor(connectionId);
      let inv: QboInvoice;
      try {
        inv = await qbo.read<QboInvoice>('Invoice', invoiceId);
      } catch (err) {
        if (isNotFound(err)) return { ok: false, gone: 'deleted' };
        throw err;
      }
      if (zeroedInvoice(inv) || isVoided(inv)) return { ok: false, gone: 'voided' };
      let written = inv;
      let ours = false;
      if (inv.CustomerRef?.value !== customerId) {
        const body = {
          Id: inv.Id,
          SyncToken: inv.SyncToken,
          CustomerRef: { value: customerId },
          ...(input.billEmail ? { BillEmail: { Address: input.billEmail } } : {}),
        };
        try {
          written = await qbo.update<QboInvoice>(
            'Invoice',
            body,
            `cc-${fingerprint([inv.Id, inv.SyncToken, customerId, input.billEmail])}`,
          );
          ours = true;
        } catch (err) {
          const d = validationDetails(err);
          if (!d) throw err;
          const sm8 = sm8For(connectionId);
          const [from, to] = await Promise.all([
            input.fromCompanyUuid ? sm8NameOf(sm8, 'company', input.fromCompanyUuid) : undefined,
            sm8NameOf(sm8, 'company', input.companyUuid),
          ]);
          const paid = (inv.LinkedTxn ?? []).some((t) => t.TxnType === 'Payment');
          return {
            ok: false,
            reason: reasons.clientChangeRefused(invoiceId, { from, to }, paid, d.detail || d.message, d.code),
          };
        }
      }
      // Our write (or QuickBooks already had it there): the customer for payments (PAY-1) and the client it
      // is now written for. A customer someone else set has no time of ours, so its poll hit is not dropped.
      await recordOwnWrite(deps.pool, connectionId, {
        side: 'qbo',
        entity: 'invoice',
        recordId: invoiceId,
        fields: ours ? ['CustomerRef', ...(input.billEmail ? ['BillEmail'] : [])] : [],
        answer: {
          writeOp: 'update',
          Id: invoiceId,
          TotalAmt: written.TotalAmt,
          CustomerRef: { value: customerId },
          sm8CompanyUuid: input.companyUuid,
        },
        syncToken: written.SyncToken,
        lastUpdated: ours ? (written.MetaData?.LastUpdatedTime ?? null) : null,
      });
      return { ok: true };
    },
  };
}
