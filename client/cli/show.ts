/**
 * `sm8qbo show <connection> <job>`: one job's record as a person reads it (its invoice's state in words,
 * the reason, the QuickBooks invoice, totals, workflows with their Web UI links, payments); `--json` gives
 * the admin API's answer unchanged.
 */
import type { Command } from 'commander';
import { InvoiceSyncState, type InvoiceSyncStateName } from '../../domain/invoice/states';
import { STUCK_REASON_CODE, STUCK_STATE } from '../../domain/invoice/states';
import { examples } from './admin';
import type { CliContext } from './context';
import { labelled, money, table } from './output';

/** The admin API's record view (GET /admin/records/:connection/:jobUuid). */
export interface RecordView {
  workflowId: string;
  runId: string | null;
  workflowStatus: string;
  status: {
    state: string;
    qboInvoiceId: string | null;
    reason: { code: string; text: string } | null;
    lastSyncedTotalCents: number | null;
    syncs: number;
    idle: boolean;
  } | null;
  export: Record<string, unknown> | null;
  link: { sm8Uuid: string | null; qboId: string | null; state: string } | null;
  payments: {
    workflowId: string;
    status: {
      state: string;
      sm8PaidCents: number | null;
      qboPaidCents: number | null;
      qboAppliedCents?: number | null;
      problems: Array<{ sm8Uuid: string; code: string; text: string }>;
    } | null;
    links: Array<Record<string, unknown>>;
  };
  /** Steps of this job that keep failing (issue 13): of its invoice's owner or its payments'. */
  stuck?: Array<{ id: string; workflowId?: string; reason: string; attempts: number }>;
}

// Typed by the states, so a new state cannot be added without its sentence.
const INVOICE_STATES: Record<InvoiceSyncStateName, string> = {
  [InvoiceSyncState.notApproved]: 'not approved in ServiceM8 (or the job is gone): nothing to export',
  [InvoiceSyncState.zeroValue]: 'approved with a total of 0.00: not exported',
  [InvoiceSyncState.blocked]: 'approved, but it cannot be exported: see the reason',
  [InvoiceSyncState.exported]: 'in QuickBooks and in step with ServiceM8',
  [InvoiceSyncState.resyncBlocked]:
    'in QuickBooks, but a later ServiceM8 change cannot be sent: see the reason',
  [InvoiceSyncState.needsAttentionInQbo]:
    'deleted or un-approved in ServiceM8 after export: QuickBooks owns the ledger now, settle it there',
  [InvoiceSyncState.voidedInQbo]: 'voided in QuickBooks: sync for this job stopped',
  [InvoiceSyncState.deletedInQbo]: 'deleted in QuickBooks: sync for this job stopped',
  [InvoiceSyncState.waitingForReauth]: 'waiting for the connection to be authorised again (or resumed)',
};

// The payments workflow's states (workflows/payments.ts, not imported: it loads the Temporal SDK).
const PAYMENT_STATES: Record<string, string> = {
  WAITING_FOR_EXPORT: 'waiting for the invoice to be in QuickBooks',
  IN_STEP: 'the same payments on both sides',
  OUT_OF_STEP: 'the two sides differ: see the problems',
  INVOICE_GONE: 'the QuickBooks invoice is gone: payments are no longer synced',
  WAITING_FOR_REAUTH: 'waiting for the connection to be authorised again (or resumed)',
};

/** Both blocks align on the longest label ("Exported at"). */
const LABEL_WIDTH = 11;

const inWords = (words: Record<string, string>, state: string | null | undefined) =>
  state ? `${state}: ${words[state] ?? 'see the Temporal Web UI'}` : 'unknown';

/** The record as text lines. `webUi` makes a workflow's Temporal Web UI address. */
export function describeRecord(
  connection: string,
  job: string,
  v: RecordView,
  webUi: (workflowId: string) => string,
  width?: number,
): string[] {
  const row = v.export ?? {};
  const state = v.status?.state ?? (row.state as string | undefined);
  const reason = v.status
    ? v.status.reason
    : row.reason_code
      ? { code: String(row.reason_code), text: String(row.reason_text ?? '') }
      : null;
  // OPS-5: a stuck step of the invoice's owner is the invoice's state until it succeeds.
  const stuck = v.stuck?.find((st) => st.workflowId === v.workflowId);
  const invoiceState = stuck
    ? `${STUCK_STATE}: a step keeps failing and the sync keeps trying by itself${row.state ? ` (last stored state ${String(row.state)})` : ''}`
    : inWords(INVOICE_STATES, state);
  const invoiceReason = stuck ? { code: STUCK_REASON_CODE, text: stuck.reason } : reason;
  const invoiceId = v.status?.qboInvoiceId ?? (row.qbo_invoice_id as string | null) ?? v.link?.qboId ?? null;
  const totals = [
    row.sm8_total_cents != null ? `ServiceM8 ${money(row.sm8_total_cents)}` : '',
    row.qbo_total_cents != null ? `QuickBooks ${money(row.qbo_total_cents)}` : '',
    v.status?.lastSyncedTotalCents != null ? `last synced ${money(v.status.lastSyncedTotalCents)}` : '',
  ].filter(Boolean);
  const jobNumber = row.generated_job_id ? ` (ServiceM8 job ${String(row.generated_job_id)})` : '';
  const lines = [
    `Job ${job}${jobNumber} on connection ${connection}`,
    ...labelled(
      [
        ['Invoice', invoiceState],
        ['Reason', invoiceReason ? `${invoiceReason.text} (${invoiceReason.code})` : ''],
        ...(v.stuck ?? []).map((s): [string, string] => [
          'Stuck',
          `${s.reason} (${s.attempts} tries; sm8qbo stuck retry ${s.id})`,
        ]),
        ['QuickBooks', invoiceId ? `invoice ${invoiceId}` : 'no invoice'],
        ['Totals', totals.join(', ')],
        ['Exported at', row.exported_at ? String(row.exported_at) : ''],
        ['Link', v.link ? `ServiceM8 ${v.link.sm8Uuid} = QuickBooks ${v.link.qboId} (${v.link.state})` : ''],
        [
          'Workflow',
          `${v.workflowId}  ${v.workflowStatus}${v.status ? `, ${v.status.syncs} sync(s)${v.status.idle ? '' : ', working'}` : ''}`,
        ],
        ['', v.workflowStatus === 'NOT_FOUND' ? '' : webUi(v.workflowId)],
      ],
      '  ',
      LABEL_WIDTH,
    ),
  ];
  const p = v.payments;
  const paid = [
    p.status?.sm8PaidCents != null ? `ServiceM8 paid ${money(p.status.sm8PaidCents)}` : '',
    p.status?.qboPaidCents != null
      ? p.status.qboAppliedCents != null
        ? `QuickBooks received ${money(p.status.qboPaidCents)}, ${money(p.status.qboAppliedCents)} of it applied to the invoice and the rest a credit of the customer (PAY-8)`
        : `QuickBooks paid ${money(p.status.qboPaidCents)}`
      : '',
  ].filter(Boolean);
  lines.push(
    'Payments',
    ...labelled(
      [
        ['State', p.status ? inWords(PAYMENT_STATES, p.status.state) : 'no payments workflow answered'],
        ['Paid', paid.join(', ')],
        ['Workflow', p.workflowId],
        ['', p.status ? webUi(p.workflowId) : ''],
      ],
      '  ',
      LABEL_WIDTH,
    ),
  );
  for (const problem of p.status?.problems ?? [])
    lines.push(`  problem: ${problem.text} (${problem.code}, ServiceM8 payment ${problem.sm8Uuid})`);
  if (p.links.length) {
    const rows = p.links.map((l) => ({ ...l, amount: money(l.amount_cents) }));
    const cols = ['origin', 'sm8_payment_uuid', 'qbo_payment_id', 'qbo_invoice_id', 'amount', 'state'];
    const headers = {
      origin: 'from',
      sm8_payment_uuid: 'ServiceM8 payment',
      qbo_payment_id: 'QuickBooks payment',
      qbo_invoice_id: 'QuickBooks invoice',
    };
    const t = table(rows, cols, { headers, width: width === undefined ? undefined : width - 2 });
    lines.push(...t.split('\n').map((l) => `  ${l}`));
  } else lines.push('  no payments linked');
  return lines;
}

export function registerShowCommand(program: Command, ctx: CliContext): void {
  examples(
    program
      .command('show')
      .description("a job's invoice: state in words, reason, QuickBooks invoice, totals, workflows, payments")
      .argument('<connection>', 'the connection id')
      .argument('<job>', 'the ServiceM8 job uuid (`sm8qbo invoices` lists them)')
      .action(async (connection: string, job: string) => {
        const { data } = await ctx
          .api()
          .get<RecordView>(`/admin/records/${encodeURIComponent(connection)}/${encodeURIComponent(job)}`);
        if (ctx.json) {
          ctx.out(JSON.stringify(data, null, 2));
          return;
        }
        const { uiOrigin, namespace } = ctx.config().temporal;
        const webUi = (id: string) =>
          `${uiOrigin}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(id)}`;
        ctx.out(describeRecord(connection, job, data, webUi, ctx.io.columns).join('\n'));
      }),
    [
      'sm8qbo show acme 5f1c2b8e-0c4d-4e7a-9a57-1d2e3f4a5b6c',
      'sm8qbo show acme 5f1c2b8e-0c4d-4e7a-9a57-1d2e3f4a5b6c --json',
    ],
  );
}
