/**
 * What every activity factory is built from (Temporal's activities-dependency-injection pattern); the
 * composition roots in workers/ fill it in. Its own file, so activity files need not import activities/index.ts.
 */
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Governor } from '../../apis/governor/governor';
import type { QuickBooksClientDeps } from '../../apis/quickbooks/client';
import type { QboTokenManager } from '../../apis/quickbooks/tokens';
import type { Sm8AuthProvider } from '../../apis/servicem8/auth';
import type { ServiceM8ClientDeps } from '../../apis/servicem8/client';
import type { ConnectionStore } from '../../store/connections';
import type { LinkStore } from '../../store/links';

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
