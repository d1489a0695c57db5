/**
 * Where events go: every event about a record wakes the one workflow that owns it (design principle 2,
 * docs/design.md), with signal-with-start, so a workflow that ended while idle is started again with its
 * state from PostgreSQL.
 *
 * Webhooks (through the inbox) and polling passes both call `routeEntityEvent`; each kind of record has one
 * router in `ROUTERS`, keyed `<source>:<entity>` (lower-case API names: `sm8:job`, `qbo:invoice`, …). An
 * entity without a router has no owner yet: the inbox keeps its events as `unrouted`, polls count them.
 */
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { LinkStore } from '../store/links';
import { loadInvoiceExport } from '../store/invoice-exports';
import { markLookWanted } from '../store/invoice-look-wanted';
import { ownWrite } from '../store/own-writes';
import { InvoiceSyncState } from '../domain/invoice/states';
import { jobsOfLinkedPayment } from '../store/payment-links';
import { jobsWithView, markPaymentSideDirty, putPaymentView, viewsOfRecord } from '../store/payment-views';
import {
  qboPaymentVersion,
  sameSm8View,
  sm8View,
  type QboPaymentView,
  type Sm8PaymentView,
} from '../domain/payments';
import type { Sm8JobPayment } from '../domain/servicem8-types';
import {
  invoiceWorkflowId,
  paymentRouteWorkflowId,
  paymentsWorkflowId,
  taxWorkflowId,
} from '../domain/workflow-ids';
import { CM_ROUTERS } from './clients-materials';
import { isOwnEcho, type EventHint } from './echoes';
import { startOrSignal, wake } from './wake';
import {
  paymentEventSignal,
  paymentsChangedSignal,
  qboInvoiceChangedSignal,
  resyncInvoiceSignal,
  sm8JobChangedSignal,
  sm8TaxRateChangedSignal,
  WorkflowType,
  type InvoiceWake,
  type InvoiceWorkflowInput,
  type PaymentRouteInput,
  type PaymentsWake,
  type PaymentsWorkflowInput,
  type TaxWorkflowInput,
} from '../workflows/messages';

/** What routing needs: where workflows live, and the links that find a record's owner. */
export interface RoutingDeps {
  temporal: Client;
  links: LinkStore;
  taskQueue: string;
  pool: Pool;
}

export type EventSource = 'qbo' | 'sm8';

/** "Look at this record": all an event says (the owner reads the truth, design principle 3, docs/design.md). */
export interface EntityEvent {
  source: EventSource;
  /** Lower-case API name: ServiceM8 object (`job`, `jobpayment`, …) or QuickBooks entity (`invoice`, …). */
  entity: string;
  connectionId: string;
  entityId: string;
  /** Normalised QuickBooks verb (created, updated, deleted, merged, voided, emailed); null when unknown. */
  operation: string | null;
  /**
   * When the change was made, if the event says so (webhooks do, polls do not): only a hint, used to tell
   * the echo of our own write from someone's edit (routing/clients-materials.ts).
   */
  changedAt?: string | null;
  /** What a webhook says about the change (changed fields, time), which lets echoes die here (issue 12). */
  hint?: EventHint;
  /** Issue 12: a poll found it (nobody is waiting on it): its owner works behind what people wait for. */
  background?: boolean;
  /**
   * A ServiceM8 poll hit of a client, contact or material: the record as the poll read it, so a record that
   * still holds exactly our own write is dropped without a read (routing/clients-materials.ts).
   */
  record?: Record<string, unknown>;
}

/**
 * Wakes the owner of one record. Returns the workflow id woken, or a sentence starting with "ignored:"
 * saying why no workflow needed waking. Throws PermanentRoutingError when no retry can route it.
 */
export type EntityRouter = (deps: RoutingDeps, event: EntityEvent) => Promise<string>;

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
  wake: InvoiceWake = {},
): Promise<string> {
  // Issue 12: a lean run looks on start (and at QuickBooks too when the event came from there).
  const o = {
    workflowId: invoiceWorkflowId(connectionId, jobUuid),
    taskQueue,
    input: {
      connectionId,
      jobUuid,
      lean: true,
      qboToo: event !== 'sm8JobChanged',
      sm8Too: event !== 'qboInvoiceChanged',
      ...(wake.background ? { background: true } : {}),
    },
    entityType: 'invoice',
    sm8Uuid: jobUuid,
    summary: `Invoice of ServiceM8 job ${jobUuid}`,
  };
  return startOrSignal<InvoiceWorkflowInput, [InvoiceWake?]>(
    temporal,
    WorkflowType.invoice,
    SIGNALS[event],
    o,
    wake,
  );
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
  wake: InvoiceWake = {},
): Promise<string | null> {
  const link = await links.byQbo(connectionId, 'invoice', qboInvoiceId);
  if (!link?.sm8Uuid) return null;
  return signalInvoice(temporal, taskQueue, connectionId, link.sm8Uuid, 'qboInvoiceChanged', wake);
}

/**
 * Wakes (starting if needed) the tax owner of a connection (TAX-3): one workflow per connection, so any
 * number of ServiceM8 taxrate events cost one pass at a time. Returns its workflow id.
 */
export async function signalTaxSync(
  temporal: Client,
  taskQueue: string,
  connectionId: string,
): Promise<string> {
  return wake<TaxWorkflowInput>(temporal, WorkflowType.tax, sm8TaxRateChangedSignal, {
    workflowId: taxWorkflowId(connectionId),
    taskQueue,
    input: { connectionId },
    entityType: 'tax',
    summary: `Tax rates of connection ${connectionId}`,
  });
}

/** Signals (starting if needed) the owner of every payment of one job's invoice (PAY-). Returns its workflow id. */
export async function signalPayments(
  temporal: Client,
  taskQueue: string,
  connectionId: string,
  jobUuid: string,
  /** Issue 12: the caller put what changed in the job's payment views (PaymentsWake). */
  described = false,
  /** Issue 12: nobody waits for this look (PaymentsWake.background). */
  background = false,
): Promise<string> {
  const lane = background ? { background } : {};
  return startOrSignal<PaymentsWorkflowInput, [PaymentsWake?]>(
    temporal,
    WorkflowType.payments,
    paymentsChangedSignal,
    {
      workflowId: paymentsWorkflowId(connectionId, jobUuid),
      taskQueue,
      input: { connectionId, jobUuid, lean: true, described, ...lane },
      entityType: 'payments',
      sm8Uuid: jobUuid,
      summary: `Payments of ServiceM8 job ${jobUuid}`,
    },
    { described, ...lane },
  );
}

/** A payment event whose owner no link reveals: a short workflow reads the record and wakes its owner(s). */
async function lookUpPaymentOwner(
  deps: RoutingDeps,
  ev: EntityEvent,
  source: 'sm8' | 'qbo',
): Promise<string> {
  return startOrSignal<PaymentRouteInput>(deps.temporal, WorkflowType.paymentRoute, paymentEventSignal, {
    workflowId: paymentRouteWorkflowId(ev.connectionId, source, ev.entityId),
    taskQueue: deps.taskQueue,
    input: { connectionId: ev.connectionId, source, entityId: ev.entityId },
    entityType: 'payment-route',
  });
}

/** The job fields whose change can make a job approved or not (INV-1). */
const APPROVAL_FIELDS = ['status', 'payment_processed', 'active'];

/** A webhook names every watched field of a record it reports created; these together mean a new job. */
const NEW_JOB_FIELDS = ['status', 'payment_processed', 'active', 'company_uuid'];

/**
 * INV-7, INV-10 (issue 12): a poll hit (CDC: the whole record) of an exported invoice that shows nothing its owner
 * follows, neither a void (routed as such) nor a send not yet written to the job, wakes nobody. After export
 * QuickBooks owns the ledger: a payment that moved its balance is the payments owner's (through the payment's
 * own hit), and each 10-minute pass found every invoice paid since the last (a read, and the owner's run).
 * A webhook's update says nothing of the record: its owner reads it.
 */
async function quietInvoiceHit(deps: RoutingDeps, ev: EntityEvent): Promise<string | null> {
  const sent = ev.hint?.sent;
  if (ev.operation !== null || sent === undefined) return null;
  const link = await deps.links.byQbo(ev.connectionId, 'invoice', ev.entityId);
  if (link?.state !== 'linked' || !link.sm8Uuid) return null;
  const stored = await loadInvoiceExport(deps.pool, ev.connectionId, link.sm8Uuid);
  if (stored?.state !== InvoiceSyncState.exported) return null;
  if (sent) {
    const w = await ownWrite(deps.pool, ev.connectionId, 'sm8', 'job', link.sm8Uuid);
    if (!(w?.answer && w.fields.includes('invoice_sent'))) return null;
  }
  return `ignored: QuickBooks invoice ${ev.entityId} changed in nothing its ServiceM8 job follows (not voided${sent ? ', its send already written' : ', not sent'})`;
}

/** One router per kind of record. Add an entry when a workflow starts owning a new kind. */
export const ROUTERS: Readonly<Record<string, EntityRouter>> = {
  'sm8:job': async (deps, ev) => {
    const fields = ev.hint?.changedFields;
    const stored = fields?.length ? await loadInvoiceExport(deps.pool, ev.connectionId, ev.entityId) : null;
    // INV-1: a change that cannot approve a job not approved (its lines, its total) wakes nobody (issue 12).
    if (
      fields?.length &&
      !fields.some((f) => APPROVAL_FIELDS.includes(f)) &&
      stored?.state === 'NOT_APPROVED'
    )
      return `ignored: ${fields.join(', ')} changed on a job that is not approved (INV-1)`;
    // A job the sync never saw, whose event names its status, approval flag and client at once, was just
    // created: nobody waits on that look (the approval that exports it comes later, as its own change), so it
    // goes behind the approvals people wait for (issue 12: 230 new jobs' looks held an approval 100 s).
    const created = !stored && NEW_JOB_FIELDS.every((f) => fields?.includes(f));
    // Nor on another change of a job the sync never saw that names no approval field (its lines' total,
    // moving right after it was made, arrives before its first look has stored it as not approved).
    const unseenNotApproval =
      !stored && fields !== undefined && !fields.some((f) => APPROVAL_FIELDS.includes(f));
    const background = ev.background || created || unseenNotApproval;
    // A person's change that can approve the job: a look of it already running below the interactive lane
    // (the first poll's look at every job, say) raises itself (issue 12: that approval waited 6 s behind the
    // live lane). Nobody else waits for a look, so no other change marks the job.
    if (!background && fields?.some((f) => APPROVAL_FIELDS.includes(f)))
      await markLookWanted(deps.pool, ev.connectionId, ev.entityId);
    return signalInvoice(deps.temporal, deps.taskQueue, ev.connectionId, ev.entityId, 'sm8JobChanged', {
      background,
    });
  },
  'qbo:invoice': async (deps, ev) => {
    // INV-10: a Void (the webhook's operation, or CDC's zeroed record: domain/invoice/voids.ts) is known
    // here, not guessed from the memo: the link is marked voided and its owner settles without a read.
    if (ev.operation === 'voided') {
      const link = await deps.links.byQbo(ev.connectionId, 'invoice', ev.entityId);
      if (link?.state === 'linked') await deps.links.update(link.id, { state: 'voided' });
    }
    const quiet = await quietInvoiceHit(deps, ev);
    if (quiet) return quiet;
    const id = await routeQboInvoiceEvent(
      deps.temporal,
      deps.links,
      deps.taskQueue,
      ev.connectionId,
      ev.entityId,
      { background: ev.background },
    );
    // No link: born in QuickBooks (INV-8), or our own create reported before its link was stored (its
    // workflow already knows). Either way no workflow needs waking.
    return (
      id ?? 'ignored: no ServiceM8 job is linked to this invoice (QuickBooks-born invoices stay there, INV-8)'
    );
  },
  // TAX-3: any ServiceM8 tax rate change wakes the connection's tax owner (QuickBooks owns tax settings).
  'sm8:taxrate': (deps, ev) => signalTaxSync(deps.temporal, deps.taskQueue, ev.connectionId),
  // Clients and materials (CM-2 … CM-10): routing/clients-materials.ts.
  ...CM_ROUTERS,
  // PAY-: a linked ServiceM8 payment wakes its job's payments owner; a new one is looked up (its job is unknown).
  'sm8:jobpayment': async (deps, ev) => {
    const [job] = await jobsOfLinkedPayment(deps.pool, ev.connectionId, 'sm8_payment_uuid', ev.entityId);
    // A poll hit (the record as listed) of a payment its owner keeps exactly so wakes nobody (issue 12: each
    // 10-minute pass found every payment made or mirrored since the last, a list of the job's payments each).
    const listed = ev.record as Sm8JobPayment | undefined;
    if (job && listed?.job_uuid === job) {
      const kept = await viewsOfRecord<Sm8PaymentView>(deps.pool, ev.connectionId, 'sm8', ev.entityId);
      if (kept.length === 1 && sameSm8View(kept[0] as Sm8PaymentView, sm8View(listed)))
        return `ignored: ServiceM8 payment ${ev.entityId} is unchanged since it was last read or written`;
    }
    if (job) {
      // The owner reads ServiceM8's payments of the job again (issue 12: only the side the event names).
      await markPaymentSideDirty(deps.pool, ev.connectionId, job, 'sm8');
      return signalPayments(deps.temporal, deps.taskQueue, ev.connectionId, job, true);
    }
    return lookUpPaymentOwner(deps, ev, 'sm8');
  },
  // PAY-: QuickBooks says only "payment <Id>", which may apply to several invoices or have moved between
  // them. A deletion or a void (the webhook's operation, or CDC's zeroed record: domain/invoice/voids.ts) goes
  // to the owners a link names (the payment no longer applies to their invoices, PAY-3; no read); any
  // other change is looked up once (one read) and the owners of every invoice it applies to now or did
  // before are woken with what was read (issue 12: they read nothing again).
  'qbo:payment': async (deps, ev) => {
    const jobs = await jobsOfLinkedPayment(deps.pool, ev.connectionId, 'qbo_payment_id', ev.entityId);
    if (ev.operation === 'deleted' || ev.operation === 'voided') {
      // Also the owners that keep a view of it but have not linked it yet (the look-up woke them, and the
      // deletion came before their mirror's link): without the tombstone they would mirror it from that view
      // afterwards, and nothing would take the copy away (the long soak's unequal payment sums).
      for (const job of await jobsWithView(deps.pool, ev.connectionId, 'qbo', ev.entityId))
        if (!jobs.includes(job)) jobs.push(job);
      const woken: string[] = [];
      for (const job of jobs) {
        await putPaymentView(deps.pool, ev.connectionId, job, 'qbo', ev.entityId, null);
        woken.push(await signalPayments(deps.temporal, deps.taskQueue, ev.connectionId, job, true));
      }
      return woken[0] ?? `ignored: a ${ev.operation} QuickBooks payment that was never mirrored`;
    }
    // A poll hit (CDC) for the version of a payment already mirrored wakes nobody (issue 12: each 10-minute
    // pass re-read every payment the bookkeeper made since the last, 5 calls each).
    const version = ev.operation === null ? qboPaymentVersion(ev.hint?.time, ev.hint?.syncToken) : null;
    if (version) {
      const seen = await viewsOfRecord<QboPaymentView>(deps.pool, ev.connectionId, 'qbo', ev.entityId);
      if (seen.length && seen.every((v) => v.version === version))
        return `ignored: QuickBooks payment ${ev.entityId} is unchanged since it was last read`;
    }
    return lookUpPaymentOwner(deps, ev, 'qbo');
  },
};

/** Whether some workflow owns this kind of record (events of other kinds are kept, not routed). */
export function hasOwner(source: EventSource, entity: string): boolean {
  return Object.hasOwn(ROUTERS, `${source}:${entity}`);
}

/** True for a routing result that woke nobody (see EntityRouter). */
export function isIgnored(result: string): boolean {
  return result.startsWith('ignored:');
}

/** An event that no retry will route (kept as `failed` for support). */
export class PermanentRoutingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentRoutingError';
  }
}

/** Routes one event to its owner: see EntityRouter for the result. */
export async function routeEntityEvent(deps: RoutingDeps, event: EntityEvent): Promise<string> {
  const router = ROUTERS[`${event.source}:${event.entity}`];
  if (!router) throw new PermanentRoutingError(`no workflow owns ${event.source} ${event.entity} events yet`);
  // Issue 12: the echo of our own write wakes nobody (routing/echoes.ts).
  if (await isOwnEcho(deps.pool, event)) return 'ignored: the echo of our own write';
  return router(deps, event);
}
