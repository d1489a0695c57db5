/**
 * Connect links, OAuth states and the browser cookie (CON-1). An administrator's connect link is signed
 * with a key derived from the admin token, short-lived and single-use: opening it stores the OAuth `state`
 * (store/oauth-states.ts) and sets an HttpOnly cookie bound to that state, which the callback requires, so
 * a callback URL (code and state) is only good in the browser that began the flow.
 */
import crypto from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CONNECTION_ID_PATTERN } from '../store/connections';
import type { OAuthProvider } from '../store/oauth-states';
import type { Config } from '../infra/config';
import { parseCookies, type AdminAuth } from './auth';
import { HttpError } from './http-errors';

export type Provider = OAuthProvider;
export const PROVIDERS: Record<Provider, { path: string; label: string }> = {
  qbo: { path: 'quickbooks', label: 'QuickBooks' },
  sm8: { path: 'servicem8', label: 'ServiceM8' },
};

/** How long a connect link may wait to be opened, and how long the consent may then take. */
export const CONNECT_LINK_TTL_MS = 10 * 60_000;
export const STATE_TTL_MINUTES = 15;

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

export const START_AGAIN = 'ask for a new connect link (sm8qbo connect …)';

export function readConnectLink(auth: AdminAuth, provider: Provider, link: string): LinkClaims {
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

export const stateCookie = (provider: Provider) => `sm8qbo_connect_${provider}`;
/** The cookie value that binds a state to the browser that opened the link (unforgeable without the key). */
export const browserBinding = (auth: AdminAuth, provider: Provider, state: string) =>
  auth.sign('oauth-browser', `${provider}:${state}`);

export function requireBrowserBinding(
  auth: AdminAuth,
  provider: Provider,
  req: FastifyRequest,
  state: string,
) {
  const cookie = parseCookies(req.headers.cookie).get(stateCookie(provider));
  if (!cookie || !auth.verify('oauth-browser', `${provider}:${state}`, cookie))
    throw new HttpError(
      400,
      `this ${PROVIDERS[provider].label} authorisation did not begin in this browser (its connect cookie is missing or does not match); open a new connect link in the browser you authorise in`,
    );
}

export const clearStateCookie = (auth: AdminAuth, provider: Provider) =>
  auth.cookie(stateCookie(provider), '', { path: '/callback/', maxAgeSeconds: 0 });

/** The connect pages and callbacks are never cached and never leak their URL (code, state) as a referrer. */
export const noStore = (reply: FastifyReply) =>
  reply.header('Cache-Control', 'no-store').header('Referrer-Policy', 'no-referrer');

// ---- input schemas (validated by Fastify, refused with 400 naming the field; see http-errors.ts) ----------

export const connectionIdSchema = { type: 'string', pattern: CONNECTION_ID_PATTERN.source } as const;
const text = { type: 'string', minLength: 1, maxLength: 2000 } as const;
export const linkBody = {
  type: 'object',
  required: ['connection'],
  additionalProperties: false,
  properties: { connection: connectionIdSchema, name: { type: 'string', maxLength: 200 } },
} as const;
export const linkQuery = {
  type: 'object',
  required: ['link'],
  properties: { link: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,1000}\\.[A-Za-z0-9_-]{43}$' } },
} as const;
/** An authorisation callback carries either `error` or everything needed to exchange the code. */
export const callbackQuery = (required: string[]) =>
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

export function requireOAuthApp(config: Config, provider: Provider): void {
  if (provider === 'qbo' && (!config.qbo.clientId || !config.qbo.clientSecret))
    throw new HttpError(400, 'QBO_CLIENT_ID and QBO_CLIENT_SECRET must be configured to connect QuickBooks');
  if (provider === 'sm8' && (!config.sm8.clientId || !config.sm8.clientSecret))
    throw new HttpError(400, 'SM8_CLIENT_ID and SM8_CLIENT_SECRET must be configured for ServiceM8 OAuth');
}
