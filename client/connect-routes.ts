/**
 * Connect flows (CON-1): QuickBooks by OAuth 2.0 (intuit-oauth), ServiceM8 by API key or OAuth 2.0.
 *
 * An administrator (admin token in the Authorization header, never in a URL) asks for a connect link:
 * `POST /connect/quickbooks {connection, name}` answers `{url}`, a short-lived, single-use link signed with
 * a key derived from the admin token. A person opens it in a browser: `GET /connect/quickbooks/start?link=`
 * needs no token, creates the connection, stores the OAuth `state`, sets an HttpOnly cookie bound to that
 * state and redirects to Intuit (or ServiceM8). The callback refuses a request without that cookie, so a
 * callback URL (code and state) is only good in the browser that began the flow.
 *
 * Each state is consumed atomically before its code is exchanged, so a callback that arrives twice never
 * exchanges its code twice (Intuit treats a reused code as fraud and revokes the tokens). The callback's
 * `realmId` is checked against the company the new token can actually read before anything is stored.
 */
import crypto from 'node:crypto';
import axios, { isAxiosError } from 'axios';
import OAuthClient from 'intuit-oauth';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Pool } from 'pg';
import { CONNECTION_ID_PATTERN, type ConnectionStore, type QboToken } from '../store/connections';
import { claimOAuthState, consumeOAuthState, type OAuthProvider } from '../store/oauth-states';
import { newOAuthClient, revokeQboToken, type QboOAuthSettings } from '../apis/quickbooks/tokens';
import { QBO_MINOR_VERSION } from '../apis/quickbooks/client';
import type { Config } from '../infra/config';
import type { Logger } from '../infra/log';
import { parseCookies, type AdminAuth } from './auth';
import { notifyConnectionRestored } from '../routing/connection-events';
import { HttpError } from './http-errors';
import type { LazyTemporal } from './temporal-client';
import type { Sm8SubscriptionResult } from './webhook-subscriptions';

export interface ConnectDeps {
  config: Config;
  pool: Pool;
  store: ConnectionStore;
  temporal: LazyTemporal;
  qboOAuth: QboOAuthSettings;
  /** Checks a ServiceM8 API key before it is stored; resolves to the account name. */
  verifySm8ApiKey(apiKey: string): Promise<string | null>;
  /** TRG-3: registers the ServiceM8 webhook subscriptions (client/webhook-subscriptions.ts). */
  subscribeSm8Webhooks?(connectionId: string): Promise<Sm8SubscriptionResult>;
  /** TRG-2: the connection's poll, tax-poll and reconcile schedules (idempotent). */
  ensureSchedules?(connectionId: string): Promise<unknown>;
  /** CM-1: starts the first onboarding once both sides are connected (client/onboarding.ts; idempotent). */
  startOnboarding?(connectionId: string): Promise<unknown>;
}

type Log = Pick<Logger, 'warn' | 'error'>;

/** After (re)connecting: make sure the schedules exist, then wake the connection's parked workflows (CON-3). */
async function afterConnect(deps: ConnectDeps, connectionId: string): Promise<number> {
  await deps.ensureSchedules?.(connectionId);
  await deps.startOnboarding?.(connectionId);
  return notifyConnectionRestored(await deps.temporal.get(), connectionId);
}

/** The HTTP status of an upstream failure, if it got that far (axios, intuit-oauth, our API clients). */
function upstreamStatus(err: unknown): number | undefined {
  if (isAxiosError(err)) return err.response?.status;
  const e = err as {
    authResponse?: { response?: { status?: number } };
    details?: Array<{ status?: number | null } | undefined>;
  } | null;
  return e?.authResponse?.response?.status ?? e?.details?.[0]?.status ?? undefined;
}

/** An upstream failure for the log: the answer's body when there is one (it never goes to the client). */
function upstreamDetail(err: unknown): string {
  const body = isAxiosError(err)
    ? err.response?.data
    : (err as { authResponse?: { body?: unknown } } | null)?.authResponse?.body;
  const text = body !== undefined && body !== '' ? JSON.stringify(body) : (err as Error)?.message;
  return (text ?? String(err)).replace(/(\/webhooks\/servicem8\/)[A-Za-z0-9_-]+/g, '$1…').slice(0, 2000);
}

/**
 * TRG-3 after ServiceM8 credentials are saved. A failure does not undo the connection (polling is the
 * safety net): it is reported as a warning in the response, its details in the log.
 */
async function subscribeSm8(
  deps: ConnectDeps,
  log: Log,
  connectionId: string,
): Promise<{ webhooks: Sm8SubscriptionResult } | { warning: string } | Record<string, never>> {
  if (!deps.subscribeSm8Webhooks) return {};
  try {
    return { webhooks: await deps.subscribeSm8Webhooks(connectionId) };
  } catch (err) {
    log.warn(`connect ${connectionId}: ServiceM8 webhook subscriptions failed: ${upstreamDetail(err)}`);
    const status = upstreamStatus(err);
    return {
      warning: `connected, but the ServiceM8 webhook subscriptions could not be registered${status ? ` (ServiceM8 answered HTTP ${status})` : ''}; changes will arrive by polling until a reconnect registers them`,
    };
  }
}

// ---- connect links, OAuth state and the browser cookie ---------------------------------------------------

type Provider = OAuthProvider;
const PROVIDERS: Record<Provider, { path: string; label: string }> = {
  qbo: { path: 'quickbooks', label: 'QuickBooks' },
  sm8: { path: 'servicem8', label: 'ServiceM8' },
};

/** How long a connect link may wait to be opened, and how long the consent may then take. */
export const CONNECT_LINK_TTL_MS = 10 * 60_000;
const STATE_TTL_MINUTES = 15;

export interface LinkClaims {
  v: 1;
  p: Provider;
  c: string;
  n: string;
  /** Expiry, ms since the epoch. */
  e: number;
  /** Random nonce: the OAuth state is derived from it, so the link works once. */
  r: string;
}

export function newConnectLink(
  auth: AdminAuth,
  config: Config,
  provider: Provider,
  connection: string,
  name: string,
): { url: string; expiresAt: string } {
  const claims: LinkClaims = {
    v: 1,
    p: provider,
    c: connection,
    n: name,
    e: auth.now() + CONNECT_LINK_TTL_MS,
    r: crypto.randomBytes(18).toString('base64url'),
  };
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const link = `${payload}.${auth.sign('connect-link', payload)}`;
  return {
    url: `${config.publicBaseUrl}/connect/${PROVIDERS[provider].path}/start?link=${link}`,
    expiresAt: new Date(claims.e).toISOString(),
  };
}

const START_AGAIN = 'ask for a new connect link (sm8qbo connect …)';

function readConnectLink(auth: AdminAuth, provider: Provider, link: string): LinkClaims {
  const [payload = '', signature = ''] = link.split('.');
  if (!auth.verify('connect-link', payload, signature))
    throw new HttpError(400, `this connect link is not valid: ${START_AGAIN}`);
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as LinkClaims;
  if (claims.v !== 1 || claims.p !== provider)
    throw new HttpError(400, `this connect link is for another service: ${START_AGAIN}`);
  if (!(claims.e > auth.now()))
    throw new HttpError(400, `this connect link has expired (links last 10 minutes): ${START_AGAIN}`);
  return claims;
}

const stateCookie = (provider: Provider) => `sm8qbo_connect_${provider}`;
/** The cookie value that binds a state to the browser that opened the link (unforgeable without the key). */
const browserBinding = (auth: AdminAuth, provider: Provider, state: string) =>
  auth.sign('oauth-browser', `${provider}:${state}`);

function requireBrowserBinding(auth: AdminAuth, provider: Provider, req: FastifyRequest, state: string) {
  const cookie = parseCookies(req.headers.cookie).get(stateCookie(provider));
  if (!cookie || !auth.verify('oauth-browser', `${provider}:${state}`, cookie))
    throw new HttpError(
      400,
      `this ${PROVIDERS[provider].label} authorisation did not begin in this browser (its connect cookie is missing or does not match); open a new connect link in the browser you authorise in`,
    );
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

// ---- input schemas (validated by Fastify, refused with 400 naming the field; see http-errors.ts) ----------

const connectionId = { type: 'string', pattern: CONNECTION_ID_PATTERN.source } as const;
const text = { type: 'string', minLength: 1, maxLength: 2000 } as const;
const linkBody = {
  type: 'object',
  required: ['connection'],
  additionalProperties: false,
  properties: { connection: connectionId, name: { type: 'string', maxLength: 200 } },
} as const;
const linkQuery = {
  type: 'object',
  required: ['link'],
  properties: { link: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,1000}\\.[A-Za-z0-9_-]{43}$' } },
} as const;
/** An authorisation callback carries either `error` or everything needed to exchange the code. */
const callbackQuery = (required: string[]) =>
  ({
    type: 'object',
    properties: {
      code: text,
      state: { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$' },
      // Intuit company ids are numbers.
      realmId: { type: 'string', pattern: '^[0-9]{1,32}$' },
      error: text,
    },
    if: { required: ['error'] },
    else: { required },
  }) as const;
const apiKeySchema = {
  params: { type: 'object', required: ['id'], properties: { id: connectionId } },
  body: {
    type: 'object',
    required: ['apiKey'],
    properties: {
      apiKey: { type: 'string', minLength: 8, maxLength: 200, pattern: '\\S' },
      name: { type: 'string', minLength: 1, maxLength: 200 },
    },
  },
} as const;

function requireOAuthApp(config: Config, provider: Provider): void {
  if (provider === 'qbo' && (!config.qbo.clientId || !config.qbo.clientSecret))
    throw new HttpError(400, 'QBO_CLIENT_ID and QBO_CLIENT_SECRET must be configured to connect QuickBooks');
  if (provider === 'sm8' && (!config.sm8.clientId || !config.sm8.clientSecret))
    throw new HttpError(400, 'SM8_CLIENT_ID and SM8_CLIENT_SECRET must be configured for ServiceM8 OAuth');
}

// ---- routes ---------------------------------------------------------------------------------------------

/**
 * The connect routes an administrator calls: connect links and the ServiceM8 API key. `app` must be a
 * scope protected by client/auth.ts (api-server.ts registers it so).
 */
export function registerConnectAdminRoutes(
  app: FastifyInstance,
  deps: ConnectDeps,
  auth: AdminAuth,
  log: Log,
): void {
  const { config, store } = deps;
  for (const provider of ['qbo', 'sm8'] as const) {
    app.post(`/connect/${PROVIDERS[provider].path}`, { schema: { body: linkBody } }, async (req) => {
      const body = req.body as { connection: string; name?: string };
      requireOAuthApp(config, provider);
      const name = (body.name ?? '').trim() || body.connection;
      return {
        connection: body.connection,
        ...newConnectLink(auth, config, provider, body.connection, name),
      };
    });
  }

  app.post('/connections/:id/servicem8', { schema: apiKeySchema }, async (req, reply) => {
    const id = (req.params as { id: string }).id;
    const body = req.body as { apiKey: string; name?: string };
    let accountName: string | null;
    try {
      accountName = await deps.verifySm8ApiKey(body.apiKey.trim());
    } catch (err) {
      const status = upstreamStatus(err);
      log.warn(`connect ${id}: checking the ServiceM8 API key failed: ${upstreamDetail(err)}`);
      if (status && status < 500)
        return reply.code(400).send({ error: `ServiceM8 refused the API key (HTTP ${status})` });
      return reply.code(502).send({
        error: `ServiceM8 could not check the API key${status ? ` (HTTP ${status})` : ' (no answer)'}; try again shortly`,
      });
    }
    await store.ensure(id, body.name ?? id);
    await store.saveSm8Credentials(id, { kind: 'api_key', apiKey: body.apiKey.trim() });
    const webhooks = await subscribeSm8(deps, log, id);
    const resumed = await afterConnect(deps, id);
    return reply.send({
      connected: 'servicem8',
      connection: id,
      account: accountName,
      resumedWorkflows: resumed,
      ...webhooks,
    });
  });
}

/** Where the browser is sent to consent. */
function authorizeUrl(deps: ConnectDeps, provider: Provider, state: string): string {
  const { config } = deps;
  if (provider === 'qbo')
    return newOAuthClient(deps.qboOAuth).authorizeUri({ scope: [OAuthClient.scopes.Accounting], state });
  const url = new URL(config.sm8.authorizeUrl);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: config.sm8.clientId ?? '',
    redirect_uri: `${config.publicBaseUrl}/callback/servicem8`,
    scope: SM8_SCOPES.join(' '),
    state,
  }).toString();
  return url.toString();
}

/**
 * The routes a browser (or the provider's redirect) reaches without the admin token: the connect link and
 * the callbacks. Each checks its own credential: the link's signature, or the state and its cookie.
 */
export function registerConnectBrowserRoutes(
  app: FastifyInstance,
  deps: ConnectDeps,
  auth: AdminAuth,
  log: Log,
): void {
  const { config, pool, store } = deps;
  const noStore = (reply: FastifyReply) =>
    reply.header('Cache-Control', 'no-store').header('Referrer-Policy', 'no-referrer');

  for (const provider of ['qbo', 'sm8'] as const) {
    app.get(
      `/connect/${PROVIDERS[provider].path}/start`,
      // No HEAD twin: a link checker's HEAD must not use up the link (GET here changes state).
      { schema: { querystring: linkQuery }, exposeHeadRoute: false },
      async (req, reply) => {
        const claims = readConnectLink(auth, provider, (req.query as { link: string }).link);
        requireOAuthApp(config, provider);
        const state = auth.sign('oauth-state', claims.r);
        if (!(await claimOAuthState(pool, provider, claims.c, state, STATE_TTL_MINUTES)))
          throw new HttpError(400, `this connect link was already used: ${START_AGAIN}`);
        await store.ensure(claims.c, claims.n);
        const cookie = auth.cookie(stateCookie(provider), browserBinding(auth, provider, state), {
          path: '/callback/',
          maxAgeSeconds: STATE_TTL_MINUTES * 60,
        });
        return noStore(reply)
          .header('Set-Cookie', cookie)
          .redirect(authorizeUrl(deps, provider, state));
      },
    );
  }
  const clearCookie = (provider: Provider) =>
    auth.cookie(stateCookie(provider), '', { path: '/callback/', maxAgeSeconds: 0 });

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
    void reply.header('Set-Cookie', clearCookie('qbo'));
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

  const sm8Callback = { querystring: callbackQuery(['code', 'state']) };
  app.get('/callback/servicem8', { schema: sm8Callback, exposeHeadRoute: false }, async (req, reply) => {
    const q = req.query as { code: string; state: string; error?: string };
    noStore(reply);
    if (q.error)
      return reply.code(400).send({ error: `ServiceM8 did not authorise the connection: ${q.error}` });
    requireBrowserBinding(auth, 'sm8', req, q.state);
    const connectionId = await consumeOAuthState(pool, 'sm8', q.state);
    if (!connectionId) {
      return reply
        .code(400)
        .send({ error: `this authorisation was already used or has expired: ${START_AGAIN}` });
    }
    void reply.header('Set-Cookie', clearCookie('sm8'));
    try {
      const res = await axios.post<{
        access_token: string;
        refresh_token: string;
        expires_in: number;
        scope?: string;
      }>(
        config.sm8.tokenUrl,
        new URLSearchParams({
          grant_type: 'authorization_code',
          client_id: config.sm8.clientId ?? '',
          client_secret: config.sm8.clientSecret ?? '',
          code: q.code,
          redirect_uri: `${config.publicBaseUrl}/callback/servicem8`,
        }).toString(),
        { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, timeout: 30_000 },
      );
      await store.saveSm8Credentials(connectionId, {
        kind: 'oauth',
        accessToken: res.data.access_token,
        refreshToken: res.data.refresh_token,
        expiresAt: Date.now() + res.data.expires_in * 1000,
        scope: res.data.scope,
      });
    } catch (err) {
      if (!isAxiosError(err)) throw err;
      const status = upstreamStatus(err);
      log.warn(`connect ${connectionId}: the ServiceM8 token exchange failed: ${upstreamDetail(err)}`);
      return reply.code(502).send({
        error: `ServiceM8 refused the authorisation code${status ? ` (HTTP ${status})` : ' (no answer)'}: ${START_AGAIN}`,
      });
    }
    const webhooks = await subscribeSm8(deps, log, connectionId);
    const resumed = await afterConnect(deps, connectionId);
    return reply.send({
      connected: 'servicem8',
      connection: connectionId,
      resumedWorkflows: resumed,
      ...webhooks,
    });
  });
}

/** What the sync reads and writes in ServiceM8 (never staff: STAFF-1). */
export const SM8_SCOPES = [
  'vendor',
  'read_jobs',
  'manage_jobs',
  'read_job_materials',
  'manage_job_materials',
  'read_job_payments',
  'manage_job_payments',
  'read_customers',
  'manage_customers',
  'read_customer_contacts',
  'manage_customer_contacts',
  'read_inventory',
  'manage_inventory',
  'read_tax_rates',
  'manage_tax_rates',
  'read_job_notes',
  'publish_job_notes',
];
