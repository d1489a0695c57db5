/**
 * Connect flows (CON-1): QuickBooks by OAuth 2.0 (intuit-oauth), ServiceM8 by API key or OAuth 2.0.
 * Every redirect carries a single-use CSRF `state` stored in oauth_states; the callback consumes it
 * atomically before exchanging the code, so a callback that arrives twice never exchanges its code twice
 * (Intuit treats a reused code as fraud and revokes the tokens).
 */
import crypto from 'node:crypto';
import axios from 'axios';
import OAuthClient from 'intuit-oauth';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Pool } from 'pg';
import { CONNECTION_ID_PATTERN, type ConnectionStore, type QboToken } from '../activities/connection-store';
import { newOAuthClient, type QboOAuthSettings } from '../activities/qbo-tokens';
import type { Config } from '../infra/config';
import { notifyConnectionRestored } from './connection-events';
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

/** After (re)connecting: make sure the schedules exist, then wake the connection's parked workflows (CON-3). */
async function afterConnect(deps: ConnectDeps, connectionId: string): Promise<number> {
  await deps.ensureSchedules?.(connectionId);
  await deps.startOnboarding?.(connectionId);
  return notifyConnectionRestored(await deps.temporal.get(), connectionId);
}

/**
 * TRG-3 after ServiceM8 credentials are saved. A failure does not undo the connection (polling is the
 * safety net): it is reported as a warning in the response.
 */
async function subscribeSm8(
  deps: ConnectDeps,
  connectionId: string,
): Promise<{ webhooks: Sm8SubscriptionResult } | { warning: string } | Record<string, never>> {
  if (!deps.subscribeSm8Webhooks) return {};
  try {
    return { webhooks: await deps.subscribeSm8Webhooks(connectionId) };
  } catch (err) {
    const e = err as { message?: string; response?: { data?: unknown } };
    const detail = (
      e.response?.data !== undefined ? JSON.stringify(e.response.data) : (e.message ?? String(err))
    ).replace(/(\/webhooks\/servicem8\/)[A-Za-z0-9_-]+/g, '$1…'); // the URL's secret stays secret
    return {
      warning: `connected, but the ServiceM8 webhook subscriptions could not be registered (changes will arrive by polling until a reconnect registers them): ${detail}`,
    };
  }
}

const STATE_TTL_MINUTES = 15;

function requireAdmin(config: Config, req: FastifyRequest, reply: FastifyReply): boolean {
  if (!config.adminToken) return true; // no token configured: local use (npm start binds to 127.0.0.1)
  const header = req.headers.authorization?.replace(/^Bearer /, '');
  const query = (req.query as { token?: string }).token;
  const given = Buffer.from(header ?? query ?? '');
  const expected = Buffer.from(config.adminToken);
  if (given.length === expected.length && crypto.timingSafeEqual(given, expected)) return true;
  void reply.code(401).send({ error: 'admin token required (Authorization: Bearer <ADMIN_TOKEN>)' });
  return false;
}

async function newState(pool: Pool, provider: 'qbo' | 'sm8', connectionId: string): Promise<string> {
  const state = crypto.randomBytes(24).toString('base64url');
  await pool.query(
    `INSERT INTO oauth_states (state, provider, connection_id, expires_at)
     VALUES ($1, $2, $3, now() + make_interval(mins => $4))`,
    [state, provider, connectionId, STATE_TTL_MINUTES],
  );
  return state;
}

/** Marks the state used; returns its connection, or null when unknown, expired or already used. */
async function consumeState(pool: Pool, provider: 'qbo' | 'sm8', state: string): Promise<string | null> {
  const r = await pool.query<{ connection_id: string }>(
    `UPDATE oauth_states SET consumed_at = now()
      WHERE state = $1 AND provider = $2 AND consumed_at IS NULL AND expires_at > now()
      RETURNING connection_id`,
    [state, provider],
  );
  return r.rows[0]?.connection_id ?? null;
}

// Input schemas (validated by Fastify, refused with 400 naming the field; see http-errors.ts).
const connectionId = { type: 'string', pattern: CONNECTION_ID_PATTERN.source } as const;
const text = { type: 'string', minLength: 1, maxLength: 2000 } as const;
const connectQuery = {
  type: 'object',
  required: ['connection'],
  properties: { connection: connectionId, name: { type: 'string', maxLength: 200 }, token: text },
} as const;
/** An authorisation callback carries either `error` or everything needed to exchange the code. */
const callbackQuery = (required: string[]) =>
  ({
    type: 'object',
    properties: { code: text, state: text, realmId: text, error: text },
    if: { required: ['error'] },
    else: { required },
  }) as const;
const apiKeySchema = {
  params: { type: 'object', required: ['id'], properties: { id: connectionId } },
  body: {
    type: 'object',
    required: ['apiKey'],
    properties: {
      apiKey: { type: 'string', minLength: 8, pattern: '\\S' },
      name: { type: 'string', minLength: 1, maxLength: 200 },
    },
  },
} as const;

function connectionParam(req: FastifyRequest): { id: string; name: string } {
  const q = req.query as { connection: string; name?: string };
  return { id: q.connection, name: (q.name ?? '').trim() || q.connection };
}

export function registerConnectRoutes(app: FastifyInstance, deps: ConnectDeps): void {
  const { config, pool, store } = deps;
  // The admin check comes before input validation: a stranger learns nothing about our inputs.
  const onRequest = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!requireAdmin(config, req, reply)) return reply;
  };

  app.get('/connect/quickbooks', { onRequest, schema: { querystring: connectQuery } }, async (req, reply) => {
    const p = connectionParam(req);
    if (!config.qbo.clientId || !config.qbo.clientSecret) {
      return reply
        .code(400)
        .send({ error: 'QBO_CLIENT_ID and QBO_CLIENT_SECRET must be configured to connect QuickBooks' });
    }
    await store.ensure(p.id, p.name);
    const state = await newState(pool, 'qbo', p.id);
    const url = newOAuthClient(deps.qboOAuth).authorizeUri({ scope: [OAuthClient.scopes.Accounting], state });
    return reply.redirect(url);
  });

  const qboCallback = { querystring: callbackQuery(['code', 'state', 'realmId']) };
  app.get('/callback/quickbooks', { schema: qboCallback }, async (req, reply) => {
    const q = req.query as { code: string; state: string; realmId: string; error?: string };
    if (q.error)
      return reply.code(400).send({ error: `QuickBooks did not authorise the connection: ${q.error}` });
    const connectionId = await consumeState(pool, 'qbo', q.state);
    if (!connectionId) {
      return reply
        .code(400)
        .send({ error: 'this authorisation link was already used or has expired: start again' });
    }
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
    const callbackUrl = `${config.publicBaseUrl}${req.url}`;
    try {
      await oauth.createToken(callbackUrl);
    } catch (err) {
      const e = err as { error?: string; message?: string };
      return reply
        .code(502)
        .send({ error: `QuickBooks token exchange failed: ${e.error || e.message || 'unknown error'}` });
    }
    const token = oauth.getToken().getToken() as QboToken;
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

  app.post('/connections/:id/servicem8', { onRequest, schema: apiKeySchema }, async (req, reply) => {
    const id = (req.params as { id: string }).id;
    const body = req.body as { apiKey: string; name?: string };
    let accountName: string | null;
    try {
      accountName = await deps.verifySm8ApiKey(body.apiKey.trim());
    } catch (err) {
      return reply.code(400).send({ error: `ServiceM8 refused the API key: ${(err as Error).message}` });
    }
    await store.ensure(id, body.name ?? id);
    await store.saveSm8Credentials(id, { kind: 'api_key', apiKey: body.apiKey.trim() });
    const webhooks = await subscribeSm8(deps, id);
    const resumed = await afterConnect(deps, id);
    return reply.send({
      connected: 'servicem8',
      connection: id,
      account: accountName,
      resumedWorkflows: resumed,
      ...webhooks,
    });
  });

  app.get('/connect/servicem8', { onRequest, schema: { querystring: connectQuery } }, async (req, reply) => {
    const p = connectionParam(req);
    if (!config.sm8.clientId || !config.sm8.clientSecret) {
      return reply
        .code(400)
        .send({ error: 'SM8_CLIENT_ID and SM8_CLIENT_SECRET must be configured for ServiceM8 OAuth' });
    }
    await store.ensure(p.id, p.name);
    const state = await newState(pool, 'sm8', p.id);
    const url = new URL(config.sm8.authorizeUrl);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: config.sm8.clientId,
      redirect_uri: `${config.publicBaseUrl}/callback/servicem8`,
      scope: SM8_SCOPES.join(' '),
      state,
    }).toString();
    return reply.redirect(url.toString());
  });

  const sm8Callback = { querystring: callbackQuery(['code', 'state']) };
  app.get('/callback/servicem8', { schema: sm8Callback }, async (req, reply) => {
    const q = req.query as { code: string; state: string; error?: string };
    if (q.error)
      return reply.code(400).send({ error: `ServiceM8 did not authorise the connection: ${q.error}` });
    const connectionId = await consumeState(pool, 'sm8', q.state);
    if (!connectionId) {
      return reply
        .code(400)
        .send({ error: 'this authorisation link was already used or has expired: start again' });
    }
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
      const detail = axios.isAxiosError(err)
        ? JSON.stringify(err.response?.data ?? err.message)
        : String(err);
      return reply.code(502).send({ error: `ServiceM8 token exchange failed: ${detail}` });
    }
    const webhooks = await subscribeSm8(deps, connectionId);
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
