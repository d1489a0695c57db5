/**
 * Issue 10: a bounded, seeded fuzz of the whole HTTP API. The API is built by `buildApiServer` exactly as in
 * production, listens on a real port, and uses a database of its own (so that the row counts below are not
 * disturbed by other test files), real Temporal and both simulators.
 *
 * Phase 1 sends only requests that must be refused (no token, a wrong one, a forged cookie or signature) to
 * every route; nothing may change in PostgreSQL. Phase 2 mixes in the right credentials; nothing may fail.
 * Either way: 0 answers of 5xx, and the server still answers at the end.
 *
 * FUZZ_SEED=<n> reproduces a run (the seed is printed); FUZZ_REQUESTS=<n> changes its size.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { apiRoutes, buildApiServer, type ApiRoute } from '../client/api-server';
import { LazyTemporal } from '../client/temporal-client';
import { sm8SecretHash } from '../client/webhook-routes';
import { createPool, dropDatabase, ensureDatabaseExists } from '../infra/database';
import { migrate } from '../infra/migrate';
import { freePort } from '../infra/ports';
import { startQuickBooksSimulator, type RunningQuickBooksSimulator } from '../simulators/quickbooks';
import { signWebhookBody } from '../simulators/quickbooks/webhooks';
import {
  DEFAULT_API_KEY,
  DEFAULT_CLIENT_ID,
  DEFAULT_CLIENT_SECRET,
  startServiceM8Simulator,
  type RunningServiceM8Simulator,
} from '../simulators/servicem8';
import { buildActivityDeps, buildApiDeps, createGovernor } from '../workers/activity-deps';
import { openConnectLink, requestConnectLink, simulatorProductEnv } from '../workers/demo';
import type { ActivityDeps } from '../activities';
import { testConfig, testDataConverter, testEnv, uniqueTaskQueue } from './helpers/env';
import { concretePath, quickRequest, rawRequest, spellings, type RawRequest } from './helpers/raw-http';

const SEED = Number(process.env.FUZZ_SEED ?? crypto.randomInt(0, 2 ** 31));
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 10_000);
/** Share of the requests in phase 1 (refused only, rows counted). */
const PHASE_1_SHARE = 0.7;
const ADMIN_TOKEN = `fuzz-admin-${crypto.randomBytes(12).toString('base64url')}`;
const VERIFIER = 'fuzz-qbo-verifier';
const SM8_SECRET = `fuzzsecret${crypto.randomBytes(12).toString('hex')}`;
const CONN = 'fz-seed';

/** mulberry32: small, fast, and the same sequence for the same seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const chance = (p: number) => next() < p;
  return { next, int, pick, chance };
}
type Rng = ReturnType<typeof prng>;

let pool: Pool;
let databaseUrl: string;
let qbo: RunningQuickBooksSimulator;
let sm8: RunningServiceM8Simulator;
let deps: ActivityDeps;
let temporal: LazyTemporal;
let api: FastifyInstance;
let port: number;
let inboxId: string;

beforeAll(async () => {
  const url = new URL(testEnv.databaseUrl);
  url.pathname = `/sm8qbo_fuzz_${Date.now()}_${process.pid}`;
  databaseUrl = url.toString();
  await ensureDatabaseExists(databaseUrl);
  pool = createPool(databaseUrl, 10);
  await migrate(pool);
  port = await freePort();
  const apiUrl = `http://127.0.0.1:${port}`;
  qbo = await startQuickBooksSimulator({});
  sm8 = await startServiceM8Simulator({});
  sm8.control.webhooks.pause();
  const config = testConfig({
    ...simulatorProductEnv(sm8, qbo),
    DATABASE_URL: databaseUrl,
    PUBLIC_BASE_URL: apiUrl,
    ADMIN_TOKEN,
    QBO_WEBHOOK_VERIFIER: VERIFIER,
    SM8_CLIENT_ID: DEFAULT_CLIENT_ID,
    SM8_CLIENT_SECRET: DEFAULT_CLIENT_SECRET,
    SM8_AUTHORIZE_URL: `${sm8.url}/oauth/authorize`,
    SM8_TOKEN_URL: `${sm8.url}/oauth/access_token`,
    LOG_LEVEL: 'error',
  });
  deps = buildActivityDeps(config, pool, createGovernor(pool));
  temporal = new LazyTemporal({
    address: testEnv.temporalAddress,
    namespace: 'default',
    dataConverter: testDataConverter(),
  });
  // A task queue no worker polls: workflows the right-token requests start wait there, harmlessly.
  api = buildApiServer(
    buildApiDeps(config, deps, temporal, uniqueTaskQueue('fuzz'), { schedules: false, onboarding: false }),
  );
  await api.listen({ host: '127.0.0.1', port });

  // One connection made through the real flows, with a webhook secret the fuzzer knows, and a failed event.
  const opened = await openConnectLink(await requestConnectLink(apiUrl, ADMIN_TOKEN, 'quickbooks', CONN));
  const callback = await quickRequest(new http.Agent(), port, {
    method: 'GET',
    target: opened.callbackUrl.slice(apiUrl.length),
    headers: { Cookie: opened.cookie },
  });
  expect(callback.status).toBe(200);
  await pool.query('UPDATE connections SET sm8_webhook_secret_hash = $2 WHERE id = $1', [
    CONN,
    sm8SecretHash(SM8_SECRET),
  ]);
  const row = await pool.query<{ id: string }>(
    `INSERT INTO webhook_inbox (source, connection_id, event_id, entity, entity_id, payload, state, last_error)
     VALUES ('sm8', $1, 'fuzz-failed', 'job', 'fuzz-job', '{}'::jsonb, 'failed', 'seeded') RETURNING id::text`,
    [CONN],
  );
  inboxId = row.rows[0]?.id as string;
}, 120_000);

afterAll(async () => {
  await api?.close();
  await temporal?.close();
  await deps?.governor.close?.();
  await pool?.end();
  await sm8?.stop();
  await qbo?.stop();
  if (databaseUrl) await dropDatabase(databaseUrl);
});

// ---- request generation ---------------------------------------------------------------------------------

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'] as const;
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/cloudevents+json',
  'application/x-www-form-urlencoded',
  'text/plain',
  'application/octet-stream',
  'multipart/form-data; boundary=x',
  'garbage',
];
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~';
/** Fragments that have broken parsers somewhere: encodings, separators, dot segments, unicode. */
const NASTY = [
  '%00',
  '%2F',
  '%2f',
  '%25',
  '%E0',
  '%E0%A4',
  '%C3%28',
  '%ZZ',
  '%',
  '%%',
  '..',
  '%2e%2e',
  ';',
  '%3B',
  '+',
  '%20',
  '%0A',
  '%0D%0A',
  '%C3%A9',
  '%F0%9F%98%80',
  '%EF%BF%BF',
  '{}',
  '%7B%22a%22%3A1%7D',
  '__proto__',
  'constructor',
  '%5B%5D',
];

function randomText(rng: Rng, max: number): string {
  const n = rng.int(max + 1);
  let s = '';
  while (s.length < n) s += rng.chance(0.15) ? rng.pick(NASTY) : rng.pick([...ALPHABET]);
  return s;
}

/**
 * A parameter value: usually plausible (the seeded connection, a real inbox id), sometimes hostile. The
 * ServiceM8 webhook secret (a credential) is only right in phase 2.
 */
function paramValue(rng: Rng, name: string, phase: 1 | 2): string {
  if (name === 'secret' && phase === 1 && rng.chance(0.5)) return `${SM8_SECRET}x`;
  if (rng.chance(0.5)) {
    if (name === 'id') return rng.pick([CONN, inboxId, 'fz-none', '999999999999']);
    if (name === 'connection') return rng.pick([CONN, 'fz-none']);
    if (name === 'jobUuid') return rng.pick([crypto.randomUUID(), 'fuzz-job']);
    if (name === 'secret') return phase === 2 ? SM8_SECRET : 'not-a-secret-but-long-enough-0000';
    if (name === '*') return rng.pick([`invoice/${CONN}/fuzz-job/history`, '%25E0/history', 'x']);
  }
  return randomText(rng, rng.chance(0.05) ? 300 : 24) || 'x';
}

function randomQuery(rng: Rng): string {
  const keys = ['connection', 'state', 'limit', 'link', 'code', 'realmId', 'error', 'token', 'name', 'x'];
  const n = rng.int(4);
  const parts: string[] = [];
  for (let i = 0; i < n; i += 1) parts.push(`${rng.pick(keys)}=${randomText(rng, 40)}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

/** A JSON value shaped like what the route takes, with random contents. */
function shapedBody(rng: Rng, route: ApiRoute): unknown {
  const s = () => (rng.chance(0.7) ? randomText(rng, 30) : rng.pick([1, -1, 1e308, null, true, [], {}]));
  if (route.url.startsWith('/connect/')) return { connection: rng.pick([CONN, 'fz-new', s()]), name: s() };
  if (route.url === '/connections/:id/servicem8')
    return { apiKey: rng.chance(0.05) ? DEFAULT_API_KEY : s(), name: s() };
  if (route.url === '/login') return { token: rng.chance(0.5) ? 'guess' : s() };
  if (route.url === '/webhooks/servicem8/:secret')
    return rng.chance(0.2)
      ? { mode: rng.pick(['subscribe', s()]), challenge: s() }
      : {
          object: rng.pick(['job', 'jobpayment', 'company', s()]),
          entry: Array.from({ length: rng.int(14) }, () => ({
            uuid: rng.chance(0.5) ? crypto.randomUUID() : s(),
            changed_fields: [s()],
            time: s(),
          })),
          resource_url: s(),
        };
  if (route.url === '/webhooks/quickbooks')
    return rng.chance(0.5)
      ? Array.from({ length: rng.int(5) }, () => ({
          id: crypto.randomUUID(),
          type: rng.pick(['qbo.invoice.updated.v1', 'qbo.payment.deleted.v1', s()]),
          intuitaccountid: rng.pick([String(qbo.realmId), s()]),
          intuitentityid: s(),
          time: s(),
        }))
      : {
          eventNotifications: [
            {
              realmId: rng.pick([String(qbo.realmId), s()]),
              dataChangeEvent: { entities: [{ name: 'Invoice', id: s(), operation: 'Update' }] },
            },
          ],
        };
  return { pageSize: rng.pick([1, 0, 5000, s()]) };
}

function randomBody(rng: Rng, route: ApiRoute): { body: Buffer; oversize: boolean } {
  const limit = route.url.startsWith('/webhooks/servicem8') ? 64 * 1024 : 1024 * 1024;
  const r = rng.next();
  let text: string;
  if (r < 0.15) text = '';
  else if (r < 0.75) text = JSON.stringify(shapedBody(rng, route));
  else if (r < 0.995) text = randomText(rng, 400);
  else {
    // Near or past the route's limit (a few of these: they cost bandwidth, not insight).
    const size = Math.floor(limit * (0.5 + rng.next()));
    text = JSON.stringify({ pad: 'x'.repeat(size) });
  }
  const body = Buffer.from(text);
  return { body, oversize: body.length > limit };
}

interface Spec extends RawRequest {
  route: ApiRoute;
  raw: boolean;
  oversize: boolean;
}

function generate(rng: Rng, routes: ApiRoute[], phase: 1 | 2): Spec {
  const route = rng.pick(routes);
  // Phase 1 never turns a request into one for an open route (GET /login is open, POST /login is not).
  const shared = [...OPEN].some((open) => open.endsWith(` ${route.url}`));
  const method = rng.chance(0.85) || (phase === 1 && shared) ? route.method : rng.pick(METHODS);
  const params = Object.fromEntries(
    ['id', 'connection', 'jobUuid', 'secret', '*'].map((name) => [name, paramValue(rng, name, phase)]),
  );
  let target = concretePath(route.url, params);
  let raw = false;
  if (rng.chance(0.25)) {
    target = rng.pick(spellings(target, port));
    raw = !target.startsWith('/') || target.includes('\\');
  }
  target += randomQuery(rng);
  const right = phase === 2 && rng.chance(0.6);
  const headers: Record<string, string> = {};
  const auth = right
    ? `Bearer ${ADMIN_TOKEN}`
    : rng.pick([
        undefined,
        'Bearer wrong',
        `Bearer ${ADMIN_TOKEN}x`,
        `bearer ${randomText(rng, 40)}`,
        'Basic Zm9vOmJhcg==',
        '',
      ]);
  if (auth !== undefined) headers.Authorization = auth;
  if (rng.chance(0.2))
    headers.Cookie = rng.pick([
      `sm8qbo_session=v1.${Date.now() + 1e6}.${'A'.repeat(43)}`,
      `sm8qbo_session=${randomText(rng, 60)}`,
      `sm8qbo_connect_qbo=${'B'.repeat(43)}`,
      randomText(rng, 80),
    ]);
  if (rng.chance(0.1)) headers.Origin = rng.pick(['http://evil.example', `http://127.0.0.1:${port}`, 'null']);
  if (rng.chance(0.1)) headers['Sec-Fetch-Site'] = rng.pick(['cross-site', 'same-origin', 'none']);
  let body: Buffer | undefined;
  let oversize = false;
  if (method !== 'GET' && method !== 'HEAD' && rng.chance(0.9)) {
    ({ body, oversize } = randomBody(rng, route));
    if (rng.chance(0.9)) headers['Content-Type'] = rng.pick(CONTENT_TYPES);
  }
  if (route.url === '/webhooks/quickbooks' && body)
    headers['intuit-signature'] =
      right && rng.chance(0.8)
        ? signWebhookBody(VERIFIER, body.toString('utf8'))
        : rng.pick(['', 'bm90IGEgc2lnbmF0dXJl', randomText(rng, 44)]);
  return { route, method, target, headers, body, raw, oversize };
}

/** Routes that need no credential at all and change nothing: not part of the refused-only phase. */
const OPEN = new Set(['GET /health', 'HEAD /health', 'GET /login', 'HEAD /login', 'POST /logout']);

async function counts(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of ['connections', 'links', 'webhook_inbox', 'webhook_events', 'oauth_states']) {
    const r = await pool.query<{ n: string; h: string }>(
      `SELECT count(*)::text AS n, md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) AS h FROM ${table} t`,
    );
    out[table] = `${r.rows[0]?.n} rows (${r.rows[0]?.h.slice(0, 8)})`;
  }
  return out;
}

interface Tally {
  requests: number;
  byClass: Record<string, number>;
  fiveXX: string[];
  resets: string[];
}

async function run(rng: Rng, routes: ApiRoute[], phase: 1 | 2, n: number): Promise<Tally> {
  const tally: Tally = { requests: 0, byClass: {}, fiveXX: [], resets: [] };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  let issued = 0;
  const worker = async () => {
    while (issued < n) {
      issued += 1;
      const spec = generate(rng, routes, phase); // generated in one order whatever the interleaving
      const label = `${spec.method} ${spec.target.slice(0, 200)} (route ${spec.route.method} ${spec.route.url})`;
      let status: number;
      try {
        const req = { method: spec.method, target: spec.target, headers: spec.headers, body: spec.body };
        status = (spec.raw ? await rawRequest(port, req) : await quickRequest(agent, port, req)).status;
      } catch (err) {
        const code = (err as { code?: string }).code ?? '';
        if (code === 'ERR_UNESCAPED_CHARACTERS' || code === 'ERR_INVALID_CHAR')
          status = (await rawRequest(port, spec)).status; // Node's client will not send it: the socket will
        else if (spec.oversize && ['ECONNRESET', 'EPIPE'].includes(code)) {
          tally.resets.push(label); // the server refused the body (413) and closed while we were still sending
          status = 413;
        } else throw new Error(`${label}: ${String(err)}`);
      }
      tally.requests += 1;
      const cls = status === 0 ? 'none' : `${String(status)[0]}xx`;
      tally.byClass[cls] = (tally.byClass[cls] ?? 0) + 1;
      if (status >= 500 || status === 0) tally.fiveXX.push(`${status} ${label}`);
      if (phase === 1 && (status < 400 || status >= 500))
        tally.fiveXX.push(`not refused: ${status} ${label}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  agent.destroy();
  return tally;
}

it('SEC-FUZZ: 10,000 seeded random requests over every route: 0 answers of 5xx, refused requests change no row, the server stays up', async () => {
  await api.ready();
  const routes = apiRoutes(api);
  const rng = prng(SEED);
  const started = Date.now();
  process.stdout.write(`SEC-FUZZ: seed ${SEED} (FUZZ_SEED=${SEED} reproduces), ${routes.length} routes\n`);

  const before = await counts();
  const refusedOnly = routes.filter((r) => !OPEN.has(`${r.method} ${r.url}`));
  const phase1 = await run(rng, refusedOnly, 1, Math.round(REQUESTS * PHASE_1_SHARE));
  const phase1Ms = Date.now() - started;
  const after = await counts();
  const phase2 = await run(rng, routes, 2, REQUESTS - phase1.requests);
  const health = await quickRequest(new http.Agent(), port, { method: 'GET', target: '/health' });

  process.stdout.write(
    [
      `SEC-FUZZ: ${phase1.requests + phase2.requests} requests in ${Date.now() - started} ms`,
      `  phase 1 (refused only): ${phase1.requests} requests in ${phase1Ms} ms ${JSON.stringify(phase1.byClass)}`,
      `  phase 2 (right credentials for a share): ${phase2.requests} requests ${JSON.stringify(phase2.byClass)}`,
      `  oversize bodies cut off by the server: ${phase1.resets.length + phase2.resets.length}`,
      `  rows before phase 1: ${JSON.stringify(before)}`,
      `  rows after phase 1:  ${JSON.stringify(after)}`,
      `  /health at the end: ${health.status}`,
      '',
    ].join('\n'),
  );
  expect(phase1.fiveXX.slice(0, 20)).toEqual([]);
  expect(phase2.fiveXX.slice(0, 20)).toEqual([]);
  expect(after).toEqual(before);
  expect(phase1.requests + phase2.requests).toBe(REQUESTS);
  expect(health.status).toBe(200);
}, 180_000);
