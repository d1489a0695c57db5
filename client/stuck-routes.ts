/**
 * Stuck steps in the admin API (issue 13, "nothing retries silently"): the steps that keep failing, with the
 * failure in words (domain/stuck.ts), of one connection or all; "retry" runs the failing attempt again now
 * (Temporal's ResetActivity: the step's backoff is skipped and its attempt count starts again); "dismiss"
 * hides a step until its failure changes. Registered inside the token-protected scope like the other admin
 * routes (client/api-server.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { CONNECTION_ID_PATTERN } from '../store/connections';
import { dismissStuckStep, listStuckSteps, stuckStep } from '../store/stuck-steps';
import type { LazyTemporal } from './temporal-client';

export interface StuckRouteDeps {
  pool: Pool;
  temporal: LazyTemporal;
}

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[0-9]{1,18}$' } },
} as const;
const listQuery = {
  type: 'object',
  properties: {
    connection: { type: 'string', pattern: CONNECTION_ID_PATTERN.source },
    all: { type: 'boolean' },
    limit: { type: 'integer', minimum: 1, maximum: 1000 },
  },
} as const;

export function registerStuckRoutes(app: FastifyInstance, deps: StuckRouteDeps): void {
  app.get('/admin/stuck', { schema: { querystring: listQuery } }, async (req) => {
    const q = req.query as { connection?: string; all?: boolean; limit?: number };
    return listStuckSteps(deps.pool, {
      connectionId: q.connection,
      includeDismissed: q.all ?? false,
      limit: q.limit ?? 100,
    });
  });

  app.post('/admin/stuck/:id/retry', { schema: { params: idParams } }, async (req, reply) => {
    const id = (req.params as { id: string }).id;
    const step = await stuckStep(deps.pool, id);
    if (!step) return reply.code(404).send({ error: `no stuck step ${id} (it may have succeeded since)` });
    const temporal = await deps.temporal.get();
    try {
      await temporal.workflowService.resetActivity({
        namespace: temporal.options.namespace,
        execution: { workflowId: step.workflowId },
        id: step.activityId,
        identity: 'sm8qbo admin: retry a stuck step',
      });
    } catch (err) {
      // The step is no longer running (it succeeded, or its workflow ended) between the list and the click.
      return reply.code(409).send({
        error: `step ${id} is not running any more: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
    return { id, workflowId: step.workflowId, activityType: step.activityType, retried: true };
  });

  app.post('/admin/stuck/:id/dismiss', { schema: { params: idParams } }, async (req, reply) => {
    const id = (req.params as { id: string }).id;
    if (!(await dismissStuckStep(deps.pool, id)))
      return reply.code(404).send({ error: `no stuck step ${id}` });
    return { id, dismissed: true };
  });
}
