/**
 * PLACEHOLDER for the tax code sync (TAX-1 … TAX-3), which another branch implements in this file.
 * The lead replaces this file with the real one at merge: keep `syncTaxCodes`' signature exact and put
 * nothing else here. This minimal version only LINKS the existing ServiceM8 tax rates to the active
 * QuickBooks tax codes of the same name and total rate (the rule of resolveTaxCodes), so that onboarding
 * (CM-1) can map an item's SalesTaxCodeRef to a ServiceM8 tax rate. It creates and changes nothing:
 * `updated` counts rates newly linked, `unchanged` the rest.
 */
import type { Sm8TaxRate } from '../domain/servicem8-types';
import { flag } from '../domain/servicem8-types';
import type { ActivityDeps } from './index';
import { qboTaxCodes, resolveTaxCodes } from './qbo-lookups';
import { QuickBooksClient } from './quickbooks-client';
import { ServiceM8Client } from './servicem8-client';

export function createTaxActivities(deps: ActivityDeps) {
  return {
    async syncTaxCodes(input: {
      connectionId: string;
    }): Promise<{ created: number; updated: number; deactivated: number; unchanged: number }> {
      const qbo = new QuickBooksClient(deps.qboClientDeps(), input.connectionId);
      const sm8 = new ServiceM8Client(deps.sm8ClientDeps(), input.connectionId);
      const rates = (await sm8.list<Sm8TaxRate>('taxrate')).filter((r) => flag(r.active));
      const codes = await qboTaxCodes(qbo);
      let before = 0;
      for (const r of rates) if (await deps.links.bySm8(input.connectionId, 'taxcode', r.uuid)) before += 1;
      await resolveTaxCodes(input.connectionId, rates, codes, deps.links);
      let after = 0;
      for (const r of rates) if (await deps.links.bySm8(input.connectionId, 'taxcode', r.uuid)) after += 1;
      return {
        created: 0,
        updated: after - before,
        deactivated: 0,
        unchanged: rates.length - (after - before),
      };
    },
  };
}
