/**
 * The HTTP API: health, connect flows (CON-1), webhooks (TRG-1) and the admin API (OPS-2). It needs
 * PostgreSQL to start, not Temporal (connected on first use), so webhooks are stored while Temporal is down.
 *
 * Who may call what is decided here, by scope: the admin and connect routes are registered inside
 * `protectedRoutes` (client/auth.ts), whose check runs because the matched route is protected, whatever the
 * spelling of the URL. Everything outside those scopes carries its own credential (webhook signature or
 * secret URL, signed connect link, OAuth state and cookie) or is harmless (health, sign-in).
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import type { Logger } from '../infra/log';
import { registerAdminRoutes, type AdminDeps } from './admin-routes';
import { AdminAuth, protectedRoutes, registerLoginRoutes, type CookiePolicy } from './auth';
import { registerCodecPreflight, registerCodecRoutes, type CodecRouteDeps } from './codec-routes';
import { registerConnectAdminRoutes, registerConnectBrowserRoutes, type ConnectDeps } from './connect-routes';
import { formatSchemaErrors, frameworkErrors, installErrorHandling } from './http-errors';
import type { LazyTemporal } from './temporal-client';
import { registerMetricsRoute } from './metrics';
import { registerStatusPage, registerStatusResync } from './status-page';
import { registerStuckRoutes } from './stuck-routes';
import { registerWebhookRoutes, type WebhookDeps } from './webhook-routes';

export interface ApiDeps {
  pool: Pool;
  temporal: LazyTemporal;
  log: Pick<Logger, 'warn' | 'error'>;
  connect: ConnectDeps;
  webhooks: WebhookDeps;
  admin: AdminDeps;
  /** The codec server for the Temporal Web UI (issue 10: payloads are encrypted). */
  codec: CodecRouteDeps;
  /** Fastify's logger (pino, infra/log.ts): every line of a request carries its `reqId`. Unset: silent. */
  httpLogger?: FastifyBaseLogger;
}

/** One route of the API, and whether (and how) it needs the admin token. */
export interface ApiRoute {
  method: string;
  url: string;
  /** null: public (it checks its own credential, or needs none). */
  auth: CookiePolicy | null;
}

const routeTables = new WeakMap<
  FastifyInstance,
  { all: Array<{ method: string; url: string }>; auth: AdminAuth }
>();

/** Every route of a built API (after `ready()`), as registered: tests derive their attack lists from it. */
export function apiRoutes(app: FastifyInstance): ApiRoute[] {
  const table = routeTables.get(app);
  if (!table) throw new Error('not an API built by buildApiServer');
  return table.all.map((r) => ({
    ...r,
    auth: table.auth.routes.find((p) => p.method === r.method && p.url === r.url)?.cookie ?? null,
  }));
}

export function buildApiServer(deps: ApiDeps): FastifyInstance {
  const token = deps.admin.adminToken;
  if (!token)
    throw new Error('the API needs an admin token: resolve ADMIN_TOKEN first (client/admin-token.ts)');
  const auth = new AdminAuth({
    token,
    secureCookies: deps.connect.config.publicBaseUrl.startsWith('https:'),
  });
  const app = Fastify({
    ...(deps.httpLogger ? { loggerInstance: deps.httpLogger } : { logger: false }),
    schemaErrorFormatter: formatSchemaErrors,
    frameworkErrors,
  });
  const all: Array<{ method: string; url: string }> = [];
  routeTables.set(app, { all, auth });
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat())
      all.push({ method: String(method), url: route.url ?? route.path });
  });
  app.addHook('onSend', async (_req, reply) => {
    void reply.header('X-Content-Type-Options', 'nosniff');
  });
  installErrorHandling(app, deps.log);

  // Public: each of these checks its own credential.
  registerWebhookRoutes(app, deps.webhooks);
  registerConnectBrowserRoutes(app, deps.connect, auth, deps.log);
  registerLoginRoutes(app, auth);
  // A browser sends the codec's CORS preflight without credentials: it answers for the UI's origin only.
  registerCodecPreflight(app, deps.codec);
  app.get('/health', async (_req, reply) => {
    const [db, temporal] = await Promise.all([
      deps.pool.query('SELECT 1').then(
        () => true,
        () => false,
      ),
      deps.temporal.reachable(),
    ]);
    const ok = db && temporal;
    return reply.code(ok ? 200 : 503).send({
      status: ok ? 'ok' : 'degraded',
      database: db ? 'ok' : 'unreachable',
      temporal: temporal ? 'ok' : 'unreachable',
    });
  });

  // Protected: the admin token in the Authorization header; a signed-in browser may read (GET) only.
  void app.register(
    protectedRoutes(auth, { cookie: 'read-only' }, (scope) => {
      registerAdminRoutes(scope, deps.admin, { qboOAuth: deps.connect.qboOAuth, log: deps.log });
      registerConnectAdminRoutes(scope, deps.connect, auth, deps.log);
      registerStuckRoutes(scope, deps.admin);
      // Prometheus sends the token (its `authorization` setting); a signed-in browser may look too.
      registerMetricsRoute(scope, deps.pool);
      registerStatusPage(scope, deps.admin, auth);
    }),
  );
  // Protected, cookie-safe with a form token: the status page's "Sync again" (client/status-page.ts).
  void app.register(
    protectedRoutes(auth, { cookie: 'always' }, (scope) => registerStatusResync(scope, deps.admin, auth)),
  );
  // Protected, cookie-safe (pure transforms a browser may call: the Temporal Web UI's codec requests).
  void app.register(
    protectedRoutes(auth, { cookie: 'always' }, (scope) => registerCodecRoutes(scope, deps.codec)),
  );
  return app;
}
