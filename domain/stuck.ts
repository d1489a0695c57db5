/**
 * Issue 13, "nothing retries silently": when a step that keeps failing counts as stuck, and what a bookkeeper
 * reads about it. A step is one activity of one owner workflow (an invoice's export, a customer's sync);
 * Temporal retries it with backoff for ever, and it clears itself when an attempt succeeds. Pure.
 */
import { FailureType } from './failures';

/** Failed this many times in a row: stuck (the owners' retries reach it in about 6 s: 2 s, then 4 s). */
export const STUCK_AFTER_ATTEMPTS = 3;
/** Or failing for this long, whatever the count. */
export const STUCK_AFTER_MS = 5 * 60_000;

export function isStuck(step: { attempts: number; firstFailedAt: Date }, now: Date): boolean {
  return (
    step.attempts >= STUCK_AFTER_ATTEMPTS || now.getTime() - step.firstFailedAt.getTime() >= STUCK_AFTER_MS
  );
}

/** What each step does, in the bookkeeper's words (activity type → words); others read as their name. */
const STEP_WORDS: Record<string, string> = {
  loadInvoiceSnapshot: 'reading the job from ServiceM8',
  ensureCustomer: 'finding or creating the QuickBooks customer',
  ensureItems: 'finding or creating the QuickBooks products/services',
  createQboInvoice: 'creating the QuickBooks invoice',
  resyncQboInvoice: 'updating the QuickBooks invoice',
  syncCustomerLink: 'syncing a client with its QuickBooks customer',
  syncItemLink: 'syncing a material with its QuickBooks product/service',
  importCustomerPage: 'bringing QuickBooks customers into ServiceM8',
  importItemPage: 'bringing QuickBooks products/services into ServiceM8',
  ownerPass: 'working on this record',
  invoicePass: 'syncing the invoice with QuickBooks',
  paymentsPass: "syncing the job's payments",
  readDirtyClientsMaterials: 'reading changed clients and materials',
};

export function stepWords(activityType: string): string {
  return STEP_WORDS[activityType] ?? activityType.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

const SYSTEM = (technical: string): string =>
  /^SM8\b/.test(technical) ? 'ServiceM8' : /^QBO\b/.test(technical) ? 'QuickBooks' : 'the other system';

/**
 * One sentence for the bookkeeper: what failed, why as far as we know, and that it keeps trying. The
 * technical text stays beside it for support.
 */
export function describeFailure(activityType: string, failureType: string, technical: string): string {
  const what = stepWords(activityType);
  const system = SYSTEM(technical);
  const status = /: (\d{3}) /.exec(technical)?.[1];
  let why: string;
  if (failureType === FailureType.rateLimited) why = `${system} asked us to slow down (its request limit)`;
  else if (failureType === FailureType.transient && status)
    why = `${system} answered with a server error (HTTP ${status})`;
  else if (failureType === FailureType.transient)
    why = `${system} could not be reached or did not answer in time`;
  else if (failureType === FailureType.forbidden)
    why = `${system} refused the request (HTTP 403, no permission for it)`;
  else if (failureType === FailureType.notFound) why = `${system} no longer has a record this needs`;
  else if (failureType === FailureType.staleObject)
    why = 'the record was changed in QuickBooks at the same moment';
  else if (/duplicate key|unique constraint/i.test(technical))
    why = 'two records claim the same link (an internal conflict)';
  else why = `an unexpected error: ${technical.split('\n')[0]?.slice(0, 200) ?? ''}`;
  const retry =
    activityType === 'ownerPass'
      ? 'The sync tries again by itself (after 1, 5 and 15 minutes, then hourly) and after any change to the record.'
      : 'The sync keeps trying by itself.';
  return `Stuck while ${what}: ${why}. ${retry}`;
}

/** What a stuck step's workflow is about, for lists: the record, and the job when it is about one. */
export function stuckRecordOf(workflowId: string): { label: string; jobUuid: string | null } {
  const [kind, , id] = workflowId.split('/');
  if (kind === 'invoice' && id) return { label: `The invoice of job ${id}`, jobUuid: id };
  if (kind === 'payments' && id) return { label: `The payments of job ${id}`, jobUuid: null };
  if (kind === 'customer' && id) return { label: `A client (link ${id})`, jobUuid: null };
  if (kind === 'item' && id) return { label: `A material (link ${id})`, jobUuid: null };
  if (kind === 'onboarding') return { label: 'The first sync of clients and materials', jobUuid: null };
  return { label: workflowId, jobUuid: null };
}

export { STUCK_REASON_CODE, STUCK_STATE } from './invoice/states';

/** Whether the workflow shows a stuck step in the Temporal Web UI (an owner: workflows/support/stuck-shown.ts). */
export function showsStuckInWebUi(workflowId: string): boolean {
  return /^(invoice|payments|customer|item)\//.test(workflowId);
}

/** The job whose diary tells of a stuck step: of an invoice's owner, or of a job's payments owner. */
export function stuckNoteJob(workflowId: string): string | null {
  const [kind, , id] = workflowId.split('/');
  return (kind === 'invoice' || kind === 'payments') && id ? id : null;
}

/** The invoice a stuck step holds up: its job, when the step belongs to an invoice's owner. */
export function stuckInvoiceJob(workflowId: string): string | null {
  return workflowId.startsWith('invoice/') ? stuckRecordOf(workflowId).jobUuid : null;
}

/**
 * Whether a job note can say so now: not when ServiceM8 itself is what fails (the note would fail too, and
 * would spend a budget that is already short); the admin views still show it.
 */
export function stuckNoteReachable(technical: string): boolean {
  return !/^SM8\b/.test(technical);
}
