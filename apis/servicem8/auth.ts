/**
 * ServiceM8 credentials: an API key (never expires) or OAuth tokens refreshed before expiry, one
 * refresh per connection at a time (row lock + re-read, like QuickBooks, see apis/quickbooks/tokens.ts).
 * Whether ServiceM8 rotates refresh tokens is unconfirmed: we keep the old one when none is returned.
 */
import axios from 'axios';
import type { Pool } from 'pg';
import { withTransaction } from '../../infra/database';
import { SingleFlight } from '../../infra/single-flight';
import { classifyApiError, connectionNeedsReauth, connectionPaused } from '../errors';
import type { ConnectionStore, Sm8Credentials } from '../../store/connections';

export interface Sm8OAuthSettings {
  clientId: string | undefined;
  clientSecret: string | undefined;
  tokenUrl: string;
}

const REFRESH_MARGIN_MS = 2 * 60_000;

export class Sm8AuthProvider {
  private readonly refreshes = new SingleFlight<Record<string, string>>();

  constructor(
    private readonly pool: Pool,
    private readonly store: ConnectionStore,
    private readonly settings: Sm8OAuthSettings,
    private readonly now: () => number = Date.now,
  ) {}

  private headersFor(creds: Sm8Credentials): Record<string, string> {
    return creds.kind === 'api_key'
      ? { 'X-Api-Key': creds.apiKey }
      : { Authorization: `Bearer ${creds.accessToken}` };
  }

  async headers(connectionId: string): Promise<Record<string, string>> {
    const summary = await this.store.require(connectionId);
    if (summary.status === 'paused') throw connectionPaused(connectionId);
    if (summary.status === 'needs_reauth' || summary.status === 'disconnected') {
      throw connectionNeedsReauth(connectionId, `the connection is ${summary.status}`);
    }
    const creds = await this.store.readSm8Credentials(connectionId);
    if (creds.kind === 'api_key' || creds.expiresAt - REFRESH_MARGIN_MS > this.now())
      return this.headersFor(creds);
    return this.refresh(connectionId, creds.accessToken);
  }

  /** After a 401 (or near expiry): refresh unless the refused token was already replaced. */
  refresh(connectionId: string, staleAccessToken: string | null): Promise<Record<string, string>> {
    return this.refreshes.run(connectionId, () => this.refreshUnderLock(connectionId, staleAccessToken));
  }

  private async refreshUnderLock(
    connectionId: string,
    stale: string | null,
  ): Promise<Record<string, string>> {
    type Outcome =
      { kind: 'headers'; headers: Record<string, string> } | { kind: 'api_key_refused' | 'invalid_grant' };
    const outcome = await withTransaction(this.pool, async (client): Promise<Outcome> => {
      const creds = await this.store.readSm8Credentials(connectionId, client, true);
      if (creds.kind === 'api_key') {
        // An API key that is refused cannot be refreshed: the user must enter a new one.
        await this.store.markNeedsReauth(
          connectionId,
          'ServiceM8 refused the API key: enter a new key',
          client,
        );
        return { kind: 'api_key_refused' };
      }
      if (creds.accessToken !== stale && creds.expiresAt - REFRESH_MARGIN_MS > this.now()) {
        return { kind: 'headers', headers: this.headersFor(creds) };
      }
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: creds.refreshToken,
        client_id: this.settings.clientId ?? '',
        client_secret: this.settings.clientSecret ?? '',
      });
      try {
        const res = await axios.post<{
          access_token: string;
          refresh_token?: string;
          expires_in: number;
          scope?: string;
        }>(this.settings.tokenUrl, form.toString(), {
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          timeout: 30_000,
        });
        const next: Sm8Credentials = {
          kind: 'oauth',
          accessToken: res.data.access_token,
          refreshToken: res.data.refresh_token ?? creds.refreshToken,
          expiresAt: this.now() + res.data.expires_in * 1000,
          scope: res.data.scope ?? creds.scope,
        };
        await this.store.saveSm8Credentials(connectionId, next, client);
        return { kind: 'headers', headers: this.headersFor(next) };
      } catch (err) {
        const body = axios.isAxiosError(err) ? JSON.stringify(err.response?.data ?? '') : '';
        if (!body.includes('invalid_grant')) throw classifyApiError('sm8', err);
        return { kind: 'invalid_grant' };
      }
    });
    if (outcome.kind === 'headers') return outcome.headers;
    if (outcome.kind === 'api_key_refused')
      throw connectionNeedsReauth(connectionId, 'ServiceM8 refused the API key');
    await this.store.setStatus(
      connectionId,
      'needs_reauth',
      'ServiceM8 refused the refresh token (invalid_grant): reconnect ServiceM8',
    );
    throw connectionNeedsReauth(connectionId, 'ServiceM8 refused the refresh token (invalid_grant)');
  }
}
