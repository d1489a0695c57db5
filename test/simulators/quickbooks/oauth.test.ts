import OAuthClient from 'intuit-oauth';
import {
  type RunningQuickBooksSimulator,
  startQuickBooksSimulator,
} from '../../../simulators/quickbooks/index';
import { NO_THROTTLE, apiClient, rawClient } from './helpers';

const DAY_MS = 24 * 3600 * 1000;
const REDIRECT = 'http://localhost:9999/callback';

describe('QBO simulator: OAuth 2.0', () => {
  let sim: RunningQuickBooksSimulator;

  beforeEach(async () => {
    sim = await startQuickBooksSimulator({ throttle: NO_THROTTLE });
  });
  afterEach(async () => {
    await sim.stop();
  });

  function client(): OAuthClient {
    const oauth = new OAuthClient({
      clientId: 'qbo-sim-client-id',
      clientSecret: 'qbo-sim-client-secret',
      environment: 'sandbox',
      redirectUri: REDIRECT,
    });
    oauth.setAuthorizeURLs(sim.oauthEndpoints);
    return oauth;
  }

  async function consent(oauth: OAuthClient): Promise<string> {
    const url = oauth.authorizeUri({
      scope: [OAuthClient.scopes.Accounting, OAuthClient.scopes.OpenId],
      state: 'csrf-123',
    });
    const response = await rawClient(sim).get(url);
    expect(response.status).toBe(302);
    return String(response.headers.location);
  }

  async function refreshAnswer(
    refreshToken: string,
  ): Promise<{ status: number; data: Record<string, unknown> }> {
    const basic = Buffer.from('qbo-sim-client-id:qbo-sim-client-secret').toString('base64');
    const response = await rawClient(sim).post(
      '/oauth2/v1/tokens/bearer',
      new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
      {
        headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      },
    );
    return { status: response.status, data: response.data as Record<string, unknown> };
  }

  it('intuit-oauth runs the whole flow: consent redirect, createToken, refresh, API call, revoke', async () => {
    const oauth = client();
    const callback = await consent(oauth);
    const params = new URL(callback).searchParams;
    expect(params.get('state')).toBe('csrf-123');
    expect(params.get('realmId')).toBe(sim.realmId);
    expect(params.get('code')).toBeTruthy();

    const created = await oauth.createToken(callback);
    const token = created.getJson() as Record<string, unknown>;
    expect(token.token_type).toBe('bearer');
    expect(token.expires_in).toBe(3600);
    expect(token.x_refresh_token_expires_in).toBe(8726400);
    expect(typeof token.id_token).toBe('string');
    expect(oauth.getToken().realmId).toBe(sim.realmId);

    const info = await apiClient(sim, String(token.access_token)).get(`/companyinfo/${sim.realmId}`);
    expect(info.status).toBe(200);

    const refreshed = await oauth.refreshUsingToken(String(token.refresh_token));
    const next = refreshed.getJson() as Record<string, unknown>;
    expect(next.access_token).not.toBe(token.access_token);
    expect(sim.control.stats().tokenRefreshes[sim.realmId]).toBe(1);

    await oauth.revoke({ refresh_token: String(next.refresh_token) });
    const after = await apiClient(sim, String(next.access_token)).get(`/companyinfo/${sim.realmId}`);
    expect(after.status).toBe(401);
    await expect(oauth.refreshUsingToken(String(next.refresh_token))).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('daily rotation: same value within 24 h, new value after; the superseded one gets invalid_grant (grace 0)', async () => {
    const oauth = client();
    const first = (await oauth.createToken(await consent(oauth))).getJson() as {
      access_token: string;
      refresh_token: string;
    };
    const sameDay = await refreshAnswer(first.refresh_token);
    expect(sameDay.data.refresh_token).toBe(first.refresh_token);

    sim.control.advanceClock(25 * 3600 * 1000);
    const rotated = await oauth.refreshUsingToken(first.refresh_token);
    const second = rotated.getJson() as { access_token: string; refresh_token: string };
    expect(second.refresh_token).not.toBe(first.refresh_token);
    await expect(oauth.refreshUsingToken(first.refresh_token)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    expect(sim.control.stats().invalidGrants).toBe(1);
  });

  it('every-refresh rotation with a grace window: the old value works until the grace ends', async () => {
    sim.control.configure({ refreshTokenRotation: 'every-refresh', refreshTokenGraceSeconds: 60 });
    const tokens = sim.control.issueTokens();
    const rotated = await refreshAnswer(tokens.refresh_token);
    expect(rotated.data.refresh_token).not.toBe(tokens.refresh_token);
    const withinGrace = await refreshAnswer(tokens.refresh_token);
    expect(withinGrace.status).toBe(200);
    sim.control.advanceClock(61_000);
    const late = await refreshAnswer(tokens.refresh_token);
    expect(late.status).toBe(400);
    expect(late.data.error).toBe('invalid_grant');
  });

  it('an authorization code is single-use; replaying it revokes the tokens it issued', async () => {
    const oauth = client();
    const callback = await consent(oauth);
    const token = (await oauth.createToken(callback)).getJson() as {
      access_token: string;
      refresh_token: string;
    };
    await expect(client().createToken(callback)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await apiClient(sim, token.access_token).get('/preferences')).status).toBe(401);
    expect((await refreshAnswer(token.refresh_token)).data.error).toBe('invalid_grant');
  });

  it('rejects bad client credentials (401 invalid_client) and unknown client ids at consent (400)', async () => {
    const bad = new OAuthClient({
      clientId: 'qbo-sim-client-id',
      clientSecret: 'wrong',
      environment: 'sandbox',
      redirectUri: REDIRECT,
    });
    bad.setAuthorizeURLs(sim.oauthEndpoints);
    const callback = await consent(client());
    const basic = Buffer.from('qbo-sim-client-id:wrong').toString('base64');
    const code = new URL(callback).searchParams.get('code') ?? '';
    const response = await rawClient(sim).post(
      '/oauth2/v1/tokens/bearer',
      new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT }).toString(),
      { headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded' } },
    );
    expect(response.status).toBe(401);
    expect(response.data).toEqual({ error: 'invalid_client' });
    const unknown = await rawClient(sim).get('/connect/oauth2', {
      params: {
        client_id: 'nobody',
        redirect_uri: REDIRECT,
        response_type: 'code',
        scope: 'com.intuit.quickbooks.accounting',
        state: 's',
      },
    });
    expect(unknown.status).toBe(400);
  });

  it('refresh tokens expire after 100 days unused, and a user disconnect revokes every token of the realm', async () => {
    const idle = sim.control.issueTokens();
    const active = sim.control.issueTokens();
    sim.control.advanceClock(60 * DAY_MS);
    const midway = await refreshAnswer(active.refresh_token);
    expect(midway.status).toBe(200);
    sim.control.advanceClock(41 * DAY_MS);
    expect((await refreshAnswer(idle.refresh_token)).data.error).toBe('invalid_grant');
    // Used 41 days ago: the rolling 100-day window keeps it alive.
    const stillActive = await refreshAnswer(String(midway.data.refresh_token));
    expect(stillActive.status).toBe(200);

    expect(sim.control.revokeRealmTokens()).toBeGreaterThan(0);
    expect((await refreshAnswer(String(stillActive.data.refresh_token))).data.error).toBe('invalid_grant');
    expect((await apiClient(sim, String(stillActive.data.access_token)).get('/preferences')).status).toBe(
      401,
    );
    expect(sim.control.stats().invalidGrantsByRealm[sim.realmId]).toBe(2);
  });

  it('a retried refresh after a lost response (commitThenDrop) replays the old value: OK only within the grace', async () => {
    sim.control.configure({ refreshTokenRotation: 'every-refresh' });
    const tokens = sim.control.issueTokens();
    sim.control.addFault({
      method: 'POST',
      path: '^/oauth2/v1/tokens/bearer',
      commitThenDrop: true,
      count: 1,
    });
    await expect(refreshAnswer(tokens.refresh_token)).rejects.toThrow();
    const retry = await refreshAnswer(tokens.refresh_token);
    expect(retry.data.error).toBe('invalid_grant');
    expect(sim.control.stats().tokenRefreshes[sim.realmId]).toBe(1);
  });

  it('serves userinfo for a valid access token and an OpenID discovery document with the simulator URLs', async () => {
    const oauth = client();
    await oauth.createToken(await consent(oauth));
    const info = await oauth.getUserInfo();
    expect((info.getJson() as { sub: string }).sub).toBe(`sim-user-${sim.realmId}`);
    const discovery = await rawClient(sim).get('/.well-known/openid_configuration');
    expect(discovery.data.token_endpoint).toBe(sim.oauthEndpoints.tokenEndpoint);
  });
});
