/**
 * Payment links (PAY-1 … PAY-6, table `payment_links`): one row per ServiceM8 payment and per QuickBooks
 * application of a payment to an exported invoice, with the fingerprints of both sides as last synced.
 */
import type { Pool, PoolClient } from 'pg';
import type { PaymentLinkView, PaymentOrigin } from '../domain/payments';

type Db = Pool | PoolClient;

export interface PaymentLinkInput {
  connectionId: string;
  origin: PaymentOrigin;
  sm8Uuid: string;
  qboPaymentId: string | null;
  qboInvoiceId: string;
  jobUuid: string;
  amountCents: number;
  state: 'linked' | 'deleted';
  fingerprint: string | null;
}

/** Records (or refreshes) the link of one ServiceM8 payment. One link per ServiceM8 payment and per QBO application. */
export async function savePaymentLink(db: Db, input: PaymentLinkInput): Promise<void> {
  await db.query(
    `INSERT INTO payment_links (connection_id, origin, sm8_payment_uuid, qbo_payment_id, qbo_invoice_id, job_uuid,
                                  amount_cents, state, sm8_fingerprint, qbo_fingerprint)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
       ON CONFLICT (connection_id, sm8_payment_uuid) DO UPDATE SET
         qbo_payment_id = COALESCE(EXCLUDED.qbo_payment_id, payment_links.qbo_payment_id),
         amount_cents = EXCLUDED.amount_cents, state = EXCLUDED.state,
         sm8_fingerprint = COALESCE(EXCLUDED.sm8_fingerprint, payment_links.sm8_fingerprint),
         qbo_fingerprint = COALESCE(EXCLUDED.qbo_fingerprint, payment_links.qbo_fingerprint),
         updated_at = now()`,
    [
      input.connectionId,
      input.origin,
      input.sm8Uuid,
      input.qboPaymentId,
      input.qboInvoiceId,
      input.jobUuid,
      input.amountCents,
      input.state,
      input.fingerprint,
    ],
  );
}

/** The links of one job's exported invoice, oldest first. */
export async function paymentLinksOfInvoice(
  db: Db,
  connectionId: string,
  jobUuid: string,
  qboInvoiceId: string,
): Promise<PaymentLinkView[]> {
  const r = await db.query<{
    sm8_payment_uuid: string;
    qbo_payment_id: string | null;
    origin: PaymentOrigin;
    state: 'linked' | 'deleted';
    sm8_fingerprint: string | null;
    qbo_fingerprint: string | null;
  }>(
    `SELECT sm8_payment_uuid, qbo_payment_id, origin, state, sm8_fingerprint, qbo_fingerprint FROM payment_links
        WHERE connection_id = $1 AND job_uuid = $2 AND qbo_invoice_id = $3 ORDER BY id`,
    [connectionId, jobUuid, qboInvoiceId],
  );
  return r.rows.map((row): PaymentLinkView => ({
    sm8Uuid: row.sm8_payment_uuid,
    qboPaymentId: row.qbo_payment_id,
    origin: row.origin,
    state: row.state,
    sm8Fingerprint: row.sm8_fingerprint,
    qboFingerprint: row.qbo_fingerprint,
  }));
}

/** The QuickBooks payment a ServiceM8 payment is linked to (null: no link, or a link without one yet). */
export async function linkedQboPayment(
  db: Db,
  connectionId: string,
  sm8Uuid: string,
): Promise<string | null> {
  const existing = await db.query<{ qbo_payment_id: string | null }>(
    'SELECT qbo_payment_id FROM payment_links WHERE connection_id = $1 AND sm8_payment_uuid = $2',
    [connectionId, sm8Uuid],
  );
  return existing.rows[0]?.qbo_payment_id ?? null;
}

/** The ServiceM8 payment linked to one QuickBooks payment's application to one invoice, if any. */
export async function linkedSm8Payment(
  db: Db,
  connectionId: string,
  qboPaymentId: string,
  qboInvoiceId: string,
): Promise<string | null> {
  const found = await db.query<{ sm8_payment_uuid: string }>(
    `SELECT sm8_payment_uuid FROM payment_links
          WHERE connection_id = $1 AND qbo_payment_id = $2 AND qbo_invoice_id = $3`,
    [connectionId, qboPaymentId, qboInvoiceId],
  );
  return found.rows[0]?.sm8_payment_uuid ?? null;
}

/** PAY-3: the ServiceM8 payment is gone; its link stays, marked deleted. */
export async function markPaymentLinkDeleted(db: Db, connectionId: string, sm8Uuid: string): Promise<void> {
  await db.query(
    `UPDATE payment_links SET state = 'deleted', updated_at = now()
          WHERE connection_id = $1 AND sm8_payment_uuid = $2`,
    [connectionId, sm8Uuid],
  );
}

/** Jobs whose payments a stored link ties to this record (a ServiceM8 payment uuid or a QuickBooks payment Id). */
export async function jobsOfLinkedPayment(
  db: Db,
  connectionId: string,
  column: 'sm8_payment_uuid' | 'qbo_payment_id',
  id: string,
): Promise<string[]> {
  const r = await db.query<{ job_uuid: string }>(
    `SELECT DISTINCT job_uuid FROM payment_links WHERE connection_id = $1 AND ${column} = $2`,
    [connectionId, id],
  );
  return r.rows.map((row) => row.job_uuid);
}
