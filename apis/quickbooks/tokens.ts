/**
 * QuickBooks tokens that refresh themselves (CON-2) without ever losing a rotated refresh token.
 *
 * - A token is refreshed shortly before it expires, inside the activity that needs it.
 * - At most one refresh per connection runs at a time across all processes: the refresher holds the
 *   connection row's lock (SELECT … FOR UPDATE), re-reads the row under it (someone may have refreshed
 *   meanwhile) and stores the rotated refresh token in the same transaction as the refresh.
 *   Inside one process, callers also share one in-flight refresh, so 20 activities cost one refresh.
 * - intuit-oauth's own token-endpoint retries are switched off: a retried POST would replay a refresh
 *   token that Intuit may already have superseded. Our retries happen under the lock, after a re-read.
 * - invalid_grant: re-read once (another worker may have rotated the token); if nobody did, mark the
 *   connection needs_reauth and raise ConnectionNeedsReauth, which makes workflows wait (CON-3).
 */
import OAuthClient from 'intuit-oauth';
import type { Pool } from 'pg';
import { withTransaction } from '../../infra/database';
import { SingleFlight } from '../../infra/single-flight';
import { classifyApiError, connectionNeedsReauth, connectionPaused } from '../errors';
import type { ConnectionStore, QboToken } from '../../store/connections';

export interface QboOAuthSettings {
  clientId: string;
  clientSecret: string;
  environment: 'sandbox' | 'production';
  redirectUri: string;
  authorizeUrl: string;
  tokenUrl: string;
  revokeUrl: string;
}

/** Points intuit-oauth at the configured endpoints (real Intuit or the simulator) and disables its retries. */
export function configureIntuitOAuth(settings: QboOAuthSettings): void {
  OAuthClient.retryConfig.maxRetries = 0;
  OAuthClient.authorizeEndpoint = settings.authorizeUrl;
  OAuthClient.tokenEndpoint = settings.tokenUrl;
  OAuthClient.revokeEndpoint = settings.revokeUrl;
}

export function newOAuthClient(settings: QboOAuthSettings): OAuthClient {
  configureIntuitOAuth(settings);
  return new OAuthClient({
    clientId: settings.clientId,
    clientSecret: settings.clientSecret,
    environment: settings.environment,
    redirectUri: settings.redirectUri,
  });
}

/**
 * Revokes a connection's authorisation at Intuit (its refresh token ends the whole grant: every access
 * token of it stops working). Gives up after `timeoutMs`: a disconnect does not wait on Intuit for long.
 */
export async function revokeQboToken(
  settings: QboOAuthSettings,
  refreshToken: string,
  timeoutMs = 15_000,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Intuit within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([newOAuthClient(settings).revoke({ refresh_token: refreshToken }), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function isInvalidGrant(err: unknown): boolean {
  const e = err as { error?: unknown; message?: unknown; authResponse?: { body?: unknown } } | null;
  if (!e) return false;
  const texts = [e.error, e.message, e.authResponse?.body].map((v) =>
    typeof v === 'string' ? v : JSON.stringify(v ?? ''),
  );
  return texts.some((t) => t.includes('invalid_grant'));
}

/**
 * Refreshes this long before expiry, so a token never expires in the middle of a call: 5 minutes of
 * Intuit's hour, or a tenth of a shorter lifetime.
 */
function refreshMarginMs(token: QboToken): number {
  return Math.min(5 * 60_000, token.expires_in * 100);
}

export interface QboAccess {
  accessToken: string;
  realmId: string;
}

export class QboTokenManager {
  private readonly refreshes = new SingleFlight<QboAccess>();
  private refreshCount = 0;

  constructor(
    private readonly pool: Pool,
    private readonly store: ConnectionStore,
    private readonly settings: QboOAuthSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /** Refreshes performed by this process (for tests and metrics). */
  get refreshesPerformed(): number {
    return this.refreshCount;
  }

  private fresh(token: QboToken): boolean {
    return token.createdAt + token.expires_in * 1000 - refreshMarginMs(token) > this.now();
  }

  /** A valid access token for the connection, refreshing it first when it is about to expire. */
  async getAccess(connectionId: string): Promise<QboAccess> {
    const { realmId, token, status } = await this.store.readQboTokens(connectionId);
    this.assertUsable(connectionId, status);
    if (this.fresh(token)) return { accessToken: token.access_token, realmId };
    return this.refreshOnce(connectionId, token.access_token);
  }

  /**
   * After a 401: refresh unless someone already replaced the access token that was refused.
   * Returns the access token to retry with.
   */
  async refreshAfterUnauthorized(connectionId: string, refusedAccessToken: string): Promise<QboAccess> {
    return this.refreshOnce(connectionId, refusedAccessToken);
  }

  private assertUsable(connectionId: string, status: string): void {
    if (status === 'needs_reauth' || status === 'disconnected') {
      throw connectionNeedsReauth(connectionId, `the connection is ${status}`);
    }
    if (status === 'paused') throw connectionPaused(connectionId);
  }

  private refreshOnce(connectionId: string, staleAccessToken: string): Promise<QboAccess> {
    return this.refreshes.run(connectionId, () => this.refreshUnderLock(connectionId, staleAccessToken));
  }

  private async refreshUnderLock(connectionId: string, staleAccessToken: string): Promise<QboAccess> {
    type Outcome = { kind: 'ok'; access: QboAccess } | { kind: 'invalid_grant'; version: number };
    const outcome = await withTransaction(this.pool, async (client): Promise<Outcome> => {
      const current = await this.store.readQboTokens(connectionId, client, true);
      this.assertUsable(connectionId, current.status);
      if (current.token.access_token !== staleAccessToken && this.fresh(current.token)) {
        // Another worker refreshed while we waited for the lock.
        return { kind: 'ok', access: { accessToken: current.token.access_token, realmId: current.realmId } };
      }
      const oauth = newOAuthClient(this.settings);
      try {
        await oauth.refreshUsingToken(current.token.refresh_token);
      } catch (err) {
        if (isInvalidGrant(err)) return { kind: 'invalid_grant', version: current.version };
        throw classifyApiError('qbo', err);
      }
      const next = oauth.getToken().getToken() as QboToken;
      const token: QboToken = {
        access_token: next.access_token,
        refresh_token: next.refresh_token || current.token.refresh_token,
        token_type: next.token_type,
        expires_in: next.expires_in,
        x_refresh_token_expires_in: next.x_refresh_token_expires_in,
        createdAt: next.createdAt || this.now(),
      };
      await this.store.saveQboTokens(connectionId, current.realmId, token, client);
      this.refreshCount += 1;
      return { kind: 'ok', access: { accessToken: token.access_token, realmId: current.realmId } };
    });

    if (outcome.kind === 'ok') return outcome.access;
    // invalid_grant: a sibling may have rotated the token after our read; look once more before giving up.
    const again = await this.store.readQboTokens(connectionId);
    if (again.version !== outcome.version && this.fresh(again.token)) {
      return { accessToken: again.token.access_token, realmId: again.realmId };
    }
    await this.store.qboRefreshRefused(
      connectionId,
      outcome.version,
      'QuickBooks refused the refresh token (invalid_grant): reconnect QuickBooks',
    );
    throw connectionNeedsReauth(connectionId, 'QuickBooks refused the refresh token (invalid_grant)');
  }
}
