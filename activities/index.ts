/**
 * All activities, built from injected dependencies (Temporal's activities-dependency-injection pattern).
 * Workflows type their proxies with `Activities` through a type-only import.
 */
import { createCmSyncActivities } from './clients-materials/sync';
import { createConnectionActivities } from './connection';
import { createHealthActivities } from './health';
import { createInvoiceActivities } from './invoice';
import { createOnboardingActivities } from './onboarding';
import { createPaymentRoutingActivities } from './payment-routing';
import { createPaymentActivities } from './payments';
import { createQuickBooksPollActivities } from './poll-quickbooks';
import { createServiceM8PollActivities } from './poll-servicem8';
import { createReconcileActivities } from './reconcile';
import type { ActivityDeps } from './support/deps';
import { createTaxActivities } from './tax';

export type { ActivityDeps } from './support/deps';

export function createActivities(deps: ActivityDeps) {
  return {
    ...createHealthActivities(deps),
    ...createConnectionActivities(deps),
    ...createInvoiceActivities(deps),
    ...createServiceM8PollActivities(deps),
    ...createQuickBooksPollActivities(deps),
    ...createReconcileActivities(deps),
    ...createTaxActivities(deps),
    ...createOnboardingActivities(deps),
    ...createCmSyncActivities(deps),
    ...createPaymentActivities(deps),
    ...createPaymentRoutingActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
