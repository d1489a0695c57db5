/**
 * The resolver that finds the owner of a payment event whose invoice a router cannot know (PAY-2), and the
 * wake-up of a job's payments owner right after export (PAY-1). Activities of the payments process.
 */
import { signalPayments } from '../routing/routes';
import type { Sm8JobPayment } from '../domain/servicem8-types';
import { isNotFound } from '../apis/errors';
import { jobsOfLinkedPayment } from '../store/payment-links';
import {
  databaseNow,
  markPaymentSideDirty,
  putPaymentView,
  replacePaymentSide,
} from '../store/payment-views';
import { connectionFacts } from './support/connection-facts';
import type { ActivityDeps } from './support/deps';
import { qboView } from './support/payment-writes';
import { sm8View } from '../domain/payments';
import { taskQueue, temporalClient } from './support/temporal';
import { invoicesOf, type QboPaymentRecord } from './support/payment-records';
import { QuickBooksClient } from '../apis/quickbooks/client';
import { ServiceM8Client } from '../apis/servicem8/client';

export function createPaymentRoutingActivities(deps: ActivityDeps) {
  const qboFor = (connectionId: string) => new QuickBooksClient(deps.qboClientDeps(), connectionId);
  const sm8For = (connectionId: string) => new ServiceM8Client(deps.sm8ClientDeps(), connectionId);

  const temporal = () => temporalClient(deps, 'payment routing');

  /** `described`: what changed is in the job's payment views (workflows/messages.ts PaymentsWake). */
  async function wake(
    connectionId: string,
    jobUuid: string,
    described: boolean,
    background = false,
  ): Promise<string> {
    return signalPayments(temporal(), taskQueue(), connectionId, jobUuid, described, background);
  }

  return {
    /**
     * Finds the owner(s) of a payment event that a router could not place (no link yet) and wakes them:
     * a ServiceM8 jobpayment's job (when its invoice is in QuickBooks), every exported invoice a QuickBooks
     * payment applies to, and every job a stored link already ties the payment to (it may have moved).
     * QuickBooks-born invoices have no link, so their payments wake nobody (INV-8).
     */
    async routePaymentRecord(input: {
      connectionId: string;
      source: 'sm8' | 'qbo';
      entityId: string;
    }): Promise<{ woken: string[]; ignored?: string }> {
      const { connectionId } = input;
      const jobs = new Set<string>();
      if (input.source === 'sm8') {
        let payment: Sm8JobPayment;
        try {
          payment = await sm8For(connectionId).read<Sm8JobPayment>('jobpayment', input.entityId);
        } catch (err) {
          if (isNotFound(err)) return { woken: [], ignored: 'the ServiceM8 payment does not exist' };
          throw err;
        }
        const invoice = await deps.links.bySm8(connectionId, 'invoice', payment.job_uuid);
        if (!invoice?.qboId)
          return { woken: [], ignored: 'its job is not in QuickBooks yet: it is sent after export (PAY-1)' };
        // Issue 12: what was just read is kept for the owner, which then reads nothing again.
        await putPaymentView(
          deps.pool,
          connectionId,
          payment.job_uuid,
          'sm8',
          payment.uuid,
          sm8View(payment),
        );
        jobs.add(payment.job_uuid);
      } else {
        // Also the owners a link names, although the router woke them: it read the links before this read of
        // the payment, and an owner may have linked it in between from an older read.
        for (const job of await jobsOfLinkedPayment(
          deps.pool,
          connectionId,
          'qbo_payment_id',
          input.entityId,
        ))
          jobs.add(job);
        let payment: QboPaymentRecord | null = null;
        try {
          payment = await qboFor(connectionId).read<QboPaymentRecord>('Payment', input.entityId);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        // Issue 12: the payment as just read is kept for each owner (its application to that owner's
        // invoice; none: it no longer applies there), so the owners read nothing again.
        const methods =
          payment?.PaymentMethodRef?.value && !payment.PaymentMethodRef.name
            ? ((await connectionFacts(deps, connectionId, ['paymentMethods'])).paymentMethods ?? [])
            : [];
        const applied = new Map<string, string>();
        for (const invoiceId of payment ? invoicesOf(payment) : []) {
          const link = await deps.links.byQbo(connectionId, 'invoice', invoiceId);
          if (link?.sm8Uuid) {
            jobs.add(link.sm8Uuid);
            applied.set(link.sm8Uuid, invoiceId);
          }
        }
        for (const job of jobs) {
          const invoiceId = applied.get(job);
          const view = payment && invoiceId ? qboView(payment, invoiceId, methods) : null;
          await putPaymentView(deps.pool, connectionId, job, 'qbo', input.entityId, view);
        }
        if (!jobs.size)
          return { woken: [], ignored: 'applied to no invoice exported from ServiceM8 (INV-8)' };
      }
      const woken: string[] = [];
      for (const job of jobs) woken.push(await wake(connectionId, job, true));
      return { woken };
    },

    /**
     * PAY-1 right after an export (issue 12): the new invoice has no payments in QuickBooks (the sync made
     * it), so only ServiceM8's are read by the owner's first look. Nobody waits for that look (a deposit
     * recorded before approval): it runs in the live lane, so at month end the approvals' exports go first.
     */
    async wakePaymentsAfterExport(input: {
      connectionId: string;
      jobUuid: string;
      qboInvoiceId: string;
    }): Promise<string> {
      const now = await databaseNow(deps.pool);
      await replacePaymentSide(deps.pool, input.connectionId, input.jobUuid, 'qbo', [], now);
      await markPaymentSideDirty(deps.pool, input.connectionId, input.jobUuid, 'sm8');
      return wake(input.connectionId, input.jobUuid, true, true);
    },

    /** PAY-1: right after an invoice is exported, its payments owner looks (payments recorded before export). */
    async wakePaymentsOwner(input: {
      connectionId: string;
      jobUuid: string;
      /** Nothing changed in the payments themselves (a new invoice total): re-plan from what is kept. */
      described?: boolean;
    }): Promise<string> {
      return wake(input.connectionId, input.jobUuid, input.described ?? false);
    },
  };
}
