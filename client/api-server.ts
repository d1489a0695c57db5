/**
 * The HTTP API: health now; webhooks, connect flows and the admin API are added by their issues.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { registerConnectRoutes, type ConnectDeps } from './connect-routes';

export interface ApiDeps {
  pool: Pool;
  temporal: Client;
  connect: ConnectDeps;
}

export function buildApiServer(deps: ApiDeps): FastifyInstance {
  const app = Fastify({ logger: false });
  registerConnectRoutes(app, deps.connect);
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
