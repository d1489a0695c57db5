/**
 * The admin API (OPS-2), behind `Authorization: Bearer <ADMIN_TOKEN>`: connections and their health,
 * invoices by sync state with their reasons, re-sync of one record, a record's workflow and links, and a
 * workflow's history for a bug report. Replaying a history against the current code is done by the CLI
 * (`sm8qbo replay`), which has the code at hand.
 */
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { Pool } from 'pg';
import type { ConnectionStore } from '../activities/connection-store';
import type { LinkStore } from '../activities/link-store';
import { invoiceWorkflowId, paymentsWorkflowId } from '../domain/workflow-ids';
import { invoiceStatusQuery } from '../workflows/invoice';
import { paymentsStatusQuery } from '../workflows/payments';
import { notifyConnectionRestored } from './connection-events';
import { signalInvoice } from './routing';

export interface AdminDeps {
  adminToken: string | undefined;
  pool: Pool;
  store: ConnectionStore;
  links: LinkStore;
  temporal: Client;
  taskQueue: string;
}

function authorised(deps: AdminDeps, req: FastifyRequest, reply: FastifyReply): boolean {
  if (!deps.adminToken) {
    void reply.code(403).send({ error: 'the admin API is disabled: set ADMIN_TOKEN' });
    return false;
  }
  const given = Buffer.from(req.headers.authorization?.replace(/^Bearer /, '') ?? '');
  const expected = Buffer.from(deps.adminToken);
  if (given.length === expected.length && crypto.timingSafeEqual(given, expected)) return true;
  void reply.code(401).send({ error: 'admin token required: Authorization: Bearer <ADMIN_TOKEN>' });
  return false;
}

export function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  app.addHook('onRequest', async (req, reply) => {
    if (req.url.startsWith('/admin/') && !authorised(deps, req, reply)) return reply;
  });

  app.get('/admin/connections', async () => {
    const connections = await deps.store.list();
    const counts = await deps.pool.query<{ connection_id: string; state: string; n: string }>(
      'SELECT connection_id, state, count(*) AS n FROM invoice_exports GROUP BY connection_id, state',
    );
    return connections.map((c) => ({
      id: c.id,
      name: c.name,
      status: c.status,
      statusReason: c.statusReason,
      qboRealmId: c.qboRealmId,
      sm8AuthKind: c.sm8AuthKind,
      qboAccessExpiresAt: c.qboAccessExpiresAt,
      invoices: Object.fromEntries(
        counts.rows.filter((r) => r.connection_id === c.id).map((r) => [r.state, Number(r.n)]),
      ),
    }));
  });

  for (const action of ['pause', 'resume', 'disconnect'] as const) {
    app.post(`/admin/connections/:id/${action}`, async (req, reply) => {
      const id = (req.params as { id: string }).id;
      if (!(await deps.store.get(id))) return reply.code(404).send({ error: `no connection "${id}"` });
      if (action === 'pause') await deps.store.setStatus(id, 'paused', 'paused by an administrator');
      if (action === 'disconnect') await deps.store.disconnect(id);
      let resumed = 0;
      if (action === 'resume') {
        await deps.store.setStatus(id, 'active');
        resumed = await notifyConnectionRestored(deps.temporal, id);
      }
      return { id, status: (await deps.store.require(id)).status, resumedWorkflows: resumed };
    });
  }

  app.get('/admin/invoices', async (req, reply) => {
    const q = req.query as { connection?: string; state?: string; limit?: string };
    const limit = Math.min(Number(q.limit ?? 200) || 200, 1000);
    if (q.state && !/^[A-Z_]+$/.test(q.state))
      return reply.code(400).send({ error: 'state must be like BLOCKED' });
    const r = await deps.pool.query(
      `SELECT connection_id, job_uuid, generated_job_id, state, reason_code, reason_text, qbo_invoice_id,
              sm8_total_cents, qbo_total_cents, exported_at, updated_at
         FROM invoice_exports
        WHERE ($1::text IS NULL OR connection_id = $1) AND ($2::text IS NULL OR state = $2)
        ORDER BY updated_at DESC LIMIT $3`,
      [q.connection ?? null, q.state ?? null, limit],
    );
    return r.rows.map((row) => ({ ...row, workflowId: invoiceWorkflowId(row.connection_id, row.job_uuid) }));
  });

  app.post('/admin/invoices/:connection/:jobUuid/resync', async (req, reply) => {
    const { connection, jobUuid } = req.params as { connection: string; jobUuid: string };
    if (!(await deps.store.get(connection)))
      return reply.code(404).send({ error: `no connection "${connection}"` });
    const workflowId = await signalInvoice(deps.temporal, deps.taskQueue, connection, jobUuid, 'resync');
    return { workflowId, signalled: 'resync' };
  });

  app.get('/admin/records/:connection/:jobUuid', async (req) => {
    const { connection, jobUuid } = req.params as { connection: string; jobUuid: string };
    const workflowId = invoiceWorkflowId(connection, jobUuid);
    const handle = deps.temporal.workflow.getHandle(workflowId);
    const paymentsId = paymentsWorkflowId(connection, jobUuid);
    const [link, exportRow, status, described, paymentsStatus, paymentLinks] = await Promise.all([
      deps.links.bySm8(connection, 'invoice', jobUuid),
      deps.pool.query('SELECT * FROM invoice_exports WHERE connection_id = $1 AND job_uuid = $2', [
        connection,
        jobUuid,
      ]),
      handle.query(invoiceStatusQuery).catch(() => null),
      handle.describe().catch(() => null),
      deps.temporal.workflow
        .getHandle(paymentsId)
        .query(paymentsStatusQuery)
        .catch(() => null),
      deps.pool.query(
        `SELECT origin, sm8_payment_uuid, qbo_payment_id, qbo_invoice_id, amount_cents, state FROM payment_links
          WHERE connection_id = $1 AND job_uuid = $2 ORDER BY id`,
        [connection, jobUuid],
      ),
    ]);
    return {
      workflowId,
      runId: described?.runId ?? null,
      workflowStatus: described?.status.name ?? 'NOT_FOUND',
      status,
      export: exportRow.rows[0] ?? null,
      link,
      // PAY-: the job's payments owner and the payments it linked.
      payments: { workflowId: paymentsId, status: paymentsStatus, links: paymentLinks.rows },
    };
  });

  app.get('/admin/workflows/*', async (req, reply) => {
    const workflowId = decodeURIComponent((req.params as { '*': string })['*'].replace(/\/history$/, ''));
    try {
      const history = await deps.temporal.workflow.getHandle(workflowId).fetchHistory();
      return reply.type('application/json').send(historyToJSON(history));
    } catch (err) {
      return reply.code(404).send({ error: `no workflow "${workflowId}": ${(err as Error).message}` });
    }
  });
}
