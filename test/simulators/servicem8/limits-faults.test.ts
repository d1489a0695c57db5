import axios from 'axios';
import { type RunningServiceM8Simulator } from '../../../simulators/servicem8';
import { NEW_UUID, apiClient, startSim } from './helpers';

const frozen = new Date('2026-01-01T00:00:00Z');

describe('rate limits', () => {
  let sim: RunningServiceM8Simulator;

  beforeAll(async () => {
    sim = await startSim({ now: () => frozen, rateLimitPerMinute: 5, rateLimitPerDay: 8 });
  });
  afterAll(() => sim.stop());
  beforeEach(() => {
    sim.control.reset('empty');
    sim.control.clock.set('2026-03-02T01:00:05Z');
  });

  it('answers 429 with the per-minute JSON body once the minute budget is spent, and resets next minute', async () => {
    const api = apiClient(sim);
    for (let i = 0; i < 5; i += 1) expect((await api.get('/job.json')).status).toBe(200);
    const limited = await api.get('/job.json');
    expect(limited.status).toBe(429);
    expect(limited.data).toEqual({
      errorCode: 429,
      message: 'Number of allowed API requests per minute exceeded',
    });
    expect(limited.headers['retry-after']).toBeUndefined();
    sim.control.clock.advance(60_000);
    expect((await api.get('/job.json')).status).toBe(200);
    expect(sim.control.calls.stats().rateLimited).toBe(1);
  });

  it('answers the per-day message once the day budget is spent', async () => {
    const api = apiClient(sim);
    for (let i = 0; i < 8; i += 1) {
      if (i === 5) sim.control.clock.advance(60_000);
      expect((await api.get('/company.json')).status).toBe(200);
    }
    sim.control.clock.advance(60_000);
    const limited = await api.get('/company.json');
    expect(limited.status).toBe(429);
    expect(limited.data.message).toBe('Number of allowed API requests per day exceeded');
  });

  it('sends Retry-After only when switched on (UNCONFIRMED upstream)', async () => {
    sim.control.updateSettings({ sendRetryAfter: true });
    try {
      const api = apiClient(sim);
      for (let i = 0; i < 5; i += 1) await api.get('/job.json');
      const limited = await api.get('/job.json');
      expect(limited.status).toBe(429);
      expect(limited.headers['retry-after']).toBe('55');
    } finally {
      sim.control.updateSettings({ sendRetryAfter: false });
    }
  });

  it('does not count unauthenticated requests or control calls', async () => {
    for (let i = 0; i < 10; i += 1) {
      await axios.get(`${sim.url}/api_1.0/job.json`, { validateStatus: () => true });
      sim.control.records('job');
    }
    expect((await apiClient(sim).get('/job.json')).status).toBe(200);
  });
});

describe('fault injection', () => {
  let sim: RunningServiceM8Simulator;

  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(() => sim.stop());
  beforeEach(() => {
    sim.control.reset('empty');
  });

  it('answers a configured status for `count` matching requests, then behaves again', async () => {
    sim.control.faults.add({ method: 'GET', path: '/api_1.0/job.json', status: 503, count: 1 });
    const api = apiClient(sim);
    expect((await api.get('/job.json')).status).toBe(503);
    expect((await api.get('/job.json')).status).toBe(200);
    expect((await api.get('/company.json')).status).toBe(200);
  });

  it('a 429 burst is a 429 rule with a count, carrying the documented body', async () => {
    sim.control.faults.add({ path: '/api_1.0/', status: 429, count: 3 });
    const api = apiClient(sim);
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await api.get('/material.json')).status);
    expect(statuses).toEqual([429, 429, 429, 200]);
    expect(sim.control.calls.stats().rateLimited).toBe(3);
    const limited = sim.control.calls.list().find((c) => c.status === 429);
    expect(limited?.fault).toBe('status');
  });

  it('commitThenDrop performs the write but the client only sees its socket die', async () => {
    sim.control.faults.add({ method: 'POST', path: '/api_1.0/company.json', commitThenDrop: true, count: 1 });
    const uuid = NEW_UUID();
    const error = await apiClient(sim)
      .post('/company.json', { uuid, name: 'Lost Response Pty Ltd' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(axios.isAxiosError(error)).toBe(true);
    expect(sim.store.get('company', uuid)).toMatchObject({ name: 'Lost Response Pty Ltd', active: 1 });
    // A retry with the same uuid is harmless: the create is idempotent.
    const retry = await apiClient(sim).post('/company.json', { uuid, name: 'Lost Response Pty Ltd' });
    expect(retry.status).toBe(200);
    expect(sim.store.count('company')).toBe(1);
    expect(sim.control.calls.list()[0]).toMatchObject({ status: 0, fault: 'commitThenDrop' });
  });

  it('timeout hangs and drops the connection without performing the request', async () => {
    sim.control.faults.add({
      path: '^/api_1\\.0/company\\.json$',
      method: 'POST',
      timeout: true,
      hangMs: 100,
    });
    const started = Date.now();
    const error = await apiClient(sim)
      .post('/company.json', { name: 'Never' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(axios.isAxiosError(error)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(sim.store.count('company')).toBe(0);
  });

  it('adds latency, matches regex paths, and never fires with rate 0', async () => {
    sim.control.faults.add(
      { path: '^/api_1\\.0/material/', latencyMs: 150 },
      { path: '/api_1.0/company.json', status: 500, rate: 0 },
    );
    const api = apiClient(sim);
    const uuid = (await api.post('/material.json', { name: 'Slow' })).headers['x-record-uuid'] as string;
    const started = Date.now();
    expect((await api.get(`/material/${uuid}.json`)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    for (let i = 0; i < 5; i += 1) expect((await api.get('/company.json')).status).toBe(200);
    sim.control.faults.clear();
    expect(sim.control.faults.list()).toEqual([]);
  });

  it('rejects an invalid rule', () => {
    expect(() => sim.control.faults.add({ path: '/api_1.0/', rate: 2, status: 500 })).toThrow(/rate/);
    expect(() => sim.control.faults.add({ path: '/api_1.0/' })).toThrow(/needs status/);
  });
});
