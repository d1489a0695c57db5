import {
  DEMO_SHARED_CUSTOMER_NAMES,
  type RunningServiceM8Simulator,
  serviceM8SimulatorOptionsFromEnv,
} from '../../../simulators/servicem8';
import { apiClient, rootClient, startSim } from './helpers';

let sim: RunningServiceM8Simulator;

beforeAll(async () => {
  sim = await startSim({ seedDemo: true });
});
afterAll(() => sim.stop());
beforeEach(() => {
  sim.control.reset();
});

type Row = Record<string, unknown>;

describe('demo world', () => {
  it('is an Australian trades business with GST rates, ~40 clients with billing contacts and ~60 materials', () => {
    const taxRates = sim.control.records('taxrate');
    expect(taxRates.find((t) => t.name === 'GST')).toMatchObject({
      amount: '10.0000',
      is_default_tax_rate: 1,
    });
    expect(taxRates.find((t) => t.name === 'GST Free')).toMatchObject({
      amount: '0.0000',
      is_default_tax_rate: 0,
    });
    const companies = sim.control.records('company');
    expect(companies).toHaveLength(40);
    expect(companies.filter((c) => c.active === 0).length).toBeGreaterThanOrEqual(2);
    const names = companies.map((c) => c.name);
    for (const shared of DEMO_SHARED_CUSTOMER_NAMES) expect(names).toContain(shared);
    const billing = sim.control.records('companycontact').filter((c) => c.type === 'BILLING');
    expect(new Set(billing.map((c) => c.company_uuid)).size).toBe(40);
    const materials = sim.control.records('material');
    expect(materials.length).toBeGreaterThanOrEqual(55);
    expect(materials.some((m) => m.item_number !== '')).toBe(true);
    expect(materials.some((m) => m.item_number === '')).toBe(true);
  });

  it('has jobs in every state the sync cares about', () => {
    const jobs = sim.control.records('job');
    const byState = (predicate: (job: Row) => boolean) => jobs.filter(predicate).length;
    expect(byState((j) => j.status === 'Quote')).toBeGreaterThan(0);
    expect(byState((j) => j.status === 'Work Order')).toBeGreaterThan(0);
    expect(byState((j) => j.status === 'Completed' && j.payment_processed === 0)).toBeGreaterThan(0);
    expect(byState((j) => j.status === 'Completed' && j.payment_processed === 1)).toBeGreaterThan(0);
    expect(byState((j) => j.payment_received === 1)).toBeGreaterThan(0);
    expect(
      byState(
        (j) => j.status === 'Completed' && j.payment_processed === 1 && j.total_invoice_amount === '0.0000',
      ),
    ).toBe(1);
    expect(byState((j) => j.company_uuid === '')).toBe(1);
    expect(sim.control.records('jobpayment').length).toBeGreaterThan(0);
    const totals = jobs.map((j) => Number(j.total_invoice_amount));
    expect(totals.filter((t) => t > 0).length).toBeGreaterThan(20);
  });

  it('is identical on every seed (stable uuids and amounts)', () => {
    const first = sim.control.records('jobmaterial').map((l) => [l.uuid, l.price, l.quantity]);
    sim.control.reset('demo');
    const second = sim.control.records('jobmaterial').map((l) => [l.uuid, l.price, l.quantity]);
    expect(second).toEqual(first);
  });
});

describe('control API', () => {
  it('reset to an empty world keeps only the vendor; seed adds the demo world over HTTP', async () => {
    const root = rootClient(sim);
    const reset = await root.post('/__sim/reset', { world: 'empty' });
    expect(reset.data.counts).toMatchObject({ job: 0, company: 0, vendor: 1 });
    const seeded = await root.post('/__sim/seed', { world: 'demo' });
    expect(seeded.data.counts.company).toBe(40);
  });

  it('inserts records bypassing auth, limits and read-only fields, and lists them', async () => {
    const root = rootClient(sim);
    await root.post('/__sim/reset', { world: 'empty' });
    const inserted = await root.post('/__sim/records/jobpayment', {
      job_uuid: '',
      amount: '5',
      is_deposit: 1,
    });
    expect(inserted.status).toBe(200);
    expect(inserted.data).toMatchObject({ amount: '5.0000', is_deposit: 1 });
    const listed = await root.get('/__sim/records/jobpayment');
    expect(listed.data).toHaveLength(1);
    expect(sim.control.calls.list()).toEqual([]);
    const updated = await root.post(`/__sim/records/jobpayment/${String(inserted.data.uuid)}`, {
      amount: '6',
    });
    expect(updated.data.amount).toBe('6.0000');
  });

  it('moves the clock with advanceMs and set', async () => {
    const root = rootClient(sim);
    const set = await root.post('/__sim/clock', { set: '2030-01-01T00:00:00.000Z' });
    expect(Date.parse(set.data.now)).toBeGreaterThanOrEqual(Date.parse('2030-01-01T00:00:00.000Z'));
    const advanced = await root.post('/__sim/clock', { advanceMs: 86_400_000 });
    expect(Date.parse(advanced.data.now)).toBeGreaterThanOrEqual(Date.parse('2030-01-02T00:00:00.000Z'));
    expect((await root.get('/__sim/clock')).data.now.startsWith('2030-01-02')).toBe(true);
    expect((await root.post('/__sim/clock', {})).status).toBe(400);
  });

  it('logs calls with method, path, object, status, time and auth kind; counts staff calls (STAFF-1)', async () => {
    const api = apiClient(sim);
    await api.get('/job.json');
    await api.get('/Staff.json');
    await rootClient(sim).get('/api_1.0/staff.json');
    const calls = (await rootClient(sim).get('/__sim/calls')).data as Row[];
    expect(calls[0]).toMatchObject({
      method: 'GET',
      path: '/api_1.0/job.json',
      object: 'job',
      operation: 'list',
      status: 200,
      authKind: 'apiKey',
    });
    expect(typeof calls[0]?.time).toBe('string');
    expect(calls[2]).toMatchObject({ object: 'staff', status: 401, authKind: 'none' });
    const stats = (await rootClient(sim).get('/__sim/stats')).data;
    expect(stats.staffCalls).toBe(2);
    expect(stats.byEndpoint['GET /api_1.0/staff.json']).toBe(2);
    expect(stats.byEndpoint['GET /api_1.0/job.json']).toBe(1);
    await rootClient(sim).delete('/__sim/calls');
    expect(sim.control.calls.stats().total).toBe(0);
  });

  it('round-trips the whole state through GET/POST /__sim/snapshot', async () => {
    const root = rootClient(sim);
    const snapshot = (await root.get('/__sim/snapshot')).data;
    await root.post('/__sim/reset', { world: 'empty' });
    expect(sim.store.count('job')).toBe(0);
    await root.post('/__sim/snapshot', snapshot);
    expect(sim.store.count('job')).toBe(29);
    const created = await apiClient(sim).post('/job.json', { status: 'Quote' });
    const job = sim.store.get('job', String(created.headers['x-record-uuid']));
    expect(job?.generated_job_id).toBe('30');
  });

  it('adds, lists and clears faults over HTTP', async () => {
    const root = rootClient(sim);
    const added = await root.post('/__sim/faults', { path: '/api_1.0/job.json', status: 500, count: 1 });
    expect(added.data[0]).toMatchObject({ id: expect.any(Number), status: 500 });
    expect((await apiClient(sim).get('/job.json')).status).toBe(500);
    await root.delete('/__sim/faults');
    expect((await root.get('/__sim/faults')).data).toEqual([]);
    expect((await root.post('/__sim/faults', { path: '/x' })).status).toBe(400);
  });

  it('changes settings at run time and rejects bad values', async () => {
    const root = rootClient(sim);
    expect((await root.post('/__sim/settings', { rateLimitPerMinute: 2 })).data.rateLimitPerMinute).toBe(2);
    expect((await root.post('/__sim/settings', { pageSize: -1 })).status).toBe(400);
    await root.post('/__sim/settings', { rateLimitPerMinute: 180 });
  });

  it('issues OAuth tokens without the browser step', async () => {
    const tokens = (await rootClient(sim).post('/__sim/oauth/token', { scopes: ['read_jobs'] })).data;
    const response = await rootClient(sim, { Authorization: `Bearer ${String(tokens.access_token)}` }).get(
      '/api_1.0/job.json',
    );
    expect(response.status).toBe(200);
    expect(sim.control.calls.list()[0]?.authKind).toBe('oauth');
  });
});

describe('options from the environment', () => {
  it('reads SM8_SIM_* with defaults', () => {
    expect(serviceM8SimulatorOptionsFromEnv({})).toEqual({ port: 4010 });
    expect(
      serviceM8SimulatorOptionsFromEnv({
        SM8_SIM_PORT: '0',
        SM8_SIM_API_KEY: 'smk-x',
        SM8_SIM_RATE_PER_MINUTE: '10',
        SM8_SIM_WEBHOOK_CHALLENGE: 'false',
        SM8_SIM_ACCESS_TOKEN_TTL: '900',
        SM8_SIM_SEED_DEMO: '1',
        SM8_SIM_REJECT_NEGATIVE_LINES: 'true',
      }),
    ).toEqual({
      port: 0,
      apiKey: 'smk-x',
      rateLimitPerMinute: 10,
      webhookChallenge: false,
      accessTokenTtlSeconds: 900,
      seedDemo: true,
      rejectNegativeLines: true,
    });
  });

  it.each([
    [{ SM8_SIM_PORT: 'abc' }, /SM8_SIM_PORT/],
    [{ SM8_SIM_PORT: '70000' }, /SM8_SIM_PORT/],
    [{ SM8_SIM_RATE_PER_DAY: '0' }, /SM8_SIM_RATE_PER_DAY/],
    [{ SM8_SIM_RETRY_AFTER: 'maybe' }, /SM8_SIM_RETRY_AFTER/],
    [{ SM8_SIM_TIMEZONE: 'Mars/Olympus' }, /SM8_SIM_TIMEZONE/],
    [{ SM8_SIM_API_KEY: '' }, /SM8_SIM_API_KEY/],
  ])('names the variable for a bad value %j', (env, message) => {
    expect(() => serviceM8SimulatorOptionsFromEnv(env)).toThrow(message);
  });
});
