/**
 * What the invoice activities share (activities/invoice*.ts): the connection settings they read and the
 * shape of a business refusal.
 */
import type { Reason } from '../domain/invoice/reasons';
import type { ConnectionStore } from '../store/connections';

/** A business refusal of an invoice step: an INV-3 reason for the bookkeeper, not a failure. */
export type Refusal = { ok: false; reason: Reason };

/** The connection settings the invoice activities read (DocNumber prefix, income account of new items). */
export async function invoiceSettings(
  store: ConnectionStore,
  connectionId: string,
): Promise<{ docNumberPrefix: string; incomeAccountId?: string }> {
  const s = await store.settings(connectionId);
  return {
    docNumberPrefix: typeof s.docNumberPrefix === 'string' ? s.docNumberPrefix : '',
    incomeAccountId: typeof s.incomeAccountId === 'string' ? s.incomeAccountId : undefined,
  };
}
