/**
 * All activities, built from injected dependencies (Temporal's activities-dependency-injection pattern).
 * Workflows type their proxies with `Activities` through a type-only import.
 */
import { createCmSyncActivities } from './clients-materials/sync';
import { createConnectionActivities } from './connection';
import { createHealthActivities } from './health';
import { createInvoiceActivities } from './invoice';
import { createOnboardingActivities } from './onboarding';
import { createPaymentActivities } from './payments';
import { createPollActivities } from './poll';
import type { ActivityDeps } from './support/deps';
import { createTaxActivities } from './tax';

export type { ActivityDeps } from './support/deps';

export function createActivities(deps: ActivityDeps) {
  return {
    ...createHealthActivities(deps),
    ...createConnectionActivities(deps),
    ...createInvoiceActivities(deps),
    ...createPollActivities(deps),
    ...createTaxActivities(deps),
    ...createOnboardingActivities(deps),
    ...createCmSyncActivities(deps),
    ...createPaymentActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
