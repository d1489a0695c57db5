/** The sync state of one job's invoice (search attribute SyncState, admin API, invoice_exports.state). */
export const InvoiceSyncState = {
  /** Not approved (INV-1), or the job no longer exists and was never exported. */
  notApproved: 'NOT_APPROVED',
  /** Approved with a total of 0.00: not exported (INV-2). */
  zeroValue: 'ZERO_VALUE',
  /** Approved but cannot be exported; the reason says why (INV-3). */
  blocked: 'BLOCKED',
  /** In QuickBooks and in step with ServiceM8. */
  exported: 'EXPORTED',
  /** In QuickBooks, but a later ServiceM8 change cannot be sent; the reason says why. */
  resyncBlocked: 'RESYNC_BLOCKED',
  /** Deleted or un-approved in ServiceM8 after export: QuickBooks owns the ledger now (INV-10). */
  needsAttentionInQbo: 'NEEDS_ATTENTION_IN_QBO',
  /** Voided or deleted in QuickBooks: sync for the job stopped (INV-10). */
  voidedInQbo: 'VOIDED_IN_QBO',
  deletedInQbo: 'DELETED_IN_QBO',
  /** Waiting for the connection to be authorised again (CON-3). */
  waitingForReauth: 'WAITING_FOR_REAUTH',
} as const;

export type InvoiceSyncStateName = (typeof InvoiceSyncState)[keyof typeof InvoiceSyncState];

/** States after which nothing more is synced for the job. */
export const FINAL_INVOICE_STATES: readonly string[] = [
  InvoiceSyncState.voidedInQbo,
  InvoiceSyncState.deletedInQbo,
];

/** A blocked invoice is looked at again on this schedule, so it exports once the cause is fixed (INV-3). */
export const BLOCKED_RETRY: readonly string[] = ['1 minute', '5 minutes', '15 minutes', '1 hour'];

export const isBlockedState = (state: InvoiceSyncStateName): boolean =>
  state === InvoiceSyncState.blocked || state === InvoiceSyncState.resyncBlocked;

/** How long a blocked invoice waits before its next look, after `retries` looks that found it still blocked. */
export function blockedRetryDelay(retries: number, schedule: readonly string[] = BLOCKED_RETRY): string {
  return schedule[Math.min(retries, schedule.length - 1)] ?? '1 hour';
}

/**
 * OPS-5 on the invoice itself: while a step of an invoice's owner is stuck, the invoice shows this state and
 * reason code (admin API, `sm8qbo invoices`, `sm8qbo show`) over the state its last pass stored, and its job
 * gets one note with the failure in words; the stored state shows again once the step succeeds.
 */
// Here, not in domain/stuck.ts: the CLI shows them and must not load the Temporal SDK that file needs.
export const STUCK_STATE = 'STUCK';
export const STUCK_REASON_CODE = 'STEP_STUCK';
