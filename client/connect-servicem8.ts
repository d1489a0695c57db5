/**
 * Connecting ServiceM8 (CON-1): by API key (an administrator's request, checked at ServiceM8 before it is
 * stored) or by OAuth 2.0 (consent in the browser, then the callback). Either way the webhook subscriptions
 * are registered next (TRG-3, client/webhook-subscriptions.ts).
 */
import axios, { isAxiosError } from 'axios';
import type { FastifyInstance } from 'fastify';
import { consumeOAuthState } from '../store/oauth-states';
import type { Config } from '../infra/config';
import type { AdminAuth } from './auth';
import { afterConnect, upstreamDetail, upstreamStatus, type ConnectDeps, type Log } from './connect-common';
import {
  callbackQuery,
  clearStateCookie,
  connectionIdSchema,
  noStore,
  requireBrowserBinding,
  START_AGAIN,
} from './connect-links';
import type { Sm8SubscriptionResult } from './webhook-subscriptions';

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

const apiKeySchema = {
  params: { type: 'object', required: ['id'], properties: { id: connectionIdSchema } },
  body: {
    type: 'object',
    required: ['apiKey'],
    properties: {
      apiKey: { type: 'string', minLength: 8, maxLength: 200, pattern: '\\S' },
      name: { type: 'string', minLength: 1, maxLength: 200 },
    },
  },
} as const;

/** `POST /connections/:id/servicem8 {apiKey}`: an administrator's route (a protected scope, see api-server.ts). */
export function registerServiceM8KeyRoute(app: FastifyInstance, deps: ConnectDeps, log: Log): void {
  const { store } = deps;
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

/** Where the browser is sent to consent to ServiceM8. */
export function sm8AuthorizeUrl(config: Config, state: string): string {
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

/** `GET /callback/servicem8`: ServiceM8's redirect after consent (no admin token: the state and its cookie). */
export function registerServiceM8Callback(
  app: FastifyInstance,
  deps: ConnectDeps,
  auth: AdminAuth,
  log: Log,
): void {
  const { config, pool, store } = deps;
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
    void reply.header('Set-Cookie', clearStateCookie(auth, 'sm8'));
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
