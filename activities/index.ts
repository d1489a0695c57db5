/**
 * All activities, built from injected dependencies (Temporal's activities-dependency-injection pattern).
 * Workflows type their proxies with `Activities` through a type-only import.
 */
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { createCmSyncActivities } from './clients-materials/sync';
import { createConnectionActivities } from './connection';
import type { ConnectionStore } from '../store/connections';
import type { Governor } from '../apis/governor/governor';
import { createHealthActivities } from './health';
import { createInvoiceActivities } from './invoice';
import type { LinkStore } from '../store/links';
import { createOnboardingActivities } from './onboarding';
import { createPaymentActivities } from './payments';
import { createPollActivities } from './poll';
import type { QboTokenManager } from '../apis/quickbooks/tokens';
import type { QuickBooksClientDeps } from '../apis/quickbooks/client';
import type { ServiceM8ClientDeps } from '../apis/servicem8/client';
import type { Sm8AuthProvider } from '../apis/servicem8/auth';
import { createTaxActivities } from './tax';

export interface ActivityDeps {
  pool: Pool;
  store: ConnectionStore;
  links: LinkStore;
  governor: Governor;
  qboTokens: QboTokenManager;
  sm8Auth: Sm8AuthProvider;
  qboClientDeps(): QuickBooksClientDeps;
  sm8ClientDeps(): ServiceM8ClientDeps;
  /**
   * For activities that wake other workflows (TRG-2 poll routing): a client on the worker's own connection,
   * added by workers/sync-worker.ts when not given.
   */
  temporal?: Client;
}

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
