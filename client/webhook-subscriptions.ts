/**
 * TRG-3: connecting ServiceM8 registers the object webhooks the sync needs.
 *
 * ServiceM8 signs nothing, so each connection's callback URL carries a random secret
 * (`/webhooks/servicem8/<secret>`). Only its sha256 is stored (`connections.sm8_webhook_secret_hash`); the
 * clear secret lives only in the URL registered at ServiceM8. Re-running finds that URL again in
 * ServiceM8's subscription list (unique_id = connection id) and re-posts the same object + callback_url,
 * which ServiceM8 treats as "modify": no duplicates, and a subscription ServiceM8 deactivated is revived.
 * Subscriptions of this connection under an older secret or base URL are removed.
 *
 * ServiceM8 performs the challenge handshake against the callback before it activates a subscription,
 * so the API must be listening and the secret's hash committed before we subscribe.
 */
import crypto from 'node:crypto';
import type { ConnectionStore } from '../store/connections';
import { ServiceM8Client, type ServiceM8ClientDeps, type ServiceM8Object } from '../apis/servicem8/client';
import { sm8SecretHash } from './webhook-routes';

/** What the sync watches. Job drives invoices today; the others are for the payment/client/item issues. */
export const SM8_SUBSCRIPTIONS: ReadonlyArray<{ object: ServiceM8Object; fields: readonly string[] }> = [
  {
    object: 'job',
    fields: ['status', 'payment_processed', 'total_invoice_amount', 'invoice_sent', 'active', 'company_uuid'],
  },
  { object: 'jobpayment', fields: ['job_uuid', 'amount', 'timestamp', 'method', 'active'] },
  {
    object: 'company',
    fields: [
      'name',
      'address_street',
      'address_city',
      'address_state',
      'address_postcode',
      'address_country',
      'billing_address',
      'active',
    ],
  },
  // CM-2: a client's email and phone live on its contacts.
  {
    object: 'companycontact',
    fields: ['company_uuid', 'first', 'last', 'email', 'phone', 'mobile', 'type', 'active'],
  },
  {
    object: 'material',
    fields: ['name', 'item_number', 'price', 'cost', 'tax_rate_uuid', 'item_description', 'active'],
  },
  { object: 'taxrate', fields: ['name', 'amount', 'active'] },
];

export interface Sm8SubscriptionDeps {
  store: ConnectionStore;
  /** PUBLIC_BASE_URL: where ServiceM8 reaches this API. */
  publicBaseUrl: string;
  sm8ClientDeps(): ServiceM8ClientDeps;
}

export interface Sm8SubscriptionResult {
  /** The callback URL with its secret masked (safe to show and log). */
  callbackUrl: string;
  objects: string[];
  secretCreated: boolean;
  staleRemoved: number;
}

const CALLBACK_PATH = '/webhooks/servicem8/';
const SECRET_IN_URL = /\/webhooks\/servicem8\/([A-Za-z0-9_-]+)\/?$/;

function secretOf(url: string | undefined): string | null {
  return url ? (SECRET_IN_URL.exec(url)?.[1] ?? null) : null;
}

export async function ensureServiceM8Subscriptions(
  deps: Sm8SubscriptionDeps,
  connectionId: string,
): Promise<Sm8SubscriptionResult> {
  const base = deps.publicBaseUrl.replace(/\/+$/, '');
  // One run per connection at a time (two runs could otherwise each mint a secret).
  return deps.store.withSm8WebhookSecret(connectionId, async (storedHash, saveHash) => {
    const client = new ServiceM8Client(deps.sm8ClientDeps(), connectionId);
    const ours = (await client.listWebhookSubscriptions()).filter((s) => s.unique_id === connectionId);
    let secret = storedHash
      ? (ours.map((s) => secretOf(s.callback_url)).find((x) => x && sm8SecretHash(x) === storedHash) ?? null)
      : null;
    const secretCreated = secret === null;
    if (secret === null) {
      secret = crypto.randomBytes(32).toString('base64url');
      await saveHash(sm8SecretHash(secret));
    }
    const callbackUrl = `${base}${CALLBACK_PATH}${secret}`;
    for (const s of SM8_SUBSCRIPTIONS) {
      await client.subscribeWebhook(s.object, [...s.fields], callbackUrl, connectionId);
    }
    // Ours under an older secret or base URL: their deliveries would be refused (404) or go elsewhere.
    let staleRemoved = 0;
    for (const s of ours) {
      if (!s.callback_url || s.callback_url === callbackUrl || !s.object) continue;
      await client
        .unsubscribeWebhook(s.object, s.callback_url, connectionId)
        .then(() => (staleRemoved += 1))
        .catch(() => undefined); // best effort: ServiceM8 deactivates failing subscriptions itself
    }
    return {
      callbackUrl: `${base}${CALLBACK_PATH}…`,
      objects: SM8_SUBSCRIPTIONS.map((s) => s.object),
      secretCreated,
      staleRemoved,
    };
  });
}
