/**
 * Issue 10: the HTTP API as an attacker sees it, against the API built as production builds it (real
 * PostgreSQL, real Temporal, both simulators). Each test names the finding it closes.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { newOAuthClient } from '../apis/quickbooks/tokens';
import { resolveAdminToken } from '../client/admin-token';
import { signalInvoice } from '../routing/routes';
import { invoiceWorkflowId } from '../domain/workflow-ids';
import { apiRoutes } from '../client/api-server';
import { AdminAuth, SESSION_COOKIE } from '../client/auth';
import { newConnectLink } from '../client/connect-links';
import { ConfigError } from '../infra/config';
import { freePort } from '../infra/ports';
import { DEFAULT_API_KEY, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from '../simulators/servicem8';
import { qboOAuthSettings } from '../workers/activity-deps';
import { openConnectLink, requestConnectLink } from '../workers/demo';
import { concretePath, rawRequest, spellings } from './helpers/raw-http';
import { startWorld, type World } from './helpers/world';

let w: World;
let port: number;
let realm: string;

/** The routes that need no admin token, each with its own credential or none. Anything else must be protected. */
const PUBLIC_ROUTES = [
  'GET /callback/quickbooks',
  'GET /callback/servicem8',
  'GET /connect/quickbooks/start',
  'GET /connect/servicem8/start',
  'GET /health',
  'GET /login',
  'HEAD /health',
  'HEAD /login',
  'OPTIONS /codec/decode',
  'OPTIONS /codec/encode',
  'POST /login',
  'POST /logout',
  'POST /webhooks/quickbooks',
  'POST /webhooks/servicem8/:secret',
];

beforeAll(async () => {
  const sm8Port = await freePort();
  const sm8Url = `http://127.0.0.1:${sm8Port}`;
  w = await startWorld({
    sm8: { port: sm8Port },
    env: {
      LOG_LEVEL: 'error', // every refusal below is logged as a warning
      SM8_CLIENT_ID: DEFAULT_CLIENT_ID,
      SM8_CLIENT_SECRET: DEFAULT_CLIENT_SECRET,
      SM8_AUTHORIZE_URL: `${sm8Url}/oauth/authorize`,
      SM8_TOKEN_URL: `${sm8Url}/oauth/access_token`,
    },
  });
  port = Number(new URL(w.apiUrl).port);
  realm = (await w.connect('sec')).realmId;
});
afterAll(async () => {
  await w.close();
});

const bearer = () => ({ Authorization: `Bearer ${w.adminToken}` });

/** Everything an unauthorised request could have changed about connection `sec` and its neighbours. */
async function snapshot(inboxId: string): Promise<string> {
  const q = async (sql: string, params: unknown[]) =>
    JSON.stringify((await w.h.pool.query(sql, params)).rows);
  const ids = ['sec', 'sec-evil'];
  return [
    await q(`SELECT row_to_json(c)::text FROM connections c WHERE id = ANY($1) ORDER BY id`, [ids]),
    await q(`SELECT row_to_json(s)::text FROM oauth_states s WHERE connection_id = ANY($1) ORDER BY state`, [
      ids,
    ]),
    await q(`SELECT row_to_json(l)::text FROM links l WHERE connection_id = ANY($1) ORDER BY 1`, [ids]),
    await q(`SELECT row_to_json(i)::text FROM webhook_inbox i WHERE id = $1`, [inboxId]),
    await q(`SELECT count(*) FROM invoice_exports WHERE connection_id = ANY($1)`, [ids]),
  ].join('\n');
}

describe('finding 1 and 2: the admin and connect routes need the token, whatever the URL spelling', () => {
  it('SEC-1: every protected route of the running app is inside the protected scope; only the known public routes are outside', async () => {
    await w.api.ready();
    const routes = apiRoutes(w.api);
    const publicRoutes = routes.filter((r) => r.auth === null).map((r) => `${r.method} ${r.url}`);
    expect(publicRoutes.sort()).toEqual(PUBLIC_ROUTES);
    const protectedRoutes = routes.filter((r) => r.auth !== null);
    // The admin API and the connect requests are all in there.
    expect(protectedRoutes.map((r) => r.url)).toEqual(
      expect.arrayContaining([
        '/admin/connections',
        '/admin/connections/:id/pause',
        '/admin/workflows/*',
        '/connect/quickbooks',
        '/connect/servicem8',
        '/connections/:id/servicem8',
      ]),
    );
    // A browser session may only read, except the codec's pure transforms (the Web UI posts to them) and
    // the status page's "Sync again" (a resync signal only, with a form token bound to the session).
    const cookieAlways = protectedRoutes
      .filter((r) => r.auth !== 'read-only')
      .map((r) => `${r.method} ${r.url}`);
    expect(cookieAlways.sort()).toEqual(['POST /codec/decode', 'POST /codec/encode', 'POST /status/resync']);
  });

  it('SEC-1: every spelling of every protected route, with no token, a wrong one, the token in the query or a forged session, is refused and changes nothing', async () => {
    await w.api.ready();
    const failed = await w.h.pool.query<{ id: string }>(
      `INSERT INTO webhook_inbox (source, connection_id, event_id, entity, entity_id, payload, state, last_error)
       VALUES ('sm8', 'sec', $1, 'job', 'sec-job', '{}'::jsonb, 'failed', 'test') RETURNING id::text`,
      [`sec-test:${Date.now()}`],
    );
    const inboxId = failed.rows[0]?.id as string;
    const values = {
      id: 'sec',
      connection: 'sec',
      jobUuid: 'sec-job',
      '*': 'invoice/sec/sec-job/history',
    };
    // Bodies that the route would accept from an administrator: a refusal must not depend on a bad body.
    const bodies: Record<string, unknown> = {
      '/connect/quickbooks': { connection: 'sec-evil', name: 'Evil' },
      '/connect/servicem8': { connection: 'sec-evil', name: 'Evil' },
      '/connections/:id/servicem8': { apiKey: DEFAULT_API_KEY, name: 'Evil' },
    };
    const forged = `${SESSION_COOKIE}=v1.${Date.now() + 3_600_000}.${'A'.repeat(43)}`;
    const credentials: Array<[string, Record<string, string>, string]> = [
      ['no token', {}, ''],
      ['wrong token', { Authorization: 'Bearer not-the-admin-token' }, ''],
      ['token with a byte changed', { Authorization: `Bearer ${w.adminToken.slice(0, -1)}x` }, ''],
      [
        'basic auth',
        { Authorization: `Basic ${Buffer.from(`admin:${w.adminToken}`).toString('base64')}` },
        '',
      ],
      ['token in the query string', {}, `token=${encodeURIComponent(w.adminToken)}`],
      ['forged session cookie', { Cookie: forged }, ''],
    ];
    const before = await snapshot(inboxId);
    const routes = apiRoutes(w.api).filter((r) => r.auth !== null);
    const answers: Array<{ method: string; target: string; as: string; status: number }> = [];
    const jobs: Array<() => Promise<void>> = [];
    for (const route of routes) {
      const concrete = concretePath(route.url, {
        ...values,
        id: route.url.startsWith('/admin/inbox') ? inboxId : 'sec',
      });
      const body = route.method === 'POST' ? JSON.stringify(bodies[route.url] ?? {}) : undefined;
      for (const target of spellings(concrete, port))
        for (const [as, headers, query] of credentials)
          jobs.push(async () => {
            const withQuery = query ? `${target}${target.includes('?') ? '&' : '?'}${query}` : target;
            const res = await rawRequest(port, {
              method: route.method,
              target: withQuery,
              headers: { ...headers, ...(body ? { 'Content-Type': 'application/json' } : {}) },
              body,
            });
            answers.push({ method: route.method, target: withQuery, as, status: res.status });
          });
    }
    // Eight at a time: enough to be quick, few enough for a shared machine.
    for (let i = 0; i < jobs.length; i += 8) await Promise.all(jobs.slice(i, i + 8).map((job) => job()));
    const through = answers.filter((a) => a.status >= 200 && a.status < 400);
    const broken = answers.filter((a) => a.status >= 500 || a.status === 0);
    process.stdout.write(
      `SEC-1: ${answers.length} requests over ${routes.length} protected routes: ${through.length} let through, ${broken.length} 5xx/no answer\n`,
    );
    expect(through).toEqual([]);
    expect(broken).toEqual([]);
    expect(answers.length).toBeGreaterThan(1000);
    expect(await snapshot(inboxId)).toBe(before);
    // The same routes do work with the token (the check is not refusing everything).
    const listed = await rawRequest(port, { method: 'GET', target: '/admin/connections', headers: bearer() });
    expect(listed.status).toBe(200);
  }, 180_000);

  it('SEC-5: the admin token is not accepted in a query string, and the old GET connect link is gone', async () => {
    const token = encodeURIComponent(w.adminToken);
    const admin = await axios.get(`${w.apiUrl}/admin/connections?token=${token}`, {
      validateStatus: () => true,
    });
    expect(admin.status).toBe(401);
    const old = await axios.get(`${w.apiUrl}/connect/quickbooks?connection=sec-evil&token=${token}`, {
      maxRedirects: 0,
      validateStatus: () => true,
    });
    expect(old.status).toBe(404);
    expect(await w.h.deps.store.get('sec-evil')).toBeNull();
  });
});

describe('finding 2: fail closed', () => {
  it('SEC-2: without ADMIN_TOKEN the API refuses a non-loopback HOST, and on loopback generates DATA_DIR/admin.token (0600) once', () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm8qbo-token-'));
    expect(() => resolveAdminToken({ adminToken: undefined, host: '0.0.0.0', dataDir })).toThrow(ConfigError);
    expect(() => resolveAdminToken({ adminToken: undefined, host: '192.168.1.5', dataDir })).toThrow(
      /ADMIN_TOKEN must be set when the API listens on a non-loopback address \(HOST=192\.168\.1\.5\)/,
    );
    expect(fs.existsSync(path.join(dataDir, 'admin.token'))).toBe(false);
    const first = resolveAdminToken({ adminToken: undefined, host: '127.0.0.1', dataDir });
    expect(first.file).toBe(path.join(dataDir, 'admin.token'));
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(fs.statSync(first.file as string).mode & 0o777).toBe(0o600);
    expect(resolveAdminToken({ adminToken: undefined, host: '::1', dataDir }).token).toBe(first.token);
    expect(resolveAdminToken({ adminToken: 'set-by-env', host: '0.0.0.0', dataDir })).toEqual({
      token: 'set-by-env',
      file: null,
    });
  });

  it.each([['workers/api.ts'], ['workers/start.ts']])(
    'SEC-2: %s on HOST=0.0.0.0 without ADMIN_TOKEN stops at once with one line naming ADMIN_TOKEN',
    (entry) => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm8qbo-failclosed-'));
      const run = spawnSync(path.resolve('node_modules/.bin/tsx'), [entry], {
        cwd: path.resolve(__dirname, '..'),
        env: { ...process.env, HOST: '0.0.0.0', ADMIN_TOKEN: '', DATA_DIR: dataDir, LOG_LEVEL: 'info' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(run.status).toBe(1);
      const lines = `${run.stdout}${run.stderr}`.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/ADMIN_TOKEN must be set when the API listens on a non-loopback address/);
      expect(fs.readdirSync(dataDir)).toEqual([]); // nothing started, nothing written
    },
  );
});

describe('finding 5: connect links, the state cookie and the realm', () => {
  it('SEC-5: a connect link works once, only for its service, and not after 10 minutes', async () => {
    const link = await requestConnectLink(w.apiUrl, w.adminToken, 'quickbooks', 'sec-link');
    expect(link).toMatch(new RegExp(`^${w.apiUrl}/connect/quickbooks/start\\?link=[A-Za-z0-9_.-]+$`));
    await openConnectLink(link, { realmId: w.qbo.control.createRealm({ companyName: 'sec-link' }) });
    const again = await axios.get(link, { maxRedirects: 0, validateStatus: () => true });
    expect(again.status).toBe(400);
    expect(again.data.error).toMatch(/^this connect link was already used/);

    const otherService = link.replace('/connect/quickbooks/', '/connect/servicem8/');
    expect((await axios.get(otherService, { maxRedirects: 0, validateStatus: () => true })).status).toBe(400);
    const tampered = link.replace(/link=./, (m) =>
      m.endsWith('e') ? `${m.slice(0, -1)}f` : `${m.slice(0, -1)}e`,
    );
    const bad = await axios.get(tampered, { maxRedirects: 0, validateStatus: () => true });
    expect(bad.data.error).toMatch(/^this connect link is not valid/);

    // A link signed with the same key eleven minutes ago.
    const past = new AdminAuth({
      token: w.adminToken,
      secureCookies: false,
      now: () => Date.now() - 11 * 60_000,
    });
    const old = newConnectLink(past, w.h.config, 'qbo', 'sec-old', 'Old');
    const expired = await axios.get(old.url, { maxRedirects: 0, validateStatus: () => true });
    expect(expired.data.error).toMatch(/^this connect link has expired/);
    expect(await w.h.deps.store.get('sec-old')).toBeNull();
  });

  it("SEC-5: the OAuth callback refuses a browser without the state cookie (or with another flow's) and stores nothing", async () => {
    const company = w.qbo.control.createRealm({ companyName: 'sec-cookie' });
    const mine = await openConnectLink(
      await requestConnectLink(w.apiUrl, w.adminToken, 'quickbooks', 'sec-cookie'),
      { realmId: company },
    );
    const other = await openConnectLink(
      await requestConnectLink(w.apiUrl, w.adminToken, 'quickbooks', 'sec-cookie-2'),
      { realmId: w.qbo.control.createRealm({ companyName: 'sec-cookie-2' }) },
    );
    for (const cookie of [undefined, other.cookie, `sm8qbo_connect_qbo=${'A'.repeat(43)}`]) {
      const res = await axios.get(mine.callbackUrl, {
        headers: cookie ? { Cookie: cookie } : {},
        validateStatus: () => true,
      });
      expect(res.status).toBe(400);
      expect(res.data.error).toMatch(/did not begin in this browser/);
    }
    expect((await w.h.deps.store.require('sec-cookie')).qboRealmId).toBeNull();
    // The refused attempts did not use up the state: the browser that began the flow completes it.
    const ok = await axios.get(mine.callbackUrl, {
      headers: { Cookie: mine.cookie },
      validateStatus: () => true,
    });
    expect(ok.status).toBe(200);
    expect(ok.headers['set-cookie']?.[0]).toMatch(
      /^sm8qbo_connect_qbo=; Path=\/callback\/; Max-Age=0; HttpOnly; SameSite=Lax/,
    );
    expect((await w.h.deps.store.require('sec-cookie')).qboRealmId).toBe(company);
  });

  it('SEC-5: the connect link sets an HttpOnly, SameSite=Lax cookie for the callbacks only, and sends no token anywhere', async () => {
    const link = await requestConnectLink(w.apiUrl, w.adminToken, 'quickbooks', 'sec-headers');
    const start = await axios.get(link, { maxRedirects: 0, validateStatus: () => true });
    expect(start.status).toBe(302);
    expect(start.headers['set-cookie']?.[0]).toMatch(
      /^sm8qbo_connect_qbo=[A-Za-z0-9_-]{43}; Path=\/callback\/; Max-Age=900; HttpOnly; SameSite=Lax$/,
    );
    expect(start.headers['referrer-policy']).toBe('no-referrer');
    expect(String(start.headers.location)).not.toContain(w.adminToken);
    expect(link).not.toContain(w.adminToken);
  });

  it('SEC-5: a callback whose realmId is not the company the token reads is refused, nothing stored, the token revoked', async () => {
    const authorised = w.qbo.control.createRealm({ companyName: 'sec-realm-a' });
    const claimed = w.qbo.control.createRealm({ companyName: 'sec-realm-b' });
    const opened = await openConnectLink(
      await requestConnectLink(w.apiUrl, w.adminToken, 'quickbooks', 'sec-realm'),
      { realmId: authorised },
    );
    const revokes = () => w.qbo.control.calls().filter((c) => c.url.includes('/tokens/revoke')).length;
    const revokesBefore = revokes();
    const forged = new URL(opened.callbackUrl);
    forged.searchParams.set('realmId', claimed);
    const res = await axios.get(forged.toString(), {
      headers: { Cookie: opened.cookie },
      validateStatus: () => true,
    });
    expect(res.status).toBe(400);
    expect(res.data.error).toMatch(
      /^QuickBooks authorised another company than the callback names \(realmId \d+\); nothing was saved/,
    );
    const row = await w.h.pool.query(
      `SELECT qbo_realm_id, qbo_secret FROM connections WHERE id = 'sec-realm'`,
    );
    expect(row.rows[0]).toEqual({ qbo_realm_id: null, qbo_secret: null });
    expect(await w.h.deps.store.findByRealm(claimed)).toBeNull();
    expect(revokes() - revokesBefore).toBe(1); // the unused authorisation does not linger at Intuit
  });
  it('CON-1: a QuickBooks that throttles the company check (a 429, then a 503) still connects', async () => {
    const company = w.qbo.control.createRealm({ companyName: 'sec-throttled' });
    const opened = await openConnectLink(
      await requestConnectLink(w.apiUrl, w.adminToken, 'quickbooks', 'sec-throttled'),
      { realmId: company },
    );
    const path = `/v3/company/${company}/companyinfo/`;
    w.qbo.control.addFault({ path, status: 429, count: 1 });
    w.qbo.control.addFault({ path, status: 503, count: 1 });
    const res = await axios.get(opened.callbackUrl, {
      headers: { Cookie: opened.cookie },
      validateStatus: () => true,
    });
    expect(res.status).toBe(200);
    expect((await w.h.deps.store.require('sec-throttled')).qboRealmId).toBe(company);
    expect(
      w.qbo.control
        .calls()
        .filter((c) => c.url.includes(path))
        .map((c) => c.status),
    ).toEqual([429, 503, 200]);
  });
});

describe('finding 5: disconnect revokes the QuickBooks authorisation at Intuit', () => {
  it('SEC-5: after disconnect the old refresh token no longer works at Intuit, and the connection forgot it', async () => {
    await w.connect('sec-revoke');
    const { token } = await w.h.deps.store.readQboTokens('sec-revoke');
    const res = await axios.post(
      `${w.apiUrl}/admin/connections/sec-revoke/disconnect`,
      {},
      { headers: bearer() },
    );
    expect(res.data).toEqual({
      id: 'sec-revoke',
      status: 'disconnected',
      resumedWorkflows: 0,
      qboRevoked: true,
    });
    const refresh = await newOAuthClient(qboOAuthSettings(w.h.config))
      .refreshUsingToken(token.refresh_token)
      .then(
        () => 'refreshed',
        (err: { error?: string }) => err.error,
      );
    expect(refresh).toBe('invalid_grant');
    const read = await axios.get(`${w.qbo.url}/v3/company/${realm}/companyinfo/${realm}`, {
      headers: { Authorization: `Bearer ${token.access_token}` },
      validateStatus: () => true,
    });
    expect(read.status).toBe(401);
    const row = await w.h.pool.query(`SELECT status, qbo_secret FROM connections WHERE id = 'sec-revoke'`);
    expect(row.rows[0]).toEqual({ status: 'disconnected', qbo_secret: null });
  });

  it('SEC-5: a revocation Intuit does not confirm is reported, and the connection is disconnected anyway', async () => {
    await w.connect('sec-revoke-2');
    w.qbo.control.addFault({ path: 'tokens/revoke', status: 503, count: 1 });
    const res = await axios.post(
      `${w.apiUrl}/admin/connections/sec-revoke-2/disconnect`,
      {},
      { headers: bearer() },
    );
    expect(res.status).toBe(200);
    expect(res.data).toMatchObject({ status: 'disconnected', qboRevoked: false });
    expect(res.data.warning).toMatch(
      /^disconnected here, but QuickBooks did not confirm the revocation \(HTTP 503\)/,
    );
    const row = await w.h.pool.query(`SELECT status, qbo_secret FROM connections WHERE id = 'sec-revoke-2'`);
    expect(row.rows[0]).toEqual({ status: 'disconnected', qbo_secret: null });
  });
});

describe('finding 5: error answers carry no internals; malformed URLs are 400', () => {
  it("SEC-5: ServiceM8 OAuth works through the cookie-bound flow; a refused code is reported by status, not by ServiceM8's answer", async () => {
    const link = await requestConnectLink(w.apiUrl, w.adminToken, 'servicem8', 'sec-sm8');
    const opened = await openConnectLink(link);
    const forged = new URL(opened.callbackUrl);
    forged.searchParams.set('code', 'not-a-code');
    const refused = await axios.get(forged.toString(), {
      headers: { Cookie: opened.cookie },
      validateStatus: () => true,
    });
    expect(refused.status).toBe(502);
    expect(refused.data).toEqual({
      error:
        'ServiceM8 refused the authorisation code (HTTP 400): ask for a new connect link (sm8qbo connect …)',
    });
    const again = await openConnectLink(
      await requestConnectLink(w.apiUrl, w.adminToken, 'servicem8', 'sec-sm8'),
    );
    const ok = await axios.get(again.callbackUrl, {
      headers: { Cookie: again.cookie },
      validateStatus: () => true,
    });
    expect(ok.status).toBe(200);
    expect(ok.data).toMatchObject({ connected: 'servicem8', connection: 'sec-sm8' });
    expect((await w.h.deps.store.require('sec-sm8')).sm8AuthKind).toBe('oauth');
  });

  it('SEC-5: /admin/workflows decodes once (%25E0 is a workflow id, answered 404); malformed percent-encoding anywhere is 400, never 500', async () => {
    const history = await rawRequest(port, {
      method: 'GET',
      target: '/admin/workflows/%25E0/history',
      headers: bearer(),
    });
    expect(history.status).toBe(404);
    expect(JSON.parse(history.body)).toEqual({ error: 'no workflow "%E0"' });
    const cases: Array<[string, string, Record<string, string>]> = [
      ['GET', '/admin/workflows/%E0/history', bearer()],
      ['GET', '/%E0', {}],
      ['GET', '/health?x=%E0', {}],
      ['GET', '/admin/connections?state=%ZZ', bearer()],
      ['POST', '/webhooks/servicem8/%C3%28-not-utf8', {}],
      ['POST', '/admin/connections/%E0/pause', bearer()],
    ];
    for (const [method, target, headers] of cases) {
      const res = await rawRequest(port, { method, target, headers });
      expect({ target, status: res.status }).toEqual({ target, status: 400 });
      expect(res.body).not.toContain('FST_');
    }
  });
});

describe('found by the fuzz test', () => {
  it('SEC-FUZZ: the record view answers within seconds when the workflow has no worker to answer its query', async () => {
    const job = `sec-noworker-${Date.now()}`;
    // Started on a task queue no worker polls: its status query can never be answered.
    await signalInvoice(w.h.client, `no-worker-${Date.now()}`, 'sec', job, 'sm8JobChanged');
    try {
      const started = Date.now();
      const res = await axios.get(`${w.apiUrl}/admin/records/sec/${job}`, {
        headers: bearer(),
        timeout: 15_000,
      });
      expect(res.status).toBe(200);
      expect(res.data).toMatchObject({ workflowStatus: 'RUNNING', status: null });
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await w.h.client.workflow.getHandle(invoiceWorkflowId('sec', job)).terminate('test done');
    }
  });
});

describe('the browser session: sign in with the token, read only', () => {
  it('SEC-6: GET /login is a form; POST /login with the token sets a signed HttpOnly session that reads GET routes but cannot change anything; /logout ends it', async () => {
    const page = await axios.get<string>(`${w.apiUrl}/login`, { responseType: 'text' });
    expect(page.data).toContain('<form method="post" action="/login">');
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    const form = {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      validateStatus: () => true,
    };
    const wrong = await axios.post(`${w.apiUrl}/login`, 'token=guess', form);
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();
    const signedIn = await axios.post(`${w.apiUrl}/login`, `token=${encodeURIComponent(w.adminToken)}`, form);
    expect(signedIn.status).toBe(200);
    const setCookie = signedIn.headers['set-cookie']?.[0] ?? '';
    expect(setCookie).toMatch(
      /^sm8qbo_session=v1\.\d+\.[A-Za-z0-9_-]{43}; Path=\/; Max-Age=43200; HttpOnly; SameSite=Lax$/,
    );
    const cookie = { Cookie: setCookie.split(';')[0] as string };

    const read = await axios.get(`${w.apiUrl}/admin/connections`, {
      headers: cookie,
      validateStatus: () => true,
    });
    expect(read.status).toBe(200);
    const change = await axios.post(
      `${w.apiUrl}/admin/connections/sec/pause`,
      {},
      { headers: cookie, validateStatus: () => true },
    );
    expect(change.status).toBe(403);
    expect(change.data.error).toMatch(/^a browser session can only read/);
    const link = await axios.post(
      `${w.apiUrl}/connect/quickbooks`,
      { connection: 'sec-evil' },
      { headers: cookie, validateStatus: () => true },
    );
    expect(link.status).toBe(403);
    expect((await w.h.deps.store.require('sec')).status).toBe('active');

    // A session signed with another key, or expired, is no session.
    const elsewhere = new AdminAuth({ token: 'another-token', secureCookies: false }).newSession().cookie;
    const expired = new AdminAuth({
      token: w.adminToken,
      secureCookies: false,
      sessionTtlMs: -1000,
    }).newSession().cookie;
    for (const c of [elsewhere, expired]) {
      const res = await axios.get(`${w.apiUrl}/admin/connections`, {
        headers: { Cookie: c.split(';')[0] as string },
        validateStatus: () => true,
      });
      expect(res.status).toBe(401);
    }
    const out = await axios.post(`${w.apiUrl}/logout`, '', form);
    expect(out.headers['set-cookie']?.[0]).toMatch(/^sm8qbo_session=; Path=\/; Max-Age=0; HttpOnly/);
  });
});
