import axios from 'axios';
import { WorkflowFailedError } from '@temporalio/client';
import { notifyConnectionRestored } from '../routing/connection-events';
import { DEFAULT_API_KEY } from '../simulators/servicem8';
import { openConnectLink, requestConnectLink } from '../workers/demo';
import { connectionCheckWorkflow } from '../workflows';
import { connectionCheckStateQuery } from '../workflows/messages';
import { ConnectionId } from '../domain/search-attributes';
import { createHarness, type Harness } from './helpers/env';
import { startWorld, type World } from './helpers/world';
import { waitFor } from './helpers/wait';

const QBO_SECRET_FIELDS = ['access_token', 'refresh_token'] as const;

function startCheck(w: World, connectionId: string, workflowId: string, taskQueue = w.h.taskQueue) {
  return w.h.client.workflow.start(connectionCheckWorkflow, {
    workflowId,
    taskQueue,
    args: [{ connectionId }],
    typedSearchAttributes: [{ key: ConnectionId, value: connectionId }],
  });
}

describe('connections (CON-1, CON-2, CON-3)', () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld();
  });
  afterAll(async () => {
    await w.close();
  });

  it('CON-1: connects QuickBooks by OAuth and ServiceM8 by API key, secrets encrypted at rest', async () => {
    const { realmId } = await w.connect('con1', { realmId: w.qbo.realmId });
    expect(realmId).toBe(w.qbo.realmId);
    const summary = await w.h.deps.store.require('con1');
    expect(summary).toMatchObject({ status: 'active', qboRealmId: w.qbo.realmId, sm8AuthKind: 'api_key' });

    const { token } = await w.h.deps.store.readQboTokens('con1');
    expect(token.access_token.length).toBeGreaterThan(10);
    const raw = await w.h.pool.query<{ row: string }>(
      `SELECT row_to_json(c)::text AS row FROM connections c WHERE id = 'con1'`,
    );
    const text = raw.rows[0]?.row ?? '';
    for (const field of QBO_SECRET_FIELDS) expect(text).not.toContain(token[field]);
    expect(text).not.toContain(DEFAULT_API_KEY);

    const result = await w.h.runWorker(() =>
      w.h.client.workflow.execute(connectionCheckWorkflow, {
        workflowId: `check-con1-${Date.now()}`,
        taskQueue: w.h.taskQueue,
        args: [{ connectionId: 'con1' }],
      }),
    );
    expect(result.realmId).toBe(w.qbo.realmId);
    expect(result.qboCompanyName.length).toBeGreaterThan(0);
  });

  it('CON-1: a callback that arrives twice does not exchange its code twice', async () => {
    const link = await requestConnectLink(w.apiUrl, w.adminToken, 'quickbooks', 'con1b');
    const realm = w.qbo.control.createRealm({ companyName: 'con1b' });
    const { callbackUrl, cookie } = await openConnectLink(link, { realmId: realm });
    const tokenCalls = () =>
      w.qbo.control.calls().filter((c) => c.url.includes('/oauth2/v1/tokens/bearer')).length;
    const before = tokenCalls();
    const browser = { headers: { Cookie: cookie }, validateStatus: () => true };
    const first = await axios.get(callbackUrl, browser);
    const second = await axios.get(callbackUrl, browser);
    expect(first.status).toBe(200);
    expect(second.status).toBe(400);
    expect(second.data.error).toMatch(/already used/);
    expect(tokenCalls() - before).toBe(1);
    // The tokens from the one exchange still work (a second exchange would have revoked them at Intuit).
    await expect(w.h.deps.qboTokens.getAccess('con1b')).resolves.toMatchObject({ realmId: realm });
  });

  it('CON-1: a QuickBooks company already connected elsewhere is refused with 409, the existing connection untouched', async () => {
    const err = await w.connect('con1-copy', { realmId: w.qbo.realmId }).catch((e: Error) => e);
    expect(String(err)).toMatch(/409.*already connected as connection \\"con1\\"/);
    expect((await w.h.deps.store.require('con1')).status).toBe('active');
    expect((await w.h.deps.store.require('con1-copy')).qboRealmId).toBeNull();
  });

  it('CON-1: bad input to the connect endpoints gets a clear 400 and stores nothing', async () => {
    const admin = { headers: { Authorization: `Bearer ${w.adminToken}` }, validateStatus: () => true };
    const bad = await axios.post(`${w.apiUrl}/connect/quickbooks`, { connection: 'Not Valid' }, admin);
    expect(bad.status).toBe(400);
    expect(bad.data).toEqual({
      error: 'body/connection must match pattern "^[a-z0-9][a-z0-9-]{0,62}$" (got "Not Valid")',
    });
    const noKey = await axios.post(`${w.apiUrl}/connections/con-x/servicem8`, {}, admin);
    expect(noKey.status).toBe(400);
    expect(noKey.data).toEqual({ error: "body must have required property 'apiKey'" });
    const shortKey = await axios.post(
      `${w.apiUrl}/connections/con-x/servicem8`,
      { apiKey: 'smk', name: 'X' },
      admin,
    );
    // A credential is never quoted back (nor logged), even a malformed one.
    expect(shortKey.data).toEqual({ error: 'body/apiKey must NOT have fewer than 8 characters' });
    const badId = await axios.post(
      `${w.apiUrl}/connections/Con_X/servicem8`,
      { apiKey: DEFAULT_API_KEY },
      admin,
    );
    expect(badId.status).toBe(400);
    expect(badId.data.error).toMatch(/^params\/id must match pattern .* \(got "Con_X"\)$/);
    const noCode = await axios.get(`${w.apiUrl}/callback/quickbooks?state=x&realmId=1`, {
      validateStatus: () => true,
    });
    expect(noCode.data).toEqual({ error: "querystring must have required property 'code'" });
    const wrongKey = await axios.post(
      `${w.apiUrl}/connections/con-x/servicem8`,
      { apiKey: 'smk-wrong-key-000' },
      admin,
    );
    expect(wrongKey.status).toBe(400);
    // ServiceM8's status, not its answer's body (that goes to the log).
    expect(wrongKey.data).toEqual({ error: 'ServiceM8 refused the API key (HTTP 401)' });
    expect(await w.h.deps.store.get('con-x')).toBeNull();
  });

  it('CON-3: a revoked refresh token parks the workflows (needs_reauth); reconnecting resumes them, nothing lost', async () => {
    const { realmId } = await w.connect('con3');
    w.qbo.control.revokeRealmTokens(realmId);
    const ids = [0, 1, 2].map((i) => `check-con3-${Date.now()}-${i}`);
    await w.h.runWorker(async () => {
      const handles = await Promise.all(ids.map((id) => startCheck(w, 'con3', id)));
      await waitFor(
        'con3 to need re-authorisation',
        async () => (await w.h.deps.store.require('con3')).status === 'needs_reauth',
      );
      for (const handle of handles) {
        await waitFor(
          'the check to wait for re-authorisation',
          async () => (await handle.query(connectionCheckStateQuery)) === 'waiting_for_reauth',
        );
        expect((await handle.describe()).status.name).toBe('RUNNING');
      }
      // Reconnect through the real flow; the callback signals every running workflow of the connection.
      await w.connect('con3');
      const results = await Promise.all(handles.map((h) => h.result()));
      expect(results.map((r) => r.realmId)).toEqual([realmId, realmId, realmId]);
    });
    expect((await w.h.deps.store.require('con3')).status).toBe('active');
  });
});

describe('CON-3: a paused connection', () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld();
    await w.connect('paused');
  });
  afterAll(async () => {
    await w.close();
  });

  it('CON-3: pausing a connection parks its workflows without failures; resuming continues them', async () => {
    await w.h.deps.store.setStatus('paused', 'paused', 'paused by the bookkeeper');
    const handle = await startCheck(w, 'paused', `paused-${Date.now()}`);
    await waitFor(
      'the check to wait for re-authorisation',
      async () => (await handle.query(connectionCheckStateQuery)) === 'waiting_for_reauth',
    );
    const callsWhilePaused = w.qbo.control.calls().length;
    await new Promise((r) => setTimeout(r, 1500));
    expect(w.qbo.control.calls().length).toBe(callsWhilePaused); // no error storm against the API
    expect((await handle.describe()).status.name).toBe('RUNNING');

    await w.h.deps.store.setStatus('paused', 'active');
    await waitFor(
      'a running workflow of the connection to be signalled',
      async () => (await notifyConnectionRestored(w.h.client, 'paused')) > 0,
    );
    await expect(handle.result()).resolves.toMatchObject({ qboCompanyName: expect.any(String) });
  });

  it('CON-1: a disconnected connection forgets its secrets and needs re-authorisation', async () => {
    await w.h.deps.store.disconnect('paused');
    const raw = await w.h.pool.query(
      `SELECT status, qbo_secret, sm8_secret FROM connections WHERE id = 'paused'`,
    );
    expect(raw.rows[0]).toEqual({ status: 'disconnected', qbo_secret: null, sm8_secret: null });
    expect((await w.h.deps.store.list()).map((c) => c.id)).toContain('paused');
    await w.connect('paused');
    expect((await w.h.deps.store.require('paused')).status).toBe('active');
  });
});

describe('CON-2: tokens refresh themselves, once per expiry, across workers', () => {
  const TTL_SECONDS = 4;
  const DURATION_MS = 60_000;
  let w: World;
  let second: Harness;
  beforeAll(async () => {
    w = await startWorld({
      qbo: { accessTokenTtlSeconds: TTL_SECONDS, refreshTokenRotation: 'every-refresh' },
    });
    // A second worker process (own pool, token manager and governor) on the same task queue.
    second = await createHarness({ env: w.env, taskQueue: w.h.taskQueue });
  });
  afterAll(async () => {
    await second.close();
    await w.close();
  });

  it(
    'CON-2: 20 concurrent activities for a minute with a 4 s token rotating on every refresh: no invalid_grant, one refresh per expiry',
    async () => {
      // QuickBooks only: ServiceM8's 180 calls/minute would be the bottleneck, not the tokens under test.
      const { realmId } = await w.connect('con2', { sm8: false });
      const refreshesBefore = w.qbo.control.stats().tokenRefreshes[realmId] ?? 0;
      const started = Date.now();
      let completed = 0;
      // The calls (and so the lazy refreshes) happen until the last check ends, not until both workers have
      // shut down, which can take many seconds more with no call at all.
      let lastCheckEnded = 0;
      await w.h.runWorker(() =>
        second.runWorker(async () => {
          const lanes = Array.from({ length: 20 }, async (_, lane) => {
            for (let i = 0; Date.now() - started < DURATION_MS; i += 1) {
              await w.h.client.workflow.execute(connectionCheckWorkflow, {
                workflowId: `con2-${lane}-${i}-${started}`,
                taskQueue: w.h.taskQueue,
                args: [{ connectionId: 'con2' }],
              });
              completed += 1;
            }
          });
          await Promise.all(lanes);
          lastCheckEnded = Date.now();
        }),
      );
      const elapsed = lastCheckEnded - started;
      const stats = w.qbo.control.stats();
      const refreshes = (stats.tokenRefreshes[realmId] ?? 0) - refreshesBefore;
      // A token is refreshed a tenth of its life before expiry: at most one refresh per (TTL - margin).
      const maxRefreshes = Math.ceil(elapsed / (TTL_SECONDS * 900)) + 1;
      // …and at least one per lifetime, allowing for lazy refreshes (only when a call needs a token).
      const minRefreshes = Math.floor(elapsed / (TTL_SECONDS * 1250)) - 1;
      process.stdout.write(
        `CON-2: ${completed} checks in ${elapsed} ms, ${refreshes} refreshes (allowed ${minRefreshes}..${maxRefreshes}), invalid_grant ${stats.invalidGrants}\n`,
      );
      expect(stats.invalidGrants).toBe(0);
      expect(refreshes).toBeLessThanOrEqual(maxRefreshes);
      expect(refreshes).toBeGreaterThanOrEqual(minRefreshes);
      expect(completed).toBeGreaterThan(100);
      expect((await w.h.deps.store.require('con2')).status).toBe('active');
    },
    DURATION_MS + 60_000,
  );
});

describe('failures injected by the simulators', () => {
  let w: World;
  let realm: string;
  beforeAll(async () => {
    w = await startWorld();
    realm = (await w.connect('faults')).realmId;
  });
  afterAll(async () => {
    await w.close();
  });

  it('CON-2: 429 bursts and 5xx from QuickBooks: the work completes and the throttle is honoured', async () => {
    w.qbo.control.forceThrottle(3, realm);
    w.qbo.control.addFault({ path: 'companyinfo', status: 503, rate: 0.5, count: 4 });
    const result = await w.h.runWorker(() =>
      w.h.client.workflow.execute(connectionCheckWorkflow, {
        workflowId: `faults-${Date.now()}`,
        taskQueue: w.h.taskQueue,
        args: [{ connectionId: 'faults' }],
      }),
    );
    expect(result.realmId).toBe(realm);
    expect(w.qbo.control.stats().throttled).toBeGreaterThanOrEqual(1);
  }, 180_000);

  it('secrets never appear in workflow histories, results or logs', async () => {
    const logged: string[] = [];
    const spies = (['log', 'info', 'warn', 'error'] as const).map((m) =>
      jest.spyOn(console, m).mockImplementation((...args: unknown[]) => {
        logged.push(args.map(String).join(' '));
      }),
    );
    const workflowId = `secrets-${Date.now()}`;
    try {
      await w.h.runWorker(() =>
        w.h.client.workflow.execute(connectionCheckWorkflow, {
          workflowId,
          taskQueue: w.h.taskQueue,
          args: [{ connectionId: 'faults' }],
        }),
      );
    } finally {
      spies.forEach((s) => s.mockRestore());
    }
    const { token } = await w.h.deps.store.readQboTokens('faults');
    const history = JSON.stringify(await w.h.client.workflow.getHandle(workflowId).fetchHistory());
    const haystack = history + logged.join('\n');
    for (const secret of [token.access_token, token.refresh_token, DEFAULT_API_KEY]) {
      expect(haystack).not.toContain(secret);
    }
  });

  it('a workflow of an unknown connection fails with a clear error instead of retrying for ever', async () => {
    const err = await w.h
      .runWorker(() =>
        w.h.client.workflow.execute(connectionCheckWorkflow, {
          workflowId: `unknown-${Date.now()}`,
          taskQueue: w.h.taskQueue,
          args: [{ connectionId: 'no-such-connection' }],
          workflowExecutionTimeout: '20 seconds',
        }),
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
  });
});
