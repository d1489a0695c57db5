/**
 * The HTTP API: health, connect flows (CON-1), webhooks (TRG-1) and the admin API (OPS-2). It needs
 * PostgreSQL to start, not Temporal (connected on first use), so webhooks are stored while Temporal is down.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import type { Logger } from '../infra/log';
import { registerAdminRoutes, type AdminDeps } from './admin-routes';
import { registerConnectRoutes, type ConnectDeps } from './connect-routes';
import { formatSchemaErrors, installErrorHandling } from './http-errors';
import type { LazyTemporal } from './temporal-client';
import { registerWebhookRoutes, type WebhookDeps } from './webhook-routes';

export interface ApiDeps {
  pool: Pool;
  temporal: LazyTemporal;
  log: Pick<Logger, 'warn' | 'error'>;
  connect: ConnectDeps;
  webhooks: WebhookDeps;
  admin: AdminDeps;
}

export function buildApiServer(deps: ApiDeps): FastifyInstance {
  const app = Fastify({ logger: false, schemaErrorFormatter: formatSchemaErrors });
  installErrorHandling(app, deps.log);
  registerConnectRoutes(app, deps.connect);
  registerWebhookRoutes(app, deps.webhooks);
  registerAdminRoutes(app, deps.admin);
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
  return app;
}
