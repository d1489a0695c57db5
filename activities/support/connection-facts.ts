/**
 * Connection facts as activities use them (issue 12): read from PostgreSQL (store/connection-facts.ts);
 * a part nobody has read yet, or one a caller knows is stale (a miss, a refusal), is read from the API
 * once and stored for every later export. The tax poll stores the tax parts after each pass
 * (activities/tax.ts), so exports normally make no call for them at all.
 */
import type { Sm8TaxRate } from '../../domain/servicem8-types';
import { defaultIncomeAccount, qboTaxCodes, qboTaxModel } from '../../apis/quickbooks/lookups';
import { QuickBooksClient } from '../../apis/quickbooks/client';
import { ServiceM8Client } from '../../apis/servicem8/client';
import {
  loadConnectionFacts,
  saveConnectionFacts,
  type ConnectionFacts,
  type FactName,
} from '../../store/connection-facts';
import type { ActivityDeps } from './deps';

export type { ConnectionFacts, FactName } from '../../store/connection-facts';

/** Reads one part from the API. */
async function readPart(deps: ActivityDeps, connectionId: string, name: FactName): Promise<ConnectionFacts> {
  const qbo = () => new QuickBooksClient(deps.qboClientDeps(), connectionId);
  switch (name) {
    case 'taxModel': {
      const access = await deps.qboTokens.getAccess(connectionId);
      return { taxModel: await qboTaxModel(qbo(), access.realmId) };
    }
    case 'taxCodes':
      return { taxCodes: await qboTaxCodes(qbo()) };
    case 'sm8TaxRates': {
      const sm8 = new ServiceM8Client(deps.sm8ClientDeps(), connectionId);
      return { sm8TaxRates: await sm8.list<Sm8TaxRate>('taxrate') };
    }
    case 'incomeAccountId':
      // The company's own default; a connection setting (invoiceSettings) is read before this, per use.
      return { incomeAccountId: await defaultIncomeAccount(qbo()) };
    case 'paymentMethods': {
      const methods = await qbo().query<'PaymentMethod', { Id: string; Name: string }>(
        'PaymentMethod',
        'SELECT * FROM PaymentMethod',
      );
      return { paymentMethods: methods.map((m) => ({ Id: m.Id, Name: m.Name })) };
    }
  }
}

/**
 * The facts `need` names, each from the cache unless absent or listed in `refresh` (then read once and
 * stored). Returns every stored part (with the ones just read).
 */
export async function connectionFacts(
  deps: ActivityDeps,
  connectionId: string,
  need: FactName[],
  refresh: FactName[] = [],
): Promise<ConnectionFacts> {
  const stored = (await loadConnectionFacts(deps.pool, connectionId))?.facts ?? {};
  const missing = need.filter((n) => refresh.includes(n) || stored[n] === undefined);
  if (!missing.length) return stored;
  const read: ConnectionFacts = {};
  for (const name of missing) Object.assign(read, await readPart(deps, connectionId, name));
  await saveConnectionFacts(deps.pool, connectionId, read);
  return { ...stored, ...read };
}
