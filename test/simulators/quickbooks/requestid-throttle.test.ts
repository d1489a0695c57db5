import { apiClient, faultCode, startTestSim, type TestSim } from './helpers';

describe('QBO simulator: requestid idempotency', () => {
  let t: TestSim;
  beforeEach(async () => {
    t = await startTestSim();
  });
  afterEach(async () => {
    await t.sim.stop();
  });

  it('replays the first response for a repeated requestid without executing again', async () => {
    const first = await t.api.post(
      '/customer',
      { DisplayName: 'Idem Potent' },
      { params: { requestid: 'req-1' } },
    );
    const again = await t.api.post(
      '/customer',
      { DisplayName: 'Something Else' },
      { params: { requestid: 'req-1' } },
    );
    expect(again.status).toBe(first.status);
    expect(again.data).toEqual(first.data);
    expect(t.sim.store.list('Customer')).toHaveLength(1);
  });

  it('remembers faulted first responses too', async () => {
    const first = await t.api.post('/invoice', {}, { params: { requestid: 'req-2' } });
    expect(first.status).toBe(400);
    const again = await t.api.post('/invoice', {}, { params: { requestid: 'req-2' } });
    expect(again.data).toEqual(first.data);
  });

  it('a write committed but whose response was lost is not repeated by a retry with the same requestid', async () => {
    t.sim.control.addFault({ method: 'POST', path: '/customer', commitThenDrop: true, count: 1 });
    await expect(
      t.api.post('/customer', { DisplayName: 'Lost Answer' }, { params: { requestid: 'req-3' } }),
    ).rejects.toThrow();
    const retry = await t.api.post(
      '/customer',
      { DisplayName: 'Lost Answer' },
      { params: { requestid: 'req-3' } },
    );
    expect(retry.status).toBe(200);
    expect(t.sim.store.list('Customer')).toHaveLength(1);
  });

  it('fault600 mode answers a repeated requestid with Fault 600', async () => {
    t.sim.control.configure({ requestIdMode: 'fault600' });
    await t.api.post('/customer', { DisplayName: 'Dup Req' }, { params: { requestid: 'req-4' } });
    const again = await t.api.post(
      '/customer',
      { DisplayName: 'Dup Req' },
      { params: { requestid: 'req-4' } },
    );
    expect(faultCode(again.data)).toBe('600');
  });
});

describe('QBO simulator: throttling', () => {
  it('10 requests per second per realm; the 11th gets 429 with Fault 3001 until the clock moves', async () => {
    const t = await startTestSim({
      throttle: { perSecond: 10, perMinute: 500, concurrent: 10, batchPerMinute: 40 },
    });
    try {
      t.sim.control.setClock('2026-03-02T00:00:00.000Z');
      for (let i = 0; i < 10; i++) expect((await t.api.get('/preferences')).status).toBe(200);
      t.sim.control.setClock('2026-03-02T00:00:00.000Z');
      const throttled = await t.api.get('/preferences');
      expect(throttled.status).toBe(429);
      expect(throttled.data.Fault.Error[0]).toEqual({
        Message: 'message=ThrottleExceeded; errorCode=003001; statusCode=429',
        Detail: 'The request limit was reached.  Try again later',
        code: '3001',
      });
      t.sim.control.advanceClock(1500);
      expect((await t.api.get('/preferences')).status).toBe(200);
      expect(t.sim.control.stats().throttled).toBe(1);
    } finally {
      await t.sim.stop();
    }
  });

  it('500 per minute and 40 batches per minute', async () => {
    const t = await startTestSim({
      throttle: { perSecond: 1000, perMinute: 5, concurrent: 10, batchPerMinute: 2 },
    });
    try {
      t.sim.control.setClock('2026-03-02T00:00:00.000Z');
      const batch = { BatchItemRequest: [{ bId: '1', Query: 'select * from Customer' }] };
      expect((await t.api.post('/batch', batch)).status).toBe(200);
      expect((await t.api.post('/batch', batch)).status).toBe(200);
      expect((await t.api.post('/batch', batch)).status).toBe(429);
      expect((await t.api.get('/preferences')).status).toBe(200);
      expect((await t.api.get('/preferences')).status).toBe(200);
      expect((await t.api.get('/preferences')).status).toBe(200);
      expect((await t.api.get('/preferences')).status).toBe(429);
      t.sim.control.advanceClock(61_000);
      expect((await t.api.get('/preferences')).status).toBe(200);
    } finally {
      await t.sim.stop();
    }
  });

  it('at most N concurrent requests per realm', async () => {
    const t = await startTestSim({
      throttle: { perSecond: 1000, perMinute: 1000, concurrent: 2, batchPerMinute: 40 },
    });
    try {
      t.sim.control.addFault({ path: '/preferences', latencyMs: 300 });
      const results = await Promise.all([1, 2, 3].map(() => t.api.get('/preferences')));
      expect(results.map((r) => r.status).sort()).toEqual([200, 200, 429]);
    } finally {
      await t.sim.stop();
    }
  });

  it('a dropped answer (commitThenDrop) frees its concurrency slot and is logged as status 0', async () => {
    const t = await startTestSim({
      throttle: { perSecond: 1000, perMinute: 1000, concurrent: 1, batchPerMinute: 40 },
    });
    try {
      t.sim.control.addFault({ method: 'POST', path: '/customer', commitThenDrop: true, count: 1 });
      await expect(t.api.post('/customer', { DisplayName: 'Dropped Dora' })).rejects.toThrow();
      // With the slot leaked, the one concurrent slot of this realm would refuse every later call with 429.
      expect((await t.api.get('/preferences')).status).toBe(200);
      const posts = t.sim.control.calls().filter((c) => c.method === 'POST');
      expect(posts.map((c) => c.status)).toEqual([0]);
    } finally {
      await t.sim.stop();
    }
  });

  it('forced bursts and the XML body switch', async () => {
    const t = await startTestSim({ throttle: { xmlBody: true } });
    try {
      t.sim.control.forceThrottle(2);
      const first = await t.api.get('/preferences');
      expect(first.status).toBe(429);
      expect(first.headers['content-type']).toMatch(/xml/);
      expect(String(first.data)).toContain('<Error code="3001">');
      expect((await t.api.get('/preferences')).status).toBe(429);
      expect((await t.api.get('/preferences')).status).toBe(200);
      const other = apiClient(t.sim, t.accessToken);
      expect((await other.get('/preferences')).status).toBe(200);
    } finally {
      await t.sim.stop();
    }
  });
});
