/**
 * The soak's checks (bench/soak.ts), read from the simulators' state, the product's database and Temporal:
 * every approved non-zero job exported with an equal total (or a credit memo) or held with a readable
 * reason; no duplicate QuickBooks invoices, customers, items or payments (nor ServiceM8 payments); payment
 * sums equal per exported invoice; no failed, terminated or timed-out workflow; no activity past N attempts
 * without a stuck step saying why. Each failure names its record and why.
 */
import type { Pool } from 'pg';
import { Connection } from '@temporalio/client';
import { GENERIC_ITEM_NAME } from '../domain/clients-materials/item';
import { desiredValues, qboTaxCodeView, sameValues, type QboTaxCodeRecord } from '../domain/tax';
import type { RunningQuickBooksSimulator } from '../simulators/quickbooks';
import type { RunningServiceM8Simulator } from '../simulators/servicem8';
import { decimalOf } from '../simulators/servicem8/fields';
import { jobTotals } from '../simulators/servicem8/totals';
import type { Rec } from './harness';
import type { Business } from './soak-business';
import { invoiceWorkflowId, paymentsWorkflowId } from '../domain/workflow-ids';
import { CONNECTION } from './soak-stack';

/** An activity retried more often than this must have a stuck step (OPS-5) saying why. */
export const MAX_SILENT_ATTEMPTS = 5;

export interface Verdict {
  failures: string[];
  outcomes: Record<string, number>;
  duplicates: number;
  mismatchedSums: number;
  /** Invoices whose sums differ only by ServiceM8 payments the product refused with a job note (PAY-1). */
  paymentsHeld: string[];
  /** Jobs the business meant to export that are held (a reason, but worth reading). */
  heldByDesignOrNot: string[];
}

const c = (v: unknown) => Math.round(Number(v ?? 0) * 100);
const isActive = (r: Rec) => Number(r.active) === 1;
const marker = (note: unknown, re: RegExp) => re.exec(String(note ?? ''))?.[1];

function group<T>(xs: T[], key: (x: T) => string | undefined): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    if (k !== undefined) out.set(k, [...(out.get(k) ?? []), x]);
  }
  return out;
}

interface ExportRow {
  job_uuid: string;
  state: string;
  reason_code: string | null;
  reason_text: string | null;
  qbo_invoice_id: string | null;
}

/**
 * For a TOTAL_MISMATCH: what ServiceM8's active lines add up to at today's tax rates, beside its stored total
 * (a total last computed before a rate was edited no longer adds up; one that does means the product planned
 * from other lines than ServiceM8 has now).
 */
function linesNow(sm8: RunningServiceM8Simulator, jobUuid: string, totalCents: number): string {
  const lines = (sm8.control.records('jobmaterial') as Rec[]).filter((l) => l.job_uuid === jobUuid);
  const rate = (uuid: unknown) => {
    const r =
      typeof uuid === 'string' && uuid ? (sm8.store.get('taxrate', uuid) as Rec | undefined) : undefined;
    return r ? decimalOf(r as never, 'amount') : 0n;
  };
  const sum = jobTotals(
    lines.map((l) => ({
      quantity: decimalOf(l as never, 'quantity'),
      price: decimalOf(l as never, 'price'),
      displayedAmount: decimalOf(l as never, 'displayed_amount'),
      taxInclusive: l.displayed_amount_is_tax_inclusive === '1',
      ratePercent: rate(l.tax_rate_uuid),
      active: isActive(l),
    })),
  ).incTaxCents;
  const shown = lines
    .filter(isActive)
    .map(
      (l) =>
        `${String(l.quantity)}×${String(l.displayed_amount_is_tax_inclusive === '1' ? `${String(l.displayed_amount)} inc` : l.price)} @${Number(rate(l.tax_rate_uuid)) / 10_000}%`,
    );
  return `ServiceM8's ${lines.filter(isActive).length} active lines add up to ${Number(sum) / 100} at today's rates, its stored total ${totalCents / 100}: ${shown.join(', ')}`;
}

/** The data checks (cheap: run every few seconds until they pass, then once more at the end). */
export async function checkData(
  pool: Pool,
  sm8: RunningServiceM8Simulator,
  qbo: RunningQuickBooksSimulator,
  biz: Business,
): Promise<Verdict> {
  const failures: string[] = [];
  const outcomes: Record<string, number> = {};
  const heldByDesignOrNot: string[] = [];
  const count = (k: string) => (outcomes[k] = (outcomes[k] ?? 0) + 1);
  const exports = new Map(
    (
      await pool.query<ExportRow>(
        'SELECT job_uuid, state, reason_code, reason_text, qbo_invoice_id FROM invoice_exports WHERE connection_id = $1',
        [CONNECTION],
      )
    ).rows.map((r) => [r.job_uuid, r]),
  );
  const invoices = qbo.control.listRecords('Invoice') as Rec[];
  const byJob = group(invoices, (i) => marker(i.PrivateNote, /\[sm8:job:([0-9a-f-]{36})\]/));
  const memos = group(qbo.control.listRecords('CreditMemo') as Rec[], (m) =>
    marker(m.PrivateNote, /\[sm8:job:([0-9a-f-]{36})\]/),
  );
  const invoiceById = new Map(invoices.map((i) => [String(i.Id), i]));

  // 1. Every approved non-zero job: exported with an equal total, a credit memo, or held with a reason.
  for (const job of sm8.control.records('job') as Rec[]) {
    const uuid = String(job.uuid);
    const info = biz.jobs.get(uuid);
    const name = `job ${String(job.generated_job_id)} (${uuid}, ${info?.kind ?? '?'}${info?.acts.length ? `; ${info.acts.join(', ')}` : ''})`;
    const row = exports.get(uuid);
    const approved = isActive(job) && job.status === 'Completed' && Number(job.payment_processed) === 1;
    const total = c(job.total_invoice_amount);
    if (!approved || total === 0) {
      count(
        !approved
          ? `not approved or deleted (${row?.state ?? 'no state'})`
          : `zero (${row?.state ?? 'no state'})`,
      );
      continue;
    }
    if (!row) {
      failures.push(`${name}: approved, total ${total / 100}, but the product has no export state for it`);
      continue;
    }
    const memo = memos.get(uuid)?.[0];
    if (total < 0 && memo && c(memo.TotalAmt) === -total) {
      count('credit memo');
      continue;
    }
    if (row.state === 'EXPORTED') {
      const inv = row.qbo_invoice_id ? invoiceById.get(row.qbo_invoice_id) : undefined;
      if (!inv)
        failures.push(`${name}: EXPORTED as invoice ${row.qbo_invoice_id}, which QuickBooks does not have`);
      else if (c(inv.TotalAmt) !== total)
        failures.push(
          `${name}: QuickBooks invoice ${String(inv.Id)} totals ${c(inv.TotalAmt) / 100}, ServiceM8 ${total / 100}`,
        );
      else count('exported, equal total');
    } else if (['BLOCKED', 'RESYNC_BLOCKED'].includes(row.state)) {
      if (!row.reason_code || !row.reason_text || row.reason_text.length < 10)
        failures.push(`${name}: ${row.state} without a readable reason (${row.reason_code ?? 'no code'})`);
      else {
        count(`held: ${row.reason_code}`);
        if (info && ['plain', 'inc', 'discount', 'deposit', 'overpaid', 'freeText'].includes(info.kind))
          heldByDesignOrNot.push(
            `${name}: ${row.state} ${row.reason_code}: ${row.reason_text}${row.reason_code === 'TOTAL_MISMATCH' ? ` [${linesNow(sm8, uuid, total)}]` : ''}`,
          );
      }
    } else if (['VOIDED_IN_QBO', 'DELETED_IN_QBO'].includes(row.state)) {
      if (!info?.acts.some((a) => /voided|deleted QuickBooks invoice/.test(a)))
        failures.push(`${name}: ${row.state}, but nobody voided or deleted its QuickBooks invoice`);
      else count(`${row.state} (the bookkeeper did it)`);
    } else
      failures.push(`${name}: approved, total ${total / 100}, state ${row.state} ${row.reason_code ?? ''}`);
  }

  // 2. Duplicates: invoices per job, DocNumbers, customers and items per ServiceM8 record, payments.
  let duplicates = 0;
  const dup = (line: string) => {
    duplicates++;
    failures.push(`duplicate: ${line}`);
  };
  for (const [job, list] of byJob)
    if (list.length > 1)
      dup(`${list.length} QuickBooks invoices (${list.map((i) => String(i.Id)).join(', ')}) for job ${job}`);
  for (const [doc, list] of group(invoices, (i) => (i.DocNumber ? String(i.DocNumber) : undefined)))
    if (list.length > 1)
      dup(`DocNumber ${doc} on QuickBooks invoices ${list.map((i) => String(i.Id)).join(', ')}`);
  const links = (
    await pool.query<{ entity_type: string; sm8_uuid: string | null; qbo_id: string | null; state: string }>(
      'SELECT entity_type, sm8_uuid, qbo_id, state FROM links WHERE connection_id = $1',
      [CONNECTION],
    )
  ).rows;
  // TAX-3: every linked ServiceM8 tax rate shows its QuickBooks code's name, rate and state again.
  const rateValues = new Map(
    (qbo.control.listRecords('TaxRate') as Rec[]).map((r) => [String(r.Id), Number(r.RateValue)]),
  );
  const codes = new Map((qbo.control.listRecords('TaxCode') as Rec[]).map((t) => [String(t.Id), t]));
  for (const l of links.filter((x) => x.entity_type === 'taxcode' && x.state === 'linked')) {
    const rate = l.sm8_uuid ? (sm8.store.get('taxrate', l.sm8_uuid) as Rec | undefined) : undefined;
    const code = l.qbo_id ? codes.get(l.qbo_id) : undefined;
    if (!rate || !code) continue;
    const want = desiredValues(qboTaxCodeView(code as unknown as QboTaxCodeRecord, rateValues), undefined);
    const have = { name: String(rate.name), amount: String(rate.amount), active: isActive(rate) };
    if (!sameValues(have, want))
      failures.push(
        `ServiceM8 tax rate ${JSON.stringify(have)} (${String(l.sm8_uuid)}) differs from its QuickBooks tax code ${String(l.qbo_id)} ${JSON.stringify(want)}: an edit in ServiceM8 was not reverted (TAX-3)`,
      );
  }
  for (const [entity, qboEntity, mine, generic] of [
    ['customer', 'Customer', biz.qboCustomers, undefined],
    ['item', 'Item', biz.qboItems, GENERIC_ITEM_NAME],
  ] as const) {
    const ofType = links.filter((l) => l.entity_type === entity);
    for (const [qboId, list] of group(
      ofType.filter((l) => l.state === 'linked'),
      (l) => l.qbo_id ?? undefined,
    )) {
      const sm8s = new Set(list.map((l) => l.sm8_uuid));
      if (sm8s.size > 1)
        dup(
          `QuickBooks ${qboEntity} ${qboId} linked to ${sm8s.size} ServiceM8 records (${[...sm8s].join(', ')})`,
        );
    }
    const linked = new Set(ofType.map((l) => l.qbo_id));
    for (const r of qbo.control.listRecords(qboEntity) as Rec[]) {
      const id = String(r.Id);
      if (mine.has(id) || linked.has(id) || (generic && r.Name === generic)) continue;
      if (qboEntity === 'Item' && r.Type === 'Category') continue;
      dup(
        `QuickBooks ${qboEntity} ${id} "${String(r.DisplayName ?? r.Name)}" was made by the product but is linked to no ServiceM8 record`,
      );
    }
  }
  const qboPayments = qbo.control.listRecords('Payment') as Rec[];
  for (const [sm8Uuid, list] of group(qboPayments, (p) =>
    marker(p.PrivateNote, /\[sm8:payment:([0-9a-fA-F-]{8,})\]/),
  ))
    if (list.length > 1)
      dup(
        `${list.length} QuickBooks payments (${list.map((p) => String(p.Id)).join(', ')}) for ServiceM8 payment ${sm8Uuid}`,
      );
  const sm8Payments = sm8.control.records('jobpayment') as Rec[];
  for (const [key, list] of group(sm8Payments.filter(isActive), (p) =>
    marker(p.note, /\[qbo:payment:([^\]]+)\]/),
  ))
    if (list.length > 1)
      dup(
        `${list.length} active ServiceM8 payments (${list.map((p) => String(p.uuid)).join(', ')}) for QuickBooks ${key}`,
      );

  // 3. Payment sums per exported invoice (PAY-6).
  let mismatchedSums = 0;
  const applied = new Map<string, number>();
  for (const p of qboPayments)
    for (const line of (p.Line as Rec[] | undefined) ?? [])
      for (const t of (line.LinkedTxn as Rec[] | undefined) ?? [])
        if (t.TxnType === 'Invoice')
          applied.set(String(t.TxnId), (applied.get(String(t.TxnId)) ?? 0) + c(line.Amount));
  // PAY-8: a ServiceM8 overpayment is in QuickBooks as its invoice's open balance applied and the rest unapplied
  // (the customer's credit) on our payment: received for the job, so counted with what was applied.
  for (const p of qboPayments) {
    if (!marker(p.PrivateNote, /\[sm8:payment:([0-9a-fA-F-]{8,})\]/) || c(p.UnappliedAmt) <= 0) continue;
    for (const line of (p.Line as Rec[] | undefined) ?? [])
      for (const t of (line.LinkedTxn as Rec[] | undefined) ?? [])
        if (t.TxnType === 'Invoice' && c(line.Amount) > 0)
          applied.set(String(t.TxnId), (applied.get(String(t.TxnId)) ?? 0) + c(p.UnappliedAmt));
  }
  const paidInSm8 = new Map<string, number>();
  for (const p of sm8Payments.filter(isActive))
    paidInSm8.set(String(p.job_uuid), (paidInSm8.get(String(p.job_uuid)) ?? 0) + c(p.amount));
  const paymentsHeld: string[] = [];
  const notes = (
    await pool.query<{ job_uuid: string; note_key: string }>(
      `SELECT job_uuid, note_key FROM job_notes WHERE connection_id = $1 AND note_key LIKE 'PAY-1:%'`,
      [CONNECTION],
    )
  ).rows;
  const sent = new Set(qboPayments.map((p) => marker(p.PrivateNote, /\[sm8:payment:([0-9a-fA-F-]{8,})\]/)));
  for (const row of exports.values()) {
    if (row.state !== 'EXPORTED' || !row.qbo_invoice_id) continue;
    const a = paidInSm8.get(row.job_uuid) ?? 0;
    const b = applied.get(row.qbo_invoice_id) ?? 0;
    // ServiceM8 payments not in QuickBooks, each refused with a job note naming it: held with a reason.
    const unsent = sm8Payments.filter(
      (p) =>
        isActive(p) &&
        p.job_uuid === row.job_uuid &&
        !marker(p.note, /\[qbo:payment:([^\]]+)\]/) &&
        !sent.has(String(p.uuid)),
    );
    const unsentCents = unsent.reduce((n, p) => n + c(p.amount), 0);
    const explained =
      unsent.length > 0 &&
      a - unsentCents === b &&
      unsent.every((p) =>
        notes.some((n) => n.job_uuid === row.job_uuid && n.note_key.includes(String(p.uuid))),
      );
    if (explained) {
      paymentsHeld.push(
        `job ${row.job_uuid}: ServiceM8 ${a / 100}, QuickBooks ${b / 100}; refused: ${unsent.map((p) => `${String(p.uuid)} ${String(p.amount)}`).join(', ')}`,
      );
      continue;
    }
    if (a !== b) {
      mismatchedSums++;
      const info = biz.jobs.get(row.job_uuid);
      const plinks = (
        await pool.query<{ sm8_payment_uuid: string; qbo_payment_id: string | null; state: string }>(
          'SELECT sm8_payment_uuid, qbo_payment_id, state FROM payment_links WHERE connection_id = $1 AND job_uuid = $2',
          [CONNECTION, row.job_uuid],
        )
      ).rows.map((l) => `${l.sm8_payment_uuid}->${l.qbo_payment_id ?? 'none'} ${l.state}`);
      const sm8Side = sm8Payments
        .filter((p) => p.job_uuid === row.job_uuid)
        .map((p) => `${String(p.uuid)} ${String(p.amount)}${isActive(p) ? '' : ' inactive'}`);
      failures.push(
        `payments of job ${row.job_uuid} (${info?.kind ?? '?'}; ${info?.acts.join(', ') ?? ''}): ServiceM8 ${a / 100}, QuickBooks invoice ${row.qbo_invoice_id} ${b / 100} [ServiceM8 payments: ${sm8Side.join('; ')}] [payment_links: ${plinks.join('; ') || 'none'}]`,
      );
    }
  }
  return { failures, outcomes, duplicates, mismatchedSums, paymentsHeld, heldByDesignOrNot };
}

export interface TemporalVerdict {
  failures: string[];
  failedWorkflows: number;
  running: number;
  silentRetries: number;
  stuckSteps: number;
  /** The stuck steps still shown: workflow, activity, attempts and the failure's first words. */
  stuckShown: string[];
}

export interface WorkflowSeen {
  id: string;
  type: string;
  status: number;
  /** Pending activities (running workflows only). */
  pending?: Array<{ type: string; attempt: number; lastFailure?: string }>;
}

/** The Temporal verdict from what was read: failed workflows, and retries past N attempts unexplained. */
export function judgeTemporal(
  failed: WorkflowSeen[],
  running: WorkflowSeen[],
  stuck: Array<{ workflow_id: string; activity_type: string; attempts?: number; technical?: string }>,
): TemporalVerdict {
  const failures = failed.map(
    (w) => `workflow ${w.id} (${w.type}) ended with status ${w.status} (3 failed, 5 terminated, 7 timed out)`,
  );
  const visible = new Set(stuck.map((s) => `${s.workflow_id} ${s.activity_type}`));
  let silentRetries = 0;
  for (const w of running)
    for (const a of w.pending ?? [])
      if (a.attempt > MAX_SILENT_ATTEMPTS && !visible.has(`${w.id} ${a.type}`)) {
        silentRetries++;
        failures.push(
          `activity ${a.type} of ${w.id} at attempt ${a.attempt} with no stuck step saying why (${a.lastFailure ?? 'no failure'})`,
        );
      }
  return {
    failures,
    failedWorkflows: failed.length,
    running: running.length,
    silentRetries,
    stuckSteps: stuck.length,
    stuckShown: stuck.map(
      (x) =>
        `${x.workflow_id} ${x.activity_type} (${x.attempts ?? '?'} attempts): ${(x.technical ?? '').slice(0, 200)}`,
    ),
  };
}

/** Failed/terminated/timed-out workflows, and pending activities past N attempts with no stuck step. */
export async function checkTemporal(pool: Pool, address: string): Promise<TemporalVerdict> {
  const connection = await Connection.connect({ address });
  try {
    const svc = connection.workflowService;
    const list = async (query: string) => {
      const out: Array<WorkflowSeen & { runId: string }> = [];
      let nextPageToken: Uint8Array | undefined;
      do {
        const page = await svc.listWorkflowExecutions({
          namespace: 'default',
          query,
          pageSize: 500,
          nextPageToken,
        });
        for (const e of page.executions ?? [])
          out.push({
            id: String(e.execution?.workflowId),
            runId: String(e.execution?.runId),
            type: String(e.type?.name),
            status: Number(e.status),
          });
        nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
      } while (nextPageToken);
      return out;
    };
    const failed = await list(
      'ExecutionStatus="Failed" OR ExecutionStatus="Terminated" OR ExecutionStatus="TimedOut"',
    );
    const stuck = (
      await pool.query<{ workflow_id: string; activity_type: string; attempts: number; technical: string }>(
        'SELECT workflow_id, activity_type, attempts, technical FROM stuck_steps WHERE dismissed_at IS NULL',
      )
    ).rows;
    const running = await list('ExecutionStatus="Running"');
    for (const w of running) {
      const d = await svc.describeWorkflowExecution({
        namespace: 'default',
        execution: { workflowId: w.id, runId: w.runId },
      });
      w.pending = (d.pendingActivities ?? []).map((a) => ({
        type: String(a.activityType?.name),
        attempt: Number(a.attempt),
        lastFailure: a.lastFailure?.message ?? undefined,
      }));
    }
    return judgeTemporal(failed, running, stuck);
  } finally {
    await connection.close();
  }
}

/**
 * Convergence: runs the data checks every `everyMs` until they pass or `capMs` has gone by; the time it
 * took (null: not converged) and the last verdict. A check that throws counts as failing with its message.
 */
export async function converge(
  check: () => Promise<Verdict>,
  capMs: number,
  everyMs: number,
  /** Told each check's failures when they differ from the previous check's (what is still converging). */
  onChange?: (atMs: number, failures: string[]) => void,
): Promise<{ convergedMs: number | null; verdict: Verdict }> {
  const start = performance.now();
  let verdict: Verdict | undefined;
  for (;;) {
    const last: Verdict | undefined = verdict;
    verdict = await check().catch((e: Error) => ({
      failures: [e.message],
      outcomes: last?.outcomes ?? {},
      duplicates: last?.duplicates ?? 0,
      mismatchedSums: last?.mismatchedSums ?? 0,
      paymentsHeld: last?.paymentsHeld ?? [],
      heldByDesignOrNot: last?.heldByDesignOrNot ?? [],
    }));
    if (onChange && verdict.failures.join('\n') !== (last?.failures ?? []).join('\n'))
      onChange(performance.now() - start, verdict.failures);
    if (verdict.failures.length === 0) return { convergedMs: performance.now() - start, verdict };
    if (performance.now() - start + everyMs >= capMs) return { convergedMs: null, verdict };
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * What the owners of the records that did not converge were doing (shown with the failures): each job's
 * invoice and payments workflow, its status, its pending activities (attempt, last failure, next try) and its
 * last history events (a guard's 5-minute wait, say), so a soak that failed on a busy machine says why.
 */
export async function describeOwners(address: string, failures: string[]): Promise<string[]> {
  const jobs = [
    ...new Set([...failures.join('\n').matchAll(/job (?:\d+ \()?([0-9a-f-]{36})/g)].map((m) => m[1])),
  ];
  if (!jobs.length) return [];
  const connection = await Connection.connect({ address });
  const out: string[] = [];
  try {
    const svc = connection.workflowService;
    const when = (t?: { seconds?: unknown } | null) =>
      t?.seconds ? new Date(Number(t.seconds) * 1000).toISOString().slice(11, 19) : '-';
    for (const job of jobs.slice(0, 5))
      for (const id of [
        invoiceWorkflowId(CONNECTION, job as string),
        paymentsWorkflowId(CONNECTION, job as string),
      ]) {
        try {
          const d = await svc.describeWorkflowExecution({
            namespace: 'default',
            execution: { workflowId: id },
          });
          const info = d.workflowExecutionInfo;
          const pending = (d.pendingActivities ?? []).map(
            (a) =>
              `${a.activityType?.name} attempt ${a.attempt} (started ${when(a.lastStartedTime)}; last failure: ${a.lastFailure?.message ?? 'none'}; next try ${when(a.nextAttemptScheduleTime)})`,
          );
          const history = await svc.getWorkflowExecutionHistoryReverse({
            namespace: 'default',
            execution: { workflowId: id, runId: info?.execution?.runId },
            maximumPageSize: 8,
          });
          const events = (history.history?.events ?? [])
            .slice(0, 8)
            .reverse()
            .map((e) => {
              const timer = e.timerStartedEventAttributes?.startToFireTimeout?.seconds;
              const act = e.activityTaskScheduledEventAttributes?.activityType?.name;
              return `${when(e.eventTime)} ${EVENT_NAMES[Number(e.eventType)] ?? e.eventType}${timer ? ` ${timer}s` : ''}${act ? ` ${act}` : ''}`;
            });
          out.push(
            `owner ${id}: status ${info?.status} since ${when(info?.startTime)}; pending: ${pending.join(', ') || 'none'}; last events: ${events.join(', ')}`,
          );
        } catch (err) {
          out.push(`owner ${id}: ${(err as Error).message.split('\n')[0]}`);
        }
      }
  } finally {
    await connection.close();
  }
  return out;
}

/** Temporal's event type numbers, the ones an owner's tail shows. */
const EVENT_NAMES: Record<number, string> = {
  1: 'WorkflowExecutionStarted',
  2: 'WorkflowExecutionCompleted',
  5: 'WorkflowTaskScheduled',
  6: 'WorkflowTaskStarted',
  7: 'WorkflowTaskCompleted',
  8: 'WorkflowTaskTimedOut',
  9: 'WorkflowTaskFailed',
  10: 'ActivityTaskScheduled',
  11: 'ActivityTaskStarted',
  12: 'ActivityTaskCompleted',
  13: 'ActivityTaskFailed',
  14: 'ActivityTaskTimedOut',
  17: 'TimerStarted',
  18: 'TimerFired',
  19: 'TimerCanceled',
  26: 'WorkflowExecutionSignaled',
  40: 'WorkflowExecutionContinuedAsNew',
};
