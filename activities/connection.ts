import { ServiceM8Client } from '../apis/servicem8/client';
import { QuickBooksClient } from '../apis/quickbooks/client';
import type { ActivityDeps } from './support/deps';
import type { ConnectionStatus } from '../store/connections';

export function createConnectionActivities(deps: ActivityDeps) {
  return {
    /** Current status, for workflows that wait on a connection (CON-3). */
    async getConnectionStatus(input: { connectionId: string }): Promise<ConnectionStatus> {
      return (await deps.store.require(input.connectionId)).status;
    },

    /** Proves both credentials work: reads QBO CompanyInfo and the SM8 account (vendor) record. */
    async checkConnection(input: {
      connectionId: string;
    }): Promise<{ qboCompanyName: string; realmId: string; sm8AccountName: string | null }> {
      const qbo = new QuickBooksClient(deps.qboClientDeps(), input.connectionId);
      const access = await deps.qboTokens.getAccess(input.connectionId);
      const info = await qbo.getCompanyInfo(access.realmId);
      let sm8AccountName: string | null = null;
      const summary = await deps.store.require(input.connectionId);
      if (summary.sm8AuthKind) {
        const sm8 = new ServiceM8Client(deps.sm8ClientDeps(), input.connectionId);
        const vendors = await sm8.list<{ name?: string }>('vendor');
        sm8AccountName = vendors[0]?.name ?? null;
      }
      return {
        qboCompanyName: String(info.CompanyInfo.CompanyName ?? ''),
        realmId: access.realmId,
        sm8AccountName,
      };
    },
  };
}
