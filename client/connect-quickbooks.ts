/**
 * Connecting QuickBooks by OAuth 2.0 (CON-1, intuit-oauth): where the browser consents, and the callback.
 * The OAuth state is consumed atomically before its code is exchanged, so a callback that arrives twice never
 * exchanges its code twice (Intuit treats a reused code as fraud and revokes the tokens). The callback's
 * `realmId` is checked against the company the new token can actually read before anything is stored.
 */
import axios from 'axios';
import OAuthClient from 'intuit-oauth';
import type { FastifyInstance } from 'fastify';
import type { QboToken } from '../store/connections';
import { consumeOAuthState } from '../store/oauth-states';
import { newOAuthClient, revokeQboToken, type QboOAuthSettings } from '../apis/quickbooks/tokens';
import { QBO_MINOR_VERSION } from '../apis/quickbooks/client';
import type { Config } from '../infra/config';
import type { AdminAuth } from './auth';
import { afterConnect, upstreamDetail, upstreamStatus, type ConnectDeps, type Log } from './connect-common';
import {
  callbackQuery,
  clearStateCookie,
  noStore,
  requireBrowserBinding,
  START_AGAIN,
} from './connect-links';

/** Where the browser is sent to consent to QuickBooks. */
export function qboAuthorizeUrl(qboOAuth: QboOAuthSettings, state: string): string {
  return newOAuthClient(qboOAuth).authorizeUri({ scope: [OAuthClient.scopes.Accounting], state });
}

/**
 * Whether the new access token reads the company the callback names. intuit-oauth takes `realmId` from the
 * callback URL, not from Intuit's answer, so the token itself is asked: another company answers 401/403.
 */
async function tokenReadsRealm(
  config: Config,
  realmId: string,
  accessToken: string,
): Promise<'yes' | 'no' | { status: number | undefined; detail: string }> {
  const realm = encodeURIComponent(realmId);
  // A person waits on this answer: a throttled or briefly failing QuickBooks (429, 5xx) is asked again for a
  // few seconds (its Retry-After honoured) before the connect is given up, so a busy company still connects.
  const deadline = Date.now() + REALM_CHECK_PATIENCE_MS;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await axios.get(`${config.qbo.apiBaseUrl}/v3/company/${realm}/companyinfo/${realm}`, {
        params: { minorversion: QBO_MINOR_VERSION },
        headers: { Authorization: `Bearer ${accessToken}`, Accept: 'application/json' },
        timeout: 30_000,
      });
      return 'yes';
    } catch (err) {
      const status = upstreamStatus(err);
      if (status === 401 || status === 403) return 'no';
      const wait = retryAfterMs(err) ?? Math.min(500 * 2 ** (attempt - 1), 4_000);
      const transient = status === 429 || (status !== undefined && status >= 500);
      if (!transient || Date.now() + wait > deadline) return { status, detail: upstreamDetail(err) };
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/** How long the connect callback keeps asking a throttled QuickBooks which company the token reads. */
const REALM_CHECK_PATIENCE_MS = 15_000;

/** A Retry-After header (seconds) of an HTTP error, in ms. */
function retryAfterMs(err: unknown): number | undefined {
  const header = axios.isAxiosError(err) ? err.response?.headers?.['retry-after'] : undefined;
  const seconds = Number(header);
  return header !== undefined && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** `GET /callback/quickbooks`: Intuit's redirect after consent (no admin token: the state and its cookie). */
export function registerQuickBooksCallback(
  app: FastifyInstance,
  deps: ConnectDeps,
  auth: AdminAuth,
  log: Log,
): void {
  const { config, pool, store } = deps;
  const qboCallback = { querystring: callbackQuery(['code', 'state', 'realmId']) };
  app.get('/callback/quickbooks', { schema: qboCallback, exposeHeadRoute: false }, async (req, reply) => {
    const q = req.query as { code: string; state: string; realmId: string; error?: string };
    noStore(reply);
    if (q.error)
      return reply.code(400).send({ error: `QuickBooks did not authorise the connection: ${q.error}` });
    requireBrowserBinding(auth, 'qbo', req, q.state);
    const connectionId = await consumeOAuthState(pool, 'qbo', q.state);
    if (!connectionId) {
      return reply
        .code(400)
        .send({ error: `this authorisation was already used or has expired: ${START_AGAIN}` });
    }
    void reply.header('Set-Cookie', clearStateCookie(auth, 'qbo'));
    const existing = await store.require(connectionId);
    if (existing.qboRealmId && existing.qboRealmId !== q.realmId) {
      return reply.code(409).send({
        error: `connection "${connectionId}" belongs to QuickBooks company ${existing.qboRealmId}, not ${q.realmId}`,
      });
    }
    const owner = await store.findByRealm(q.realmId);
    if (owner && owner.id !== connectionId) {
      return reply.code(409).send({
        error: `QuickBooks company ${q.realmId} is already connected as connection "${owner.id}"; reconnect that one instead`,
      });
    }
    const oauth = newOAuthClient(deps.qboOAuth);
    const callbackUrl = new URL(deps.qboOAuth.redirectUri);
    callbackUrl.search = new URLSearchParams({ code: q.code, state: q.state, realmId: q.realmId }).toString();
    try {
      await oauth.createToken(callbackUrl.toString());
    } catch (err) {
      const status = upstreamStatus(err);
      log.warn(`connect ${connectionId}: the QuickBooks token exchange failed: ${upstreamDetail(err)}`);
      return reply.code(502).send({
        error: `QuickBooks refused the authorisation code${status ? ` (HTTP ${status})` : ' (no answer)'}: ${START_AGAIN}`,
      });
    }
    const token = oauth.getToken().getToken() as QboToken;
    const reads = await tokenReadsRealm(config, q.realmId, token.access_token);
    if (reads !== 'yes') {
      // Nothing is stored; the unused authorisation is revoked so that it cannot linger at Intuit.
      await revokeQboToken(deps.qboOAuth, token.refresh_token).catch((err: unknown) =>
        log.warn(`connect ${connectionId}: revoking an unused QuickBooks token failed: ${String(err)}`),
      );
      if (reads === 'no')
        return reply.code(400).send({
          error: `QuickBooks authorised another company than the callback names (realmId ${q.realmId}); nothing was saved: ${START_AGAIN}`,
        });
      log.warn(`connect ${connectionId}: could not confirm QuickBooks company ${q.realmId}: ${reads.detail}`);
      return reply.code(502).send({
        error: `QuickBooks could not confirm the company${reads.status ? ` (HTTP ${reads.status})` : ' (no answer)'}; nothing was saved: ${START_AGAIN}`,
      });
    }
    await store.saveQboTokens(connectionId, q.realmId, {
      ...token,
      createdAt: token.createdAt || Date.now(),
    });
    const resumed = await afterConnect(deps, connectionId);
    return reply.send({
      connected: 'quickbooks',
      connection: connectionId,
      realmId: q.realmId,
      resumedWorkflows: resumed,
    });
  });
}
