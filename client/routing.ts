/**
 * Where events go: every event about a record wakes the one workflow that owns it (design principle 2),
 * with signal-with-start, so a workflow that ended while idle is started again with its state from PostgreSQL.
 */
import type { Client } from '@temporalio/client';
import type { LinkStore } from '../activities/link-store';
import { invoiceWorkflowId } from '../domain/workflow-ids';
import {
  invoiceWorkflow,
  qboInvoiceChangedSignal,
  resyncInvoiceSignal,
  sm8JobChangedSignal,
  type InvoiceWorkflowInput,
} from '../workflows/invoice';
import { ConnectionId, EntityType, Sm8Uuid } from '../workflows/search-attributes';

export type InvoiceEvent = 'sm8JobChanged' | 'qboInvoiceChanged' | 'resync';

const SIGNALS = {
  sm8JobChanged: sm8JobChangedSignal,
  qboInvoiceChanged: qboInvoiceChangedSignal,
  resync: resyncInvoiceSignal,
} as const;

/** Signals (starting if needed) the invoice workflow of one ServiceM8 job. Returns its workflow id. */
export async function signalInvoice(
  temporal: Client,
  taskQueue: string,
  connectionId: string,
  jobUuid: string,
  event: InvoiceEvent,
  opts: Pick<InvoiceWorkflowInput, 'blockedRetry' | 'maxSyncsPerRun'> = {},
): Promise<string> {
  const workflowId = invoiceWorkflowId(connectionId, jobUuid);
  await temporal.workflow.signalWithStart(invoiceWorkflow, {
    workflowId,
    taskQueue,
    args: [{ connectionId, jobUuid, ...opts }],
    signal: SIGNALS[event],
    signalArgs: [],
    typedSearchAttributes: [
      { key: ConnectionId, value: connectionId },
      { key: EntityType, value: 'invoice' },
      { key: Sm8Uuid, value: jobUuid },
    ],
    staticSummary: `Invoice of ServiceM8 job ${jobUuid}`,
  });
  return workflowId;
}

/**
 * A QuickBooks invoice event goes to the workflow of the job it was exported from. Invoices born in
 * QuickBooks have no link and are ignored (INV-8): returns null for them.
 */
export async function routeQboInvoiceEvent(
  temporal: Client,
  links: LinkStore,
  taskQueue: string,
  connectionId: string,
  qboInvoiceId: string,
): Promise<string | null> {
  const link = await links.byQbo(connectionId, 'invoice', qboInvoiceId);
  if (!link?.sm8Uuid) return null;
  return signalInvoice(temporal, taskQueue, connectionId, link.sm8Uuid, 'qboInvoiceChanged');
}
