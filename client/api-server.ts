/**
 * The HTTP API: health, connect flows (CON-1), webhooks (TRG-1) and the admin API (OPS-2).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { registerAdminRoutes, type AdminDeps } from './admin-routes';
import { registerConnectRoutes, type ConnectDeps } from './connect-routes';
import { registerWebhookRoutes, type WebhookDeps } from './webhook-routes';

export interface ApiDeps {
  pool: Pool;
  temporal: Client;
  connect: ConnectDeps;
  webhooks: WebhookDeps;
  admin: AdminDeps;
}

export function buildApiServer(deps: ApiDeps): FastifyInstance {
  const app = Fastify({ logger: false });
  registerConnectRoutes(app, deps.connect);
  registerWebhookRoutes(app, deps.webhooks);
  registerAdminRoutes(app, deps.admin);
  app.get('/health', async (_req, reply) => {
    const [db, temporal] = await Promise.allSettled([
      deps.pool.query('SELECT 1'),
      deps.temporal.connection.workflowService.getSystemInfo({}),
    ]);
    const ok = db.status === 'fulfilled' && temporal.status === 'fulfilled';
    return reply.code(ok ? 200 : 503).send({
      status: ok ? 'ok' : 'degraded',
      database: db.status === 'fulfilled' ? 'ok' : 'unreachable',
      temporal: temporal.status === 'fulfilled' ? 'ok' : 'unreachable',
    });
  });
  return app;
}
