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
 *
 * The flows live by service: connect-links.ts (signed links, OAuth state, the browser cookie),
 * connect-quickbooks.ts, connect-servicem8.ts, and connect-common.ts for what they share.
 */
import type { FastifyInstance } from 'fastify';
import { claimOAuthState } from '../store/oauth-states';
import type { AdminAuth } from './auth';
import type { ConnectDeps, Log } from './connect-common';
import {
  browserBinding,
  linkBody,
  linkQuery,
  newConnectLink,
  noStore,
  PROVIDERS,
  readConnectLink,
  requireOAuthApp,
  START_AGAIN,
  STATE_TTL_MINUTES,
  stateCookie,
  type Provider,
} from './connect-links';
import { qboAuthorizeUrl, registerQuickBooksCallback } from './connect-quickbooks';
import { registerServiceM8Callback, registerServiceM8KeyRoute, sm8AuthorizeUrl } from './connect-servicem8';
import { HttpError } from './http-errors';

export type { ConnectDeps } from './connect-common';

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
  const { config } = deps;
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

  registerServiceM8KeyRoute(app, deps, log);
}

/** Where the browser is sent to consent. */
function authorizeUrl(deps: ConnectDeps, provider: Provider, state: string): string {
  return provider === 'qbo' ? qboAuthorizeUrl(deps.qboOAuth, state) : sm8AuthorizeUrl(deps.config, state);
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

  registerQuickBooksCallback(app, deps, auth, log);
  registerServiceM8Callback(app, deps, auth, log);
}
