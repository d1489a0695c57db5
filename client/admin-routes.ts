/**
 * The admin API (OPS-2), registered by api-server.ts inside the token-protected scope (client/auth.ts): connections and their health and API budgets,
 * invoices by sync state with their reasons, re-sync of one record, a record's workflow and links, and a
 * workflow's history for a bug report, and the webhook inbox (list, retry). Replaying a history against the
 * current code is done by the CLI (`sm8qbo replay`), which has the code at hand. Every input has a schema;
 * a call that needs Temporal while it is unreachable answers 503 before changing anything.
 */
import type { FastifyInstance } from 'fastify';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { Pool } from 'pg';
import { CONNECTION_ID_PATTERN, type ConnectionStore, type QboToken } from '../store/connections';
import type { LinkStore } from '../store/links';
import { OnboardingStore } from '../store/onboarding';
import { invoiceExportCounts, invoiceExportRow, jobPaymentLinks } from '../store/admin-queries';
import { INBOX_STATES, listInbox, retryInboxRow, type InboxState } from '../store/inbox';
import { listStuckSteps } from '../store/stuck-steps';
import { revokeQboToken, type QboOAuthSettings } from '../apis/quickbooks/tokens';
import { RateGovernor } from '../apis/governor/rate-governor';
import { completion } from '../domain/onboarding';
import { invoiceWorkflowId, onboardingWorkflowId, paymentsWorkflowId } from '../domain/workflow-ids';
import type { Logger } from '../infra/log';
import { invoiceStatusQuery, paymentsStatusQuery } from '../workflows/messages';
import { notifyConnectionRestored } from '../routing/connection-events';
import { INVOICE_VIEW_STATES, listInvoiceViews } from './invoice-views';
import { startOnboarding } from './onboarding';
import { signalInvoice } from '../routing/routes';
import { isTemporalDown, type LazyTemporal } from './temporal-client';

export interface AdminDeps {
  /** The token client/auth.ts checks (api-server.ts refuses to build without one). */
  adminToken: string | undefined;
  pool: Pool;
  store: ConnectionStore;
  links: LinkStore;
  temporal: LazyTemporal;
  taskQueue: string;
}

const connectionId = { type: 'string', pattern: CONNECTION_ID_PATTERN.source } as const;
const jobUuid = { type: 'string', pattern: '^[A-Za-z0-9-]{1,64}$' } as const;
const limit = { type: 'integer', minimum: 1, maximum: 1000 } as const;
const params = <P extends Record<string, object>>(properties: P) =>
  ({ type: 'object', required: Object.keys(properties), properties }) as const;
const query = <P extends Record<string, object>>(properties: P) => ({ type: 'object', properties }) as const;
const recordParams = params({ connection: connectionId, jobUuid });
/** How long the record view waits for a workflow to answer its status query (a worker answers in ms). */
const QUERY_DEADLINE_MS = 3000;

/** What disconnecting needs beyond AdminDeps: Intuit's revoke endpoint, and a log for its failures. */
export interface AdminExtras {
  qboOAuth: QboOAuthSettings;
  log: Pick<Logger, 'warn'>;
}

/** Outcome of revoking a connection's QuickBooks authorisation at Intuit before forgetting it. */
type QboRevocation = { qboRevoked: boolean; warning?: string };

async function revokeAtIntuit(
  extras: AdminExtras,
  id: string,
  token: QboToken | null,
): Promise<QboRevocation> {
  if (!token) return { qboRevoked: false };
  try {
    await revokeQboToken(extras.qboOAuth, token.refresh_token);
    return { qboRevoked: true };
  } catch (err) {
    const e = err as { authResponse?: { response?: { status?: number } }; message?: string };
    const status = e.authResponse?.response?.status;
    extras.log.warn(`disconnect ${id}: revoking the QuickBooks token failed: ${e.message ?? String(err)}`);
    return {
      qboRevoked: false,
      warning: `disconnected here, but QuickBooks did not confirm the revocation${status ? ` (HTTP ${status})` : ' (no answer)'}: remove the app under Apps > My apps in QuickBooks to be sure`,
    };
  }
}

/** Registers the admin routes on `app`, which must be a scope protected by client/auth.ts. */
export function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps, extras: AdminExtras): void {
  app.get('/admin/connections', async () => {
    const connections = await deps.store.list();
    const counts = await invoiceExportCounts(deps.pool);
    return connections.map((c) => ({
      id: c.id,
      name: c.name,
      status: c.status,
      statusReason: c.statusReason,
      qboRealmId: c.qboRealmId,
      sm8AuthKind: c.sm8AuthKind,
      qboAccessExpiresAt: c.qboAccessExpiresAt,
      invoices: Object.fromEntries(
        counts.filter((r) => r.connection_id === c.id).map((r) => [r.state, Number(r.n)]),
      ),
    }));
  });

  for (const action of ['pause', 'resume', 'disconnect'] as const) {
    app.post(
      `/admin/connections/:id/${action}`,
      { schema: { params: params({ id: connectionId }) } },
      async (req, reply) => {
        const id = (req.params as { id: string }).id;
        if (!(await deps.store.get(id))) return reply.code(404).send({ error: `no connection "${id}"` });
        // Resuming wakes the parked workflows: check Temporal first, so a 503 leaves the connection as it was.
        const temporal = action === 'resume' ? await deps.temporal.get() : null;
        if (action === 'pause') await deps.store.setStatus(id, 'paused', 'paused by an administrator');
        // Revoked under the row lock, before the tokens are forgotten: no refresh can rotate them meanwhile.
        let revocation: QboRevocation | undefined;
        if (action === 'disconnect')
          await deps.store.disconnect(id, undefined, async (token) => {
            revocation = await revokeAtIntuit(extras, id, token);
          });
        let resumed = 0;
        if (temporal) {
          await deps.store.setStatus(id, 'active');
          resumed = await notifyConnectionRestored(temporal, id);
        }
        return {
          id,
          status: (await deps.store.require(id)).status,
          resumedWorkflows: resumed,
          ...revocation,
        };
      },
    );
  }

  // Issue 12: the connection's API budgets (used by lane, slowdown, cooldown, bulk paused near the daily cap).
  // A governor that never acquires only reads the tables the workers' governors share.
  const governor = new RateGovernor(deps.pool);
  app.get(
    '/admin/connections/:id/budget',
    { schema: { params: params({ id: connectionId }) } },
    async (req, reply) => {
      const id = (req.params as { id: string }).id;
      if (!(await deps.store.get(id))) return reply.code(404).send({ error: `no connection "${id}"` });
      return { connection: id, budgets: await governor.budget(id) };
    },
  );

  // CM-1 / OPS-2: start (or re-run) a connection's onboarding, and see its progress.
  const onboarding = new OnboardingStore(deps.pool);
  const onboardingBody = {
    type: 'object',
    additionalProperties: false,
    properties: { pageSize: { type: 'integer', minimum: 1, maximum: 1000 } },
  } as const;
  app.post(
    '/admin/connections/:id/onboarding',
    { schema: { params: params({ id: connectionId }), body: onboardingBody } },
    async (req, reply) => {
      const id = (req.params as { id: string }).id;
      const c = await deps.store.get(id);
      if (!c) return reply.code(404).send({ error: `no connection "${id}"` });
      if (!c.qboRealmId || !c.sm8AuthKind)
        return reply
          .code(409)
          .send({ error: `connection "${id}" needs both QuickBooks and ServiceM8 connected` });
      const { pageSize } = (req.body ?? {}) as { pageSize?: number };
      const temporal = await deps.temporal.get();
      const start = await startOnboarding(temporal, deps.taskQueue, id, { startedBy: 'admin', pageSize });
      return reply.code(start.started ? 202 : 200).send(start);
    },
  );

  app.get(
    '/admin/connections/:id/onboarding',
    { schema: { params: params({ id: connectionId }) } },
    async (req, reply) => {
      const id = (req.params as { id: string }).id;
      if (!(await deps.store.get(id))) return reply.code(404).send({ error: `no connection "${id}"` });
      const workflowId = onboardingWorkflowId(id);
      // PostgreSQL is the durable record and counts record by record (the workflow's query, `progress`,
      // moves page by page); `workflowStatus` says whether a run is still going ('UNKNOWN' while Temporal
      // is unreachable: the progress is still shown).
      const described = await deps.temporal
        .get()
        .then((t) => t.workflow.getHandle(workflowId).describe())
        .then((d) => d.status.name as string)
        .catch((err: unknown) => (isTemporalDown(err) ? 'UNKNOWN' : 'NOT_FOUND'));
      const progress = await onboarding.progress(id);
      return {
        workflowId,
        workflowStatus: described,
        completion: progress ? completion(progress) : 0,
        progress,
      };
    },
  );

  const invoicesQuery = query({
    connection: connectionId,
    state: { type: 'string', enum: INVOICE_VIEW_STATES },
    limit,
  });
  app.get('/admin/invoices', { schema: { querystring: invoicesQuery } }, async (req) => {
    const q = req.query as { connection?: string; state?: string; limit?: number };
    // OPS-5: an invoice with a stuck step shows STUCK and the failure in words (client/invoice-views.ts).
    const rows = await listInvoiceViews(deps.pool, {
      connection: q.connection,
      state: q.state,
      limit: q.limit ?? 200,
    });
    return rows.map((row) => ({ ...row, workflowId: invoiceWorkflowId(row.connection_id, row.job_uuid) }));
  });

  app.post(
    '/admin/invoices/:connection/:jobUuid/resync',
    { schema: { params: recordParams } },
    async (req, reply) => {
      const { connection, jobUuid } = req.params as { connection: string; jobUuid: string };
      if (!(await deps.store.get(connection)))
        return reply.code(404).send({ error: `no connection "${connection}"` });
      const temporal = await deps.temporal.get();
      const workflowId = await signalInvoice(temporal, deps.taskQueue, connection, jobUuid, 'resync');
      return { workflowId, signalled: 'resync' };
    },
  );

  app.get('/admin/records/:connection/:jobUuid', { schema: { params: recordParams } }, async (req, reply) => {
    const { connection, jobUuid } = req.params as { connection: string; jobUuid: string };
    if (!(await deps.store.get(connection)))
      return reply.code(404).send({ error: `no connection "${connection}"` });
    const workflowId = invoiceWorkflowId(connection, jobUuid);
    const temporal = await deps.temporal.get();
    const handle = temporal.workflow.getHandle(workflowId);
    const paymentsId = paymentsWorkflowId(connection, jobUuid);
    // A query waits for a worker: with none running it would hold this request (and a socket) for ever.
    const answerSoon = <T>(query: () => Promise<T>) =>
      temporal.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, query).catch(() => null);
    const [link, exportRow, status, described, paymentsStatus, paymentLinks, stuck] = await Promise.all([
      deps.links.bySm8(connection, 'invoice', jobUuid),
      invoiceExportRow(deps.pool, connection, jobUuid),
      answerSoon(() => handle.query(invoiceStatusQuery)),
      handle.describe().catch((err: unknown) => {
        if (isTemporalDown(err)) throw err;
        return null;
      }),
      answerSoon(() => temporal.workflow.getHandle(paymentsId).query(paymentsStatusQuery)),
      jobPaymentLinks(deps.pool, connection, jobUuid),
      listStuckSteps(deps.pool, { connectionId: connection, workflowIds: [workflowId, paymentsId] }),
    ]);
    if (!described && !exportRow && !link && !paymentLinks.length)
      return reply.code(404).send({
        error: `connection "${connection}" has no record of job "${jobUuid}": the sync has not seen it (check the job uuid; \`sm8qbo invoices\` lists the known ones)`,
      });
    return {
      workflowId,
      runId: described?.runId ?? null,
      workflowStatus: described?.status.name ?? 'NOT_FOUND',
      status,
      export: exportRow,
      link,
      // PAY-: the job's payments owner and the payments it linked.
      payments: { workflowId: paymentsId, status: paymentsStatus, links: paymentLinks },
      // Issue 13: steps of this job that keep failing, with why (`sm8qbo stuck retry <id>` runs one now).
      stuck,
    };
  });

  const workflowParams = params({ '*': { type: 'string', minLength: 1, maxLength: 1000 } });
  app.get('/admin/workflows/*', { schema: { params: workflowParams } }, async (req, reply) => {
    // Fastify has already decoded the wildcard once (%2F included); decoding again would turn %25 into %.
    const workflowId = (req.params as { '*': string })['*'].replace(/\/history$/, '');
    const temporal = await deps.temporal.get();
    try {
      const history = await temporal.workflow.getHandle(workflowId).fetchHistory();
      return reply.type('application/json').send(historyToJSON(history));
    } catch (err) {
      if (isTemporalDown(err)) throw err;
      return reply.code(404).send({ error: `no workflow "${workflowId}"` });
    }
  });

  // The webhook inbox works without Temporal: it is what keeps events while Temporal is down.
  const inboxQuery = query({
    state: { type: 'string', enum: INBOX_STATES },
    connection: connectionId,
    limit,
  });
  app.get('/admin/inbox', { schema: { querystring: inboxQuery } }, async (req) => {
    const q = req.query as { state?: InboxState; connection?: string; limit?: number };
    return listInbox(deps.pool, { state: q.state, connection: q.connection, limit: q.limit ?? 100 });
  });

  const inboxIdParams = params({ id: { type: 'string', pattern: '^[0-9]{1,18}$' } });
  app.post('/admin/inbox/:id/retry', { schema: { params: inboxIdParams } }, async (req, reply) => {
    const id = (req.params as { id: string }).id;
    const outcome = await retryInboxRow(deps.pool, id);
    if (outcome.retried) return { ...outcome, state: 'pending' };
    if (outcome.reason === 'not-found') return reply.code(404).send({ error: `no inbox event ${id}` });
    return reply.code(409).send({
      error: `inbox event ${id} is ${outcome.state}: only failed or unrouted events can be retried`,
    });
  });
}
