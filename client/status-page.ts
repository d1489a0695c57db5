/**
 * The bookkeeper's status page at `/` (issue 14): per connection its health, budget, held and stuck records
 * with their reasons, recent exports with their latency, and webhook health. Behind the admin token: a
 * browser signs in at /login (session cookie); a stranger's browser is sent there.
 *
 * "Sync again" (POST /status/resync) is the one change a signed-in browser may make: it only asks the
 * record's workflow to read both sides again (the admin resync signal), which cannot lose or change data,
 * whereas pause, resume and disconnect still need the token in a header. Because a cookie rides along on
 * any same-site request, the form carries a token derived from the session (auth.sign), which another page
 * cannot read; docs/decisions.md "Status page".
 */
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { RateGovernor } from '../apis/governor/rate-governor';
import { signalInvoice } from '../routing/routes';
import { CONNECTION_ID_PATTERN, type ConnectionStore } from '../store/connections';
import { heldRecords, recentExports, webhookHealth } from '../store/metrics';
import { parseCookies, SESSION_COOKIE, type AdminAuth } from './auth';
import { HttpError } from './http-errors';
import { statusPageHtml, type ConnectionView } from './status-page-html';
import type { LazyTemporal } from './temporal-client';

export interface StatusPageDeps {
  pool: Pool;
  store: ConnectionStore;
  temporal: LazyTemporal;
  taskQueue: string;
}

const CSRF_PURPOSE = 'status-resync';
const HTML_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
};

/** The form token of a browser session (null without a session: a bearer-token client needs none). */
function csrfToken(auth: AdminAuth, cookieHeader: string | undefined): string | null {
  const session = parseCookies(cookieHeader).get(SESSION_COOKIE);
  return session ? auth.sign(CSRF_PURPOSE, session) : null;
}

/** Every connection's view, or only `only`'s (`/?connection=id`). */
async function views(deps: StatusPageDeps, only?: string): Promise<ConnectionView[]> {
  const connections = await deps.store.list();
  // Reads the tables every worker's governor shares (it never acquires, so it holds no connection of its own).
  const governor = new RateGovernor(deps.pool);
  return Promise.all(
    connections
      .filter((c) => !only || c.id === only)
      .map(async (connection) => {
        const [held, exports, webhooks, budget] = await Promise.all([
          heldRecords(deps.pool, connection.id),
          recentExports(deps.pool, connection.id),
          webhookHealth(deps.pool, connection.id),
          governor.budget(connection.id),
        ]);
        return {
          connection,
          budget,
          held,
          exports,
          webhooks,
        };
      }),
  );
}

/** GET / (a read; inside the read-only protected scope). A browser without a session goes to /login. */
export function registerStatusPage(app: FastifyInstance, deps: StatusPageDeps, auth: AdminAuth): void {
  void app.register(async (scope) => {
    scope.setErrorHandler(async (err: HttpError, req, reply) => {
      if (err.statusCode === 401 && String(req.headers.accept ?? '').includes('text/html'))
        return reply.code(303).header('Location', '/login').send();
      throw err;
    });
    const pageQuery = {
      type: 'object',
      properties: {
        resynced: { type: 'string', maxLength: 200 },
        connection: { type: 'string', pattern: CONNECTION_ID_PATTERN.source },
      },
    } as const;
    scope.get('/', { schema: { querystring: pageQuery } }, async (req, reply) => {
      const { resynced, connection } = req.query as { resynced?: string; connection?: string };
      const notice = resynced
        ? `Asked to sync ${resynced} again. Reload in a few seconds to see the result.`
        : null;
      const html = statusPageHtml(await views(deps, connection), csrfToken(auth, req.headers.cookie), notice);
      return reply.headers(HTML_HEADERS).type('text/html; charset=utf-8').send(html);
    });
  });
}

/** POST /status/resync (inside a protected scope that accepts the session cookie: see the file comment). */
export function registerStatusResync(app: FastifyInstance, deps: StatusPageDeps, auth: AdminAuth): void {
  void app.register(async (scope) => {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 4096 },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
    );
    const body = {
      type: 'object',
      required: ['connection', 'jobUuid'],
      properties: {
        connection: { type: 'string', pattern: CONNECTION_ID_PATTERN.source },
        jobUuid: { type: 'string', pattern: '^[A-Za-z0-9-]{1,64}$' },
        csrf: { type: 'string', maxLength: 200 },
      },
    } as const;
    scope.post('/status/resync', { bodyLimit: 4096, schema: { body } }, async (req, reply) => {
      const form = req.body as { connection: string; jobUuid: string; csrf?: string };
      if (req.headers.authorization === undefined) {
        const session = parseCookies(req.headers.cookie).get(SESSION_COOKIE) ?? '';
        if (!form.csrf || !auth.verify(CSRF_PURPOSE, session, form.csrf))
          throw new HttpError(
            403,
            'this form has expired: reload the status page and press the button again',
          );
      }
      if (!(await deps.store.get(form.connection)))
        throw new HttpError(404, `no connection "${form.connection}"`);
      const temporal = await deps.temporal.get();
      await signalInvoice(temporal, deps.taskQueue, form.connection, form.jobUuid, 'resync');
      const label = await jobLabel(deps.pool, form.connection, form.jobUuid);
      return reply
        .code(303)
        .header('Location', `/?connection=${form.connection}&resynced=${encodeURIComponent(label)}`)
        .send();
    });
  });
}

/** "Job 1234" for the notice (the invoice row's job number), else "the job". */
async function jobLabel(pool: Pool, connection: string, jobUuid: string): Promise<string> {
  const held = await heldRecords(pool, connection);
  return held.find((r) => r.jobUuid === jobUuid)?.label ?? 'the job';
}
