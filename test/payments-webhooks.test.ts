/**
 * Payments through real webhooks (TRG-1 with PAY-1 … PAY-5): both simulators deliver to the API, the inbox
 * routes payment events through `sm8:jobpayment` / `qbo:payment`, and our own writes come back as webhooks
 * (echoes) exactly as in production. No test signals a workflow by hand.
 */
import crypto from 'node:crypto';
import axios from 'axios';
import type { Json } from '../simulators/quickbooks/types';
import type { PaymentsStatus } from '../workflows/messages';
import {
  activeSm8Cents,
  payStatus,
  qboPaymentsMarked,
  sm8PaymentsOf,
  startPaymentWorld,
} from './helpers/payments';
import type { Sm8Fixtures } from './helpers/sm8-fixtures';
import type { World } from './helpers/world';
import { waitFor } from './helpers/wait';

const CONN = 'payhooks';
let w: World;
let f: Sm8Fixtures;
let realm: string;

beforeAll(async () => {
  ({ w, f, realm } = await startPaymentWorld(CONN, { webhooks: true, env: { LOG_LEVEL: 'error' } }));
});
afterAll(async () => {
  await w?.close();
});

/** Every webhook delivered and routed, the owner idle, and nothing moving for a while. */
async function quiet(job: string): Promise<PaymentsStatus> {
  let last = '';
  let stableSince = Date.now();
  return waitFor(
    'quiet',
    async () => {
      await w.sm8.control.webhooks.idle();
      const pending = await w.h.pool.query(
        `SELECT count(*)::int AS n FROM webhook_inbox WHERE connection_id = $1 AND state = 'pending'`,
        [CONN],
      );
      const s = await payStatus(job);
      const now = JSON.stringify([s.syncs, s.idle, pending.rows[0]?.n]);
      if (now !== last) {
        last = now;
        stableSince = Date.now();
        return false;
      }
      return s.idle && pending.rows[0]?.n === 0 && Date.now() - stableSince > 2500 && s;
    },
    90_000,
  );
}

it('PAY-1, PAY-2, PAY-3, PAY-4, PAY-5 through webhooks: both directions, echoes die, nothing twice', async () => {
  const client = f.client('Webhook Payments Pty');
  const job = f.job({ clientUuid: client, lines: [{ name: 'Labour', qty: '2', unit: '90', tax: 'GST' }] });
  const invoice = await waitFor('the export', async () =>
    w.qbo.store.list('Invoice', realm).find((i) => String(i.PrivateNote ?? '').includes(job)),
  );

  // ServiceM8 user records a payment: it reaches QuickBooks through the jobpayment webhook.
  const paid = crypto.randomUUID();
  w.sm8.control.insert('jobpayment', {
    uuid: paid,
    job_uuid: job,
    amount: '70.00',
    timestamp: '2026-11-23 09:00:00',
    method: 'EFTPOS',
    active: 1,
  });
  await waitFor('the payment in QuickBooks', async () => qboPaymentsMarked(paid).length === 1);

  // The bookkeeper records a payment in QuickBooks: it reaches ServiceM8 through the Payment webhook.
  const bookkeeper = w.qbo.control.upsertRecord(
    'Payment',
    {
      CustomerRef: invoice.CustomerRef,
      TotalAmt: 28,
      Line: [{ Amount: 28, LinkedTxn: [{ TxnId: invoice.Id, TxnType: 'Invoice' }] }],
    },
    realm,
  );
  await waitFor('the mirrored payment', async () => sm8PaymentsOf(job).length === 2);
  const settled = await quiet(job);
  // PAY-5: the echoes of both writes were delivered and routed, and changed nothing.
  expect(qboPaymentsMarked(paid)).toHaveLength(1);
  expect(w.qbo.store.list('Payment', realm)).toHaveLength(2);
  expect(sm8PaymentsOf(job)).toHaveLength(2);
  expect(settled).toMatchObject({ state: 'IN_STEP', sm8PaidCents: 9800, qboPaidCents: 9800 });
  const echoes = await w.h.pool.query(
    `SELECT count(*)::int AS n FROM webhook_inbox WHERE connection_id = $1 AND entity IN ('payment', 'jobpayment')`,
    [CONN],
  );
  expect(echoes.rows[0]?.n).toBeGreaterThanOrEqual(3);

  // PAY-3: the bookkeeper deletes their payment in QuickBooks.
  const p = w.qbo.store.get('Payment', String(bookkeeper.Id), realm) as Json;
  const access = await w.h.deps.qboTokens.getAccess(CONN);
  await axios.post(
    `${w.qbo.url}/v3/company/${realm}/payment?operation=delete`,
    { Id: p.Id, SyncToken: p.SyncToken },
    { headers: { Authorization: `Bearer ${access.accessToken}` } },
  );
  await waitFor('the mirrored payment to go', async () => activeSm8Cents(job) === 7000);

  // PAY-4: the ServiceM8 user deletes the payment that was sent: it comes back, with one note.
  w.sm8.control.update('jobpayment', paid, { active: 0 });
  await waitFor('the restore', async () => w.sm8.store.get('jobpayment', paid)?.active === 1);
  const end = await quiet(job);
  expect(end).toMatchObject({ state: 'IN_STEP', sm8PaidCents: 7000, qboPaidCents: 7000 });
  expect(f.notesOf(job).filter((n) => n.includes('Payments must be deleted in QuickBooks'))).toHaveLength(1);
  expect(qboPaymentsMarked(paid)).toHaveLength(1);
}, 180_000);
