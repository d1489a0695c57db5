/**
 * CM-10, QuickBooks merges, in one place: the link of a merged-away record moves to the survivor, whether the
 * merge was heard (a Merge webhook naming the merged-away record) or not (the webhook was lost, and CDC shows
 * the merged-away record only as gone).
 *
 * QuickBooks removes a name-list record only by merging it: deleting a customer or item makes it inactive,
 * and it stays readable (docs/quickbooks-api.md §4.3). So a linked customer that reads as not found was merged,
 * and the merge moved its transactions to the survivor: the invoices the sync exported for the client's jobs
 * are now on the survivor. Finding it costs two calls (the client's jobs in ServiceM8, their invoices in
 * QuickBooks), once, for an event QuickBooks users make rarely.
 */
import { qboQuote } from '../../domain/names';
import { writeAudit } from '../../store/audit';
import type { Link } from '../../store/links';
import { invoicesOfJobs } from '../../store/invoice-exports';
import { QuickBooksClient } from '../../apis/quickbooks/client';
import { ServiceM8Client } from '../../apis/servicem8/client';
import type { ActivityDeps } from '../support/deps';

/**
 * Moves `link` to `survivorId`. The survivor's fields win (the old QuickBooks side is forgotten, so the next
 * sync takes QuickBooks' values); when the survivor is linked to another record already, this link is marked
 * merged and its ServiceM8 record is left as it is, with an audit entry saying so.
 */
export async function moveLinkToSurvivor(
  deps: Pick<ActivityDeps, 'pool' | 'links'>,
  connectionId: string,
  link: Link,
  survivorId: string,
): Promise<{ moved: boolean; survivorLinkId: string | null }> {
  if (link.qboId === survivorId) return { moved: false, survivorLinkId: link.id };
  const entity = link.entityType as 'customer' | 'item';
  const audit = (ref: string, detail: Record<string, unknown>) =>
    writeAudit(deps.pool, { connectionId, entityType: entity, entityRef: ref, action: 'merged', detail });
  const other = await deps.links.byQbo(connectionId, entity, survivorId);
  if (other && other.id !== link.id) {
    await deps.links.update(link.id, { state: 'merged' });
    await audit(`${link.sm8Uuid}|${link.qboId}`, {
      mergedInto: survivorId,
      survivorAlreadyLinkedTo: other.sm8Uuid,
      note: 'the ServiceM8 record of the merged-away QuickBooks record is no longer synced',
    });
    return { moved: false, survivorLinkId: other.id };
  }
  await deps.links.moveToSurvivor(link.id, survivorId, link.sm8Fingerprint);
  await audit(`${link.sm8Uuid}|${survivorId}`, { from: link.qboId, to: survivorId });
  return { moved: true, survivorLinkId: link.id };
}

/**
 * The customer a gone QuickBooks customer was merged into, found on the invoices exported for the client's
 * jobs (the one most of them are on now), or null when none of its jobs has an invoice in QuickBooks.
 */
export async function survivorOfGoneCustomer(
  deps: Pick<ActivityDeps, 'pool' | 'qboClientDeps' | 'sm8ClientDeps'>,
  connectionId: string,
  companyUuid: string,
  goneId: string,
): Promise<string | null> {
  const sm8 = new ServiceM8Client(deps.sm8ClientDeps(), connectionId);
  const jobs = await sm8.list<{ uuid: string }>('job', [
    { field: 'company_uuid', op: 'eq', value: companyUuid },
  ]);
  const invoices = [
    ...new Set(
      (
        await invoicesOfJobs(
          deps.pool,
          connectionId,
          jobs.map((j) => j.uuid),
        )
      ).values(),
    ),
  ];
  if (!invoices.length) return null;
  const rows = await readInvoices(deps, connectionId, invoices);
  return mostNamed(
    rows.map((r) => r.CustomerRef?.value),
    goneId,
  );
}

/**
 * The product/service a gone QuickBooks item was merged into, found on the invoices exported for jobs that
 * use the material: their lines for it (the job line's name is the invoice line's description) name the
 * survivor now. Null when no such invoice shows one. Two calls (the material's job lines in ServiceM8, their
 * invoices in QuickBooks), on a rare path.
 */
export async function survivorOfGoneItem(
  deps: Pick<ActivityDeps, 'pool' | 'qboClientDeps' | 'sm8ClientDeps'>,
  connectionId: string,
  materialUuid: string,
  goneId: string,
): Promise<string | null> {
  const sm8 = new ServiceM8Client(deps.sm8ClientDeps(), connectionId);
  const used = await sm8.list<{ job_uuid: string; name?: string }>('jobmaterial', [
    { field: 'material_uuid', op: 'eq', value: materialUuid },
  ]);
  const invoiceOfJob = await invoicesOfJobs(deps.pool, connectionId, [
    ...new Set(used.map((u) => u.job_uuid)),
  ]);
  const linesOf = new Map<string, Set<string>>();
  for (const u of used) {
    const invoice = invoiceOfJob.get(u.job_uuid);
    if (invoice) linesOf.set(invoice, (linesOf.get(invoice) ?? new Set()).add(u.name ?? ''));
  }
  if (!linesOf.size) return null;
  const rows = await readInvoices(deps, connectionId, [...linesOf.keys()]);
  return mostNamed(
    rows.flatMap((r) =>
      (r.Line ?? [])
        .filter((line) => linesOf.get(r.Id)?.has(line.Description ?? ''))
        .map((line) => line.SalesItemLineDetail?.ItemRef?.value),
    ),
    goneId,
  );
}

interface QboInvoiceRefs {
  Id: string;
  CustomerRef?: { value?: string };
  Line?: Array<{ Description?: string; SalesItemLineDetail?: { ItemRef?: { value?: string } } }>;
}

/** Up to 500 of these QuickBooks invoices, in one query. */
function readInvoices(
  deps: Pick<ActivityDeps, 'qboClientDeps'>,
  connectionId: string,
  ids: string[],
): Promise<QboInvoiceRefs[]> {
  const qbo = new QuickBooksClient(deps.qboClientDeps(), connectionId);
  return qbo.query<'Invoice', QboInvoiceRefs>(
    'Invoice',
    `SELECT * FROM Invoice WHERE Id IN (${ids.slice(0, 500).map(qboQuote).join(', ')}) MAXRESULTS 1000`,
  );
}

/** The Id named most often, the gone one left out: where a merge moved the records that named it. */
function mostNamed(ids: Array<string | undefined>, goneId: string): string | null {
  const count = new Map<string, number>();
  for (const id of ids) if (id && id !== goneId) count.set(id, (count.get(id) ?? 0) + 1);
  return [...count.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
}
