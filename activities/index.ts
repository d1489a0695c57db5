/**
 * All activities, built from injected dependencies (Temporal's activities-dependency-injection pattern).
 * Workflows type their proxies with `Activities` through a type-only import. Every activity counts its failed
 * attempts (activities/support/stuck-watch.ts), so a step that keeps failing is shown as stuck.
 */
import { createCmBulkReadActivities } from './clients-materials/bulk-read';
import { createCmSyncActivities } from './clients-materials/sync';
import { createConnectionActivities } from './connection';
import { createHealthActivities } from './health';
import { createInvoiceActivities } from './invoice';
import { createInvoicePassActivities } from './invoice-pass';
import { createOnboardingActivities } from './onboarding';
import { createPaymentRoutingActivities } from './payment-routing';
import { createPaymentActivities } from './payments';
import { createPaymentsPassActivities } from './payments-pass';
import { createQuickBooksPollActivities } from './poll-quickbooks';
import { createServiceM8PollActivities } from './poll-servicem8';
import { createStuckActivities } from './stuck';
import { createReconcileActivities } from './reconcile';
import type { ActivityDeps } from './support/deps';
import { createStuckListener } from './support/stuck-listener';
import { watchStuckSteps } from './support/stuck-watch';
import { createTaxActivities } from './tax';

export type { ActivityDeps } from './support/deps';

export function createActivities(deps: ActivityDeps) {
  // OPS-5: a stuck step of an invoice's owner is noted once on its job, and every owner shows it in the Web UI.
  const onStuck = createStuckListener(deps);
  return watchStuckSteps(
    { pool: deps.pool, onStuck },
    {
      ...createHealthActivities(deps),
      ...createConnectionActivities(deps),
      ...createInvoiceActivities(deps),
      ...createInvoicePassActivities(deps),
      ...createServiceM8PollActivities(deps),
      ...createQuickBooksPollActivities(deps),
      ...createReconcileActivities(deps),
      ...createTaxActivities(deps),
      ...createOnboardingActivities(deps),
      ...createCmSyncActivities(deps),
      ...createCmBulkReadActivities(deps),
      ...createPaymentActivities(deps),
      ...createPaymentsPassActivities(deps),
      ...createPaymentRoutingActivities(deps),
      ...createStuckActivities(deps, onStuck),
    },
  );
}

export type Activities = ReturnType<typeof createActivities>;
