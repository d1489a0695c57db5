/**
 * OPS-5 on the invoice itself, in the admin API (`GET /admin/invoices`, hence `sm8qbo invoices`): an invoice
 * whose owner has a stuck step (store/stuck-steps.ts; dismissed steps aside) shows the state STUCK and the
 * failure in words as its reason, over the state its last pass stored (kept as `stored_state`). Nothing is
 * written for it: the overlay is read from stuck_steps, which the step's first success empties, so the stored
 * state shows again the moment the step succeeds. An invoice stuck before its first pass stored anything is
 * listed too. Stuck invoices come first: they are the ones that need someone.
 */
import type { Pool } from 'pg';
import { InvoiceSyncState } from '../domain/invoice/states';
import { STUCK_REASON_CODE, STUCK_STATE, stuckInvoiceJob } from '../domain/stuck';
import { invoiceWorkflowId } from '../domain/workflow-ids';
import { invoiceExportsOf, listInvoiceExports } from '../store/admin-queries';
import { listStuckSteps, type StuckStep } from '../store/stuck-steps';

/** The states `GET /admin/invoices?state=` takes: the stored ones and STUCK. */
export const INVOICE_VIEW_STATES: string[] = [...Object.values(InvoiceSyncState), STUCK_STATE];

type Row = Record<string, unknown> & { connection_id: string; job_uuid: string };

/** The row as it shows while `step` is stuck. */
function stuckRow(row: Row, step: StuckStep): Row {
  return {
    ...row,
    state: STUCK_STATE,
    reason_code: STUCK_REASON_CODE,
    reason_text: step.reason,
    stored_state: row.state ?? null,
    stored_reason_code: row.reason_code ?? null,
    stuck_step_id: step.id,
  };
}

export async function listInvoiceViews(
  pool: Pool,
  filter: { connection?: string; state?: string; limit: number },
): Promise<Row[]> {
  const steps = await listStuckSteps(pool, { connectionId: filter.connection, limit: 1000 });
  // Newest failure first: an invoice's first step listed is the one it shows.
  const stuck = new Map<string, StuckStep>();
  for (const step of steps)
    if (stuckInvoiceJob(step.workflowId) && !stuck.has(step.workflowId)) stuck.set(step.workflowId, step);
  const stuckOf = (row: Row) => stuck.get(invoiceWorkflowId(row.connection_id, row.job_uuid));

  const stuckRows = async (): Promise<Row[]> => {
    const jobs = [...stuck.values()].map((s) => ({
      connection: s.connectionId,
      jobUuid: stuckInvoiceJob(s.workflowId) as string,
    }));
    const stored = await invoiceExportsOf(pool, jobs);
    return jobs.map((j) => {
      const row = stored.find((r) => r.connection_id === j.connection && r.job_uuid === j.jobUuid) ?? {
        connection_id: j.connection,
        job_uuid: j.jobUuid,
        generated_job_id: null,
        state: null,
        reason_code: null,
        qbo_invoice_id: null,
      };
      return stuckRow(row, stuckOf(row) as StuckStep);
    });
  };

  if (filter.state === STUCK_STATE) return (await stuckRows()).slice(0, filter.limit);
  const rows = await listInvoiceExports(pool, filter);
  if (filter.state) return rows.filter((row) => !stuckOf(row));
  const first = await stuckRows();
  const shown = new Set(first.map((r) => `${r.connection_id}/${r.job_uuid}`));
  return [...first, ...rows.filter((r) => !shown.has(`${r.connection_id}/${r.job_uuid}`))].slice(
    0,
    filter.limit,
  );
}
