/**
 * What the world may say to and ask of the workflows: their type names, inputs, signals, queries and status
 * types. Routing (routing/) and the HTTP API, CLI and schedules (client/) import this file only, and start or
 * signal a workflow by its type name, so none of them loads workflow code (which loads activity types).
 * Imports domain/ only. The names given to defineSignal/defineQuery and the type names are in committed
 * replay histories (test/histories): they never change.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { CmSyncState } from '../domain/clients-materials/states';
import type { Reason } from '../domain/invoice/reasons';
import type { InvoiceSyncStateName } from '../domain/invoice/states';
import type { OnboardingProgress } from '../domain/onboarding';
import type { PaymentOrigin } from '../domain/payments';
import type { FastPolling } from '../domain/poll-cadence';
import type { TaxSyncResult } from '../domain/tax';

/** Workflow type names: the exported function names in workflows/ (test/workflows/messages.test.ts checks). */
export const WorkflowType = {
  invoice: 'invoiceWorkflow',
  payments: 'paymentsWorkflow',
  paymentRoute: 'paymentRouteWorkflow',
  customer: 'customerWorkflow',
  item: 'itemWorkflow',
  cmRead: 'clientsMaterialsReadWorkflow',
  tax: 'taxWorkflow',
  onboarding: 'onboardingWorkflow',
  poll: 'pollConnectionWorkflow',
  taxPoll: 'taxPollWorkflow',
  reconcile: 'reconcileInvoicesWorkflow',
  connectionCheck: 'connectionCheckWorkflow',
  healthCheck: 'healthCheckWorkflow',
} as const;

// ---- every owner workflow --------------------------------------------------------------------------------

/** CON-3: the connection is usable again: parked steps run again (workflows/support/connection-gate.ts). */
export const connectionRestoredSignal = defineSignal('connectionRestored');

/**
 * OPS-5 in the Temporal Web UI: a step of this owner is stuck (`text`: the failure in the bookkeeper's words,
 * domain/stuck.ts), or no longer (`text` null). Sent by the stuck watch (activities/support/stuck-signals.ts);
 * the owner shows SyncState STUCK and the text in its memo while any step is stuck
 * (workflows/support/stuck-shown.ts).
 */
export interface StepStuck {
  step: string;
  text: string | null;
}
export const stepStuckSignal = defineSignal<[StepStuck]>('stepStuck');

// ---- invoice (workflows/invoice.ts) --------------------------------------------------------------------

/** Something about the ServiceM8 job changed (webhook, poll, or a payment/material of it). */
export const sm8JobChangedSignal = defineSignal<[InvoiceWake?]>('sm8JobChanged');
/** Something about the QuickBooks invoice changed (webhook or CDC: emailed, voided, deleted, updated). */
export const qboInvoiceChangedSignal = defineSignal<[InvoiceWake?]>('qboInvoiceChanged');

/**
 * Issue 12: what a wake of an invoice owner says. `background`: nobody waits for this look (a poll found the
 * change: webhooks were lost, or the job was approved before the connection existed), so its pass runs in
 * the live lane, behind the approvals people are waiting for, unless a wake without it asks too.
 */
export interface InvoiceWake {
  background?: boolean;
}
/** OPS-2: re-sync on demand. */
export const resyncInvoiceSignal = defineSignal<[InvoiceWake?]>('resync');

export interface InvoiceStatus {
  connectionId: string;
  jobUuid: string;
  state: InvoiceSyncStateName;
  qboInvoiceId: string | null;
  reason: Reason | null;
  lastSyncedTotalCents: number | null;
  syncs: number;
  /** Nothing pending and no sync running. */
  idle: boolean;
}
export const invoiceStatusQuery = defineQuery<InvoiceStatus>('status');

/** What a run of the invoice workflow hands to the next (continue-as-new). */
export interface InvoiceCarried {
  state: InvoiceSyncStateName;
  qboInvoiceId: string | null;
  reason: Reason | null;
  lastSyncedTotalCents: number | null;
  generatedJobId: string | null;
  syncs: number;
  blockedRetries: number;
}

export interface InvoiceWorkflowInput {
  connectionId: string;
  jobUuid: string;
  /** Set by continue-as-new. */
  carried?: InvoiceCarried;
  /**
   * Issue 12: the run at its minimum cost (one activity per pass, ends when nothing is left to watch).
   * Routers start every new run so; runs recorded without it keep the older path and replay unchanged.
   */
  lean?: boolean;
  /** A lean run started by a QuickBooks event (or a re-sync) looks at QuickBooks' invoice on start too. */
  qboToo?: boolean;
  /** false: a lean run started by a QuickBooks event alone does not read the ServiceM8 job of an exported invoice. */
  sm8Too?: boolean;
  /** Issue 12: the start's look is in the background (see InvoiceWake). */
  background?: boolean;
}

// ---- payments (workflows/payments.ts) ------------------------------------------------------------------

/** Something about a payment of this job or of its QuickBooks invoice changed, or the invoice was exported. */
export const paymentsChangedSignal = defineSignal<[PaymentsWake?]>('paymentsChanged');

/**
 * Issue 12: what a wake says. `described`: whoever woke the owner put what changed in its payment views
 * (a router that read the payment, or marked the side to read), so a lean run reads only that; a wake
 * without it (reconciliation, support, an older sender) makes the run read both sides in full.
 */
export interface PaymentsWake {
  described?: boolean;
  /**
   * Issue 12: nobody waits for this look (the first after an export, for payments recorded before it): it
   * runs in the live lane, behind approvals, unless a wake without it asks too.
   */
  background?: boolean;
}

export const PaymentsState = {
  waitingForExport: 'WAITING_FOR_EXPORT',
  inStep: 'IN_STEP',
  outOfStep: 'OUT_OF_STEP',
  invoiceGone: 'INVOICE_GONE',
  waitingForReauth: 'WAITING_FOR_REAUTH',
} as const;
export type PaymentsStateName = (typeof PaymentsState)[keyof typeof PaymentsState];

export interface PaymentProblem {
  sm8Uuid: string;
  code: string;
  text: string;
}

export interface PaymentsStatus {
  connectionId: string;
  jobUuid: string;
  state: PaymentsStateName;
  qboInvoiceId: string | null;
  /**
   * PAY-6, as last read: active ServiceM8 payments, and what QuickBooks received for the job: the payment
   * lines applied to the invoice plus the unapplied rest of payments sent from it (PAY-8);
   * `qboAppliedCents` the part applied to the invoice (absent before PAY-8).
   */
  sm8PaidCents: number | null;
  qboPaidCents: number | null;
  qboAppliedCents?: number | null;
  payments: Array<{ sm8Uuid: string; qboPaymentId: string | null; origin: PaymentOrigin; state: string }>;
  problems: PaymentProblem[];
  syncs: number;
  /** Nothing pending and no sync running. */
  idle: boolean;
}
export const paymentsStatusQuery = defineQuery<PaymentsStatus>('status');

/** What a run of the payments workflow hands to the next (continue-as-new). */
export interface PaymentsCarried {
  state: PaymentsStateName;
  qboInvoiceId: string | null;
  syncs: number;
  /** An event arrived during the last pass of the previous run (else the new run waits for one). */
  dirty?: boolean;
  /** What the status showed, so that a continued run answers the same until its first pass. */
  view?: {
    last: { sm8: number; qbo: number; applied?: number } | null;
    payments: PaymentsStatus['payments'];
    problems: PaymentProblem[];
  };
}

export interface PaymentsWorkflowInput {
  connectionId: string;
  jobUuid: string;
  carried?: PaymentsCarried;
  /** Issue 12: one activity per pass, reading only the side an event names (see InvoiceWorkflowInput.lean). */
  lean?: boolean;
  /** Issue 12: the start was described (see PaymentsWake); otherwise the first pass reads both sides. */
  described?: boolean;
  /** Issue 12: the start's look is in the background (see PaymentsWake). */
  background?: boolean;
}

/** Another event about the same payment arrived while its owner was being looked up: look again. */
export const paymentEventSignal = defineSignal('paymentEvent');

export interface PaymentRouteInput {
  connectionId: string;
  source: 'sm8' | 'qbo';
  /** ServiceM8 jobpayment uuid or QuickBooks Payment Id. */
  entityId: string;
}

export interface PaymentRouteResult {
  looks: number;
  woken: string[];
  ignored?: string;
}

// ---- clients and materials (workflows/clients-materials.ts) --------------------------------------------

/** Something about the record changed in either program (webhook, poll, or by hand). */
export const cmChangedSignal = defineSignal('changed');
/** CM-10: the QuickBooks record of this link was merged into another (the survivor's Id). */
export const cmMergedSignal = defineSignal<[{ survivorId: string }]>('merged');

export interface ClientMaterialStatus {
  connectionId: string;
  linkId: string;
  kind: 'customer' | 'item';
  state: CmSyncState | 'STARTING';
  sm8Uuid: string | null;
  qboId: string | null;
  reason: string | null;
  syncs: number;
  conflicts: number;
  idle: boolean;
  /** Waiting for its connection to be usable again (paused or needing re-authorisation, CON-3). */
  parked: boolean;
}
export const clientMaterialStatusQuery = defineQuery<ClientMaterialStatus>('status');

// ---- the bulk read of clients and materials (workflows/clients-materials-read.ts) ------------------------

/** Records of the connection were marked dirty (`echo`: only the echo of our own write, to confirm later). */
export const cmMarkedSignal = defineSignal<[{ echo: boolean }]>('marked');

export interface ClientsMaterialsReadInput {
  connectionId: string;
  /** Set by continue-as-new: marks were pending, so the new run reads at once. */
  pending?: boolean;
}

export interface ClientMaterialInput {
  connectionId: string;
  linkId: string;
  /** Set by continue-as-new. */
  carried?: Pick<ClientMaterialStatus, 'state' | 'sm8Uuid' | 'qboId' | 'reason' | 'syncs' | 'conflicts'>;
}

// ---- tax rates (workflows/tax.ts) ----------------------------------------------------------------------

/** A ServiceM8 tax rate was created or edited (webhook or poll): look again. */
export const sm8TaxRateChangedSignal = defineSignal('sm8TaxRateChanged');

export interface TaxStatus {
  connectionId: string;
  passes: number;
  /** The counts of the last pass. */
  last: TaxSyncResult | null;
  waitingForReauth: boolean;
  /** Nothing pending and no pass running. */
  idle: boolean;
}
export const taxStatusQuery = defineQuery<TaxStatus>('status');

export interface TaxWorkflowInput {
  connectionId: string;
  /** Set by continue-as-new. */
  carried?: { passes: number; last: TaxSyncResult | null };
}

// ---- onboarding (workflows/onboarding.ts) --------------------------------------------------------------

/** OPS-2: the progress of the run (counts per phase), null before the run is known. */
export const onboardingProgressQuery = defineQuery<OnboardingProgress | null>('progress');

export interface OnboardingWorkflowInput {
  connectionId: string;
  /** 'connect' (the connection became complete) or 'admin' (API/CLI). */
  startedBy?: string;
  /** QuickBooks MAXRESULTS per page (default 100, at most 1000). */
  pageSize?: number;
  /** Set by continue-as-new: the run being worked on. */
  run?: number;
}

// ---- passes started by schedules (workflows/poll.ts), checks -------------------------------------------

export interface PollInput {
  connectionId: string;
  /** First pass of a connection only: how far back to look (default 10 minutes). */
  backfillMs?: number;
  /**
   * Adaptive polling (domain/poll-cadence.ts), set by the poll schedule: a pass that suspects a gap in the
   * webhooks runs the next one after `fast.everyMs` (continue-as-new). Without it (a pass by hand) one pass.
   */
  fast?: FastPolling;
  /** Fast passes already run in this chain. */
  fastPasses?: number;
}

export type ConnectionCheckState = 'checking' | 'waiting_for_reauth' | 'done';
export const connectionCheckStateQuery = defineQuery<ConnectionCheckState>('state');

export interface ConnectionCheckResult {
  qboCompanyName: string;
  realmId: string;
  sm8AccountName: string | null;
}

export interface HealthCheckInput {
  requestedBy: string;
}

export interface HealthCheckResult {
  auditId: string;
  schemaVersion: number;
  workflowId: string;
}
