/**
 * TRG-2, the polling safety net: what webhooks should have told us, read from both APIs since a stored
 * watermark, and routed to the owning workflows exactly like a webhook would (routing/routes.ts: events
 * only wake owners, so a pass that overlaps a webhook, another pass or itself costs a wasted look, never a
 * second export). The nightly reconciliation of exported invoice totals is in activities/reconcile.ts.
 *
 * Watermarks (table `watermarks`):
 *  - `sm8:<object>` (`sm8:job`, …: each ServiceM8 object some workflow owns): the newest `edit_date` seen
 *    (account-local "YYYY-MM-DD HH:MM:SS", the server's own clock and zone, so our clock never matters after
 *    the first pass). ServiceM8 filters only with `gt`
 *    at one-second resolution, so each pass re-reads an overlap before the watermark;
 *  - `qbo:cdc`: the `time` of the last complete CDC answer (QuickBooks' clock), read again with an overlap;
 *  - `<stream>:seen`: the records of the overlap window already routed, with a signature (edit_date + a
 *    fingerprint of the record; LastUpdatedTime + SyncToken), so the overlap is de-duplicated and a pass with
 *    nothing new routes nothing, while a second change within the same second is still seen.
 * A watermark moves only after routing, by compare-and-set: a crashed or concurrent pass re-reads, never skips.
 *
 * The ServiceM8 side is in activities/poll-servicem8.ts, the QuickBooks side in activities/poll-quickbooks.ts,
 * what they share in activities/support/polling.ts, the watermarks' SQL in store/watermarks.ts. This file
 * keeps the names workflows and tests import.
 */
export { sm8TimeIn } from '../domain/servicem8-time';
export { QBO_CDC_STREAM } from './poll-quickbooks';
export { SM8_JOB_STREAM } from './poll-servicem8';
export type { PaymentDrift, ReconcileDrift, ReconcileResult } from './reconcile';
export {
  shiftIsoKeepingOffset,
  shiftSm8Time,
  type PollObjectResult,
  type PollSideResult,
} from './support/polling';
