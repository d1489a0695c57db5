/** QuickBooks records made as a bookkeeper would make them in the QuickBooks UI (simulator control API). */
import { ACCOUNT_IDS, type RunningQuickBooksSimulator } from '../../simulators/quickbooks';
import type { Json } from '../../simulators/quickbooks/types';

/** An invoice born in QuickBooks (INV-8): it never came from ServiceM8, so it has no link. */
export function qboBornInvoice(qbo: RunningQuickBooksSimulator, realm: string, customerName: string): Json {
  const customer = qbo.control.upsertRecord('Customer', { DisplayName: customerName }, realm);
  const itemName = 'Counter sale';
  const item =
    qbo.control.listRecords('Item', realm).find((i) => i.Name === itemName) ??
    qbo.control.upsertRecord(
      'Item',
      { Name: itemName, Type: 'Service', IncomeAccountRef: { value: ACCOUNT_IDS.services } },
      realm,
    );
  return qbo.control.upsertRecord(
    'Invoice',
    {
      CustomerRef: { value: customer.Id },
      Line: [
        {
          Amount: 9,
          DetailType: 'SalesItemLineDetail',
          SalesItemLineDetail: { ItemRef: { value: item.Id }, TaxCodeRef: { value: '4' } },
        },
      ],
    },
    realm,
  );
}
