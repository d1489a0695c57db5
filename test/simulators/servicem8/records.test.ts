import { type AxiosInstance } from 'axios';
import { type RunningServiceM8Simulator, VENDOR_UUID } from '../../../simulators/servicem8';
import { NEW_UUID, apiClient, startSim } from './helpers';

let sim: RunningServiceM8Simulator;
let api: AxiosInstance;

beforeAll(async () => {
  // A frozen base clock: only clock.set/advance move time, so stamps are exact.
  const frozen = new Date('2026-01-01T00:00:00Z');
  sim = await startSim({ now: () => frozen });
  api = apiClient(sim);
});
afterAll(() => sim.stop());
beforeEach(() => {
  sim.control.reset('empty');
  sim.control.clock.set('2026-03-02T01:00:00Z');
});

const EDIT_DATE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

describe('create', () => {
  it('answers 200 {"errorCode":0,"message":"OK"} with the new uuid in x-record-uuid', async () => {
    const response = await api.post('/company.json', { name: 'Harbour View Cafe' });
    expect(response.status).toBe(200);
    expect(response.data).toEqual({ errorCode: 0, message: 'OK' });
    const uuid = String(response.headers['x-record-uuid']);
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);
    const read = await api.get(`/company/${uuid}.json`);
    expect(read.data).toMatchObject({ uuid, name: 'Harbour View Cafe', active: 1 });
  });

  it('accepts a client-supplied uuid, and a repeated create with it updates the same record', async () => {
    const uuid = NEW_UUID();
    const first = await api.post('/job.json', { uuid, status: 'Quote', job_description: 'first' });
    expect(first.headers['x-record-uuid']).toBe(uuid);
    const again = await api.post('/job.json', { uuid, status: 'Quote', job_description: 'second' });
    expect(again.status).toBe(200);
    expect(again.headers['x-record-uuid']).toBe(uuid);
    const jobs = (await api.get('/job.json')).data as Array<Record<string, unknown>>;
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ uuid, job_description: 'second', generated_job_id: '1' });
  });

  it('rejects a malformed client uuid with 400', async () => {
    const response = await api.post('/company.json', { uuid: 'not-a-uuid', name: 'X' });
    expect(response.status).toBe(400);
    expect(response.data).toMatchObject({ errorCode: '1000' });
  });

  it.each([
    ['/job.json', {}, /job\.status is required/],
    [
      '/job.json',
      { status: 'Invoiced' },
      /status must be one of 'Quote', 'Work Order', 'Unsuccessful', 'Completed'/,
    ],
    ['/company.json', { name: 'x'.repeat(101) }, /name must be at most 100 characters/],
    ['/material.json', { price: '10' }, /material\.name is required/],
    ['/taxrate.json', { name: 'x'.repeat(51), amount: '10' }, /at most 50 characters/],
    ['/jobmaterial.json', { job_uuid: '', quantity: '1' }, /job_uuid is required/],
    ['/jobpayment.json', { job_uuid: '3f1d4c8e-1111-4aaa-8bbb-123456789abc', amount: '5' }, /existing job/],
    ['/material.json', { name: 'Pipe', price: 'ten dollars' }, /material\.price: expected a decimal/],
    ['/company.json', { name: 'A', active: 'yes' }, /active: expected 0 or 1/],
  ])('validates %s %j with a helpful 400', async (path, body, message) => {
    const response = await api.post(path, body);
    expect(response.status).toBe(400);
    expect(response.data.errorCode).toBe('1000');
    expect(response.data.message).toMatch(message);
  });

  it('jobmaterial needs a quantity and an existing job', async () => {
    const job = (await api.post('/job.json', { status: 'Quote' })).headers['x-record-uuid'] as string;
    const noQuantity = await api.post('/jobmaterial.json', { job_uuid: job, name: 'Labour' });
    expect(noQuantity.status).toBe(400);
    expect(noQuantity.data.message).toMatch(/quantity is required/);
    const unknownJob = await api.post('/jobmaterial.json', { job_uuid: NEW_UUID(), quantity: '1' });
    expect(unknownJob.status).toBe(400);
    expect(unknownJob.data.message).toMatch(/does not refer to an existing job/);
  });

  it('answers 400 for a body that is not JSON', async () => {
    const response = await api.post('/company.json', '{"name":', {
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(400);
    expect(response.data.errorCode).toBe('1000');
  });
});

describe('read and update', () => {
  it('reads case-insensitively by object name (Job.json = job.json)', async () => {
    const created = await api.post('/Job.json', { status: 'Work Order' });
    const uuid = created.headers['x-record-uuid'] as string;
    expect((await api.get(`/JOB/${uuid}.json`)).data.uuid).toBe(uuid);
    expect((await api.get('/JoB.json')).data).toHaveLength(1);
  });

  it('POST to /{object}/{uuid}.json changes only the fields given', async () => {
    const created = await api.post('/company.json', {
      name: 'Coastal Realty',
      address_city: 'Manly',
      website: 'a.example',
    });
    const uuid = created.headers['x-record-uuid'] as string;
    const update = await api.post(`/company/${uuid}.json`, { address_city: 'Dee Why' });
    expect(update.status).toBe(200);
    expect(update.data).toEqual({ errorCode: 0, message: 'OK' });
    const read = (await api.get(`/company/${uuid}.json`)).data;
    expect(read).toMatchObject({ name: 'Coastal Realty', address_city: 'Dee Why', website: 'a.example' });
  });

  it('ignores read-only fields such as generated_job_id and total_invoice_amount', async () => {
    const uuid = (await api.post('/job.json', { status: 'Quote' })).headers['x-record-uuid'] as string;
    await api.post(`/job/${uuid}.json`, {
      generated_job_id: '999',
      total_invoice_amount: '12.00',
      edit_date: '2000-01-01 00:00:00',
    });
    const job = (await api.get(`/job/${uuid}.json`)).data;
    expect(job.generated_job_id).toBe('1');
    expect(job.total_invoice_amount).toBe('0.0000');
    expect(job.edit_date).not.toBe('2000-01-01 00:00:00');
  });

  it('answers the documented 404 for an unknown uuid and an unknown object', async () => {
    const body = {
      errorCode: 404,
      message: 'Resource not found. The requested record does not exist or has been deleted.',
    };
    const missing = await api.get(`/job/${NEW_UUID()}.json`);
    expect(missing.status).toBe(404);
    expect(missing.data).toEqual(body);
    expect((await api.post(`/job/${NEW_UUID()}.json`, { status: 'Quote' })).status).toBe(404);
    expect((await api.get('/spaceship.json')).status).toBe(404);
  });

  it('serves notes at /note/{uuid}.json and at the spec path /dbonote/{uuid}.json', async () => {
    const uuid = (
      await api.post('/note.json', { related_object: 'job', related_object_uuid: '', note: 'hi' })
    ).headers['x-record-uuid'] as string;
    expect((await api.get(`/dbonote/${uuid}.json`)).data).toMatchObject({
      note: 'hi',
      related_object: 'job',
    });
    await api.post(`/dbonote/${uuid}.json`, { note: 'edited' });
    expect((await api.get(`/note/${uuid}.json`)).data.note).toBe('edited');
    expect((await api.get(`/note/${uuid}.json`)).data.create_date).toMatch(EDIT_DATE);
  });

  it('vendor is the read-only AUD account record in Australia/Sydney', async () => {
    const vendors = (await api.get('/vendor.json')).data as Array<Record<string, unknown>>;
    expect(vendors).toHaveLength(1);
    expect(vendors[0]).toMatchObject({
      uuid: VENDOR_UUID,
      currency: 'AUD',
      timezone_name: 'Australia/Sydney',
    });
    expect((await api.post('/vendor.json', { name: 'x' })).status).toBe(405);
    expect((await api.post(`/vendor/${VENDOR_UUID}.json`, { name: 'x' })).status).toBe(405);
  });
});

describe('soft delete', () => {
  it('sets active = 0, keeps the record readable and listed, and POST active: 1 restores it', async () => {
    const uuid = (await api.post('/material.json', { name: 'Ball Valve 15mm', price: '18.5' })).headers[
      'x-record-uuid'
    ] as string;
    const deleted = await api.delete(`/material/${uuid}.json`);
    expect(deleted.status).toBe(200);
    expect(deleted.data).toEqual({ errorCode: 0, message: 'OK' });
    expect((await api.get(`/material/${uuid}.json`)).data.active).toBe(0);
    const listed = (await api.get('/material.json')).data as Array<Record<string, unknown>>;
    expect(listed.map((m) => m.uuid)).toContain(uuid);
    await api.post(`/material/${uuid}.json`, { active: 1 });
    expect((await api.get(`/material/${uuid}.json`)).data.active).toBe(1);
  });
});

describe('wire types', () => {
  it('writes money and quantities as 4-place decimal strings, whatever was sent', async () => {
    const job = (await api.post('/job.json', { status: 'Quote' })).headers['x-record-uuid'] as string;
    const uuid = (
      await api.post('/jobmaterial.json', { job_uuid: job, quantity: 1.5, price: '20.7', name: 'Pipe' })
    ).headers['x-record-uuid'] as string;
    const line = (await api.get(`/jobmaterial/${uuid}.json`)).data;
    expect(line).toMatchObject({
      quantity: '1.5000',
      price: '20.7000',
      displayed_amount: '20.7000',
      cost: '0.0000',
    });
    const rate = (await api.post('/taxrate.json', { name: 'GST', amount: 10 })).headers[
      'x-record-uuid'
    ] as string;
    expect((await api.get(`/taxrate/${rate}.json`)).data.amount).toBe('10.0000');
  });

  it('types flags like the spec: active/payment_processed integers, inc-tax/primary/sort_order strings', async () => {
    const job = (await api.post('/job.json', { status: 'Completed', payment_processed: '1' })).headers[
      'x-record-uuid'
    ] as string;
    const read = (await api.get(`/job/${job}.json`)).data;
    expect(read.active).toBe(1);
    expect(read.payment_processed).toBe(1);
    expect(read.invoice_sent).toBe(0);
    const contact = (await api.post('/companycontact.json', { first: 'A', is_primary_contact: 1 })).headers[
      'x-record-uuid'
    ] as string;
    expect((await api.get(`/companycontact/${contact}.json`)).data.is_primary_contact).toBe('1');
    const line = (await api.post('/jobmaterial.json', { job_uuid: job, quantity: '1', sort_order: 3 }))
      .headers['x-record-uuid'] as string;
    const lineRead = (await api.get(`/jobmaterial/${line}.json`)).data;
    expect(lineRead.sort_order).toBe('3');
    expect(lineRead.displayed_amount_is_tax_inclusive).toBe('0');
  });

  it('reads displayed_amount_is_tax_inclusive "true" as "0", like the community report', async () => {
    const job = (await api.post('/job.json', { status: 'Quote' })).headers['x-record-uuid'] as string;
    const line = (
      await api.post('/jobmaterial.json', {
        job_uuid: job,
        quantity: '1',
        displayed_amount_is_tax_inclusive: 'true',
        displayed_amount: '285.00',
      })
    ).headers['x-record-uuid'] as string;
    expect((await api.get(`/jobmaterial/${line}.json`)).data.displayed_amount_is_tax_inclusive).toBe('0');
  });

  it('uses "0000-00-00 00:00:00" for unset dates and "" for unset uuid references', async () => {
    const job = (
      await api.get(
        `/job/${(await api.post('/job.json', { status: 'Quote' })).headers['x-record-uuid']}.json`,
      )
    ).data;
    expect(job.completion_date).toBe('0000-00-00 00:00:00');
    expect(job.payment_processed_stamp).toBe('0000-00-00 00:00:00');
    expect(job.company_uuid).toBe('');
    expect(job.category_uuid).toBe('');
  });
});

describe('edit_date', () => {
  it('is account-local (Australia/Sydney) "YYYY-MM-DD HH:MM:SS" of the sim clock and advances with it', async () => {
    // 2026-03-02T01:00:00Z is 12:00 in Sydney (AEDT, UTC+11).
    const uuid = (await api.post('/company.json', { name: 'A' })).headers['x-record-uuid'] as string;
    const first = (await api.get(`/company/${uuid}.json`)).data.edit_date as string;
    expect(first).toBe('2026-03-02 12:00:00');
    sim.control.clock.advance(90_000);
    await api.post(`/company/${uuid}.json`, { name: 'B' });
    const second = (await api.get(`/company/${uuid}.json`)).data.edit_date as string;
    expect(second).toBe('2026-03-02 12:01:30');
  });

  it('never goes backwards when the clock is moved back, and shares a second between writes by default', async () => {
    sim.control.clock.advance(3_600_000);
    const a = (await api.post('/company.json', { name: 'A' })).headers['x-record-uuid'] as string;
    sim.control.clock.advance(-7_200_000);
    const b = (await api.post('/company.json', { name: 'B' })).headers['x-record-uuid'] as string;
    const dateA = (await api.get(`/company/${a}.json`)).data.edit_date as string;
    const dateB = (await api.get(`/company/${b}.json`)).data.edit_date as string;
    expect(dateB).toBe(dateA);
  });

  it('with uniqueEditDates every write gets a strictly later edit_date (safe for `edit_date gt` polling)', async () => {
    sim.control.updateSettings({ uniqueEditDates: true });
    try {
      const dates: string[] = [];
      for (let i = 0; i < 3; i += 1) {
        const uuid = (await api.post('/company.json', { name: `C${i}` })).headers['x-record-uuid'] as string;
        dates.push((await api.get(`/company/${uuid}.json`)).data.edit_date as string);
      }
      expect(dates.every((date) => EDIT_DATE.test(date))).toBe(true);
      expect([...dates].sort()).toEqual(dates);
      expect(new Set(dates).size).toBe(3);
    } finally {
      sim.control.updateSettings({ uniqueEditDates: false });
    }
  });
});

describe('jobs', () => {
  it('numbers jobs sequentially in generated_job_id', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const uuid = (await api.post('/job.json', { status: 'Quote' })).headers['x-record-uuid'] as string;
      ids.push((await api.get(`/job/${uuid}.json`)).data.generated_job_id as string);
    }
    expect(ids).toEqual(['1', '2', '3']);
  });

  it('stamps status dates and the invoice flags with their _stamp fields', async () => {
    const uuid = (await api.post('/job.json', { status: 'Quote' })).headers['x-record-uuid'] as string;
    let job = (await api.get(`/job/${uuid}.json`)).data;
    expect(job.quote_date).toBe('2026-03-02 12:00:00');
    expect(job.completion_date).toBe('0000-00-00 00:00:00');
    sim.control.clock.advance(60_000);
    await api.post(`/job/${uuid}.json`, { status: 'Completed' });
    job = (await api.get(`/job/${uuid}.json`)).data;
    expect(job.completion_date).toBe('2026-03-02 12:01:00');
    sim.control.clock.advance(60_000);
    await api.post(`/job/${uuid}.json`, { payment_processed: 1, invoice_sent: 1 });
    job = (await api.get(`/job/${uuid}.json`)).data;
    expect(job).toMatchObject({ payment_processed: 1, invoice_sent: 1 });
    expect(job.payment_processed_stamp).toBe('2026-03-02 12:02:00');
    expect(job.invoice_sent_stamp).toBe('2026-03-02 12:02:00');
    await api.post(`/job/${uuid}.json`, { payment_processed: 0 });
    job = (await api.get(`/job/${uuid}.json`)).data;
    expect(job.payment_processed_stamp).toBe('0000-00-00 00:00:00');
  });

  it('records completion_actioned_by_uuid from x-impersonate-uuid, and 403s an unknown staff uuid', async () => {
    const staff = sim.control.insert('staff', { first: 'Ben', last: 'Walsh', email: 'ben@example.com' });
    const job = (await api.post('/job.json', { status: 'Work Order' })).headers['x-record-uuid'] as string;
    await api.post(
      `/job/${job}.json`,
      { status: 'Completed' },
      { headers: { 'x-impersonate-uuid': String(staff.uuid) } },
    );
    expect((await api.get(`/job/${job}.json`)).data.completion_actioned_by_uuid).toBe(staff.uuid);
    const bad = await api.get('/job.json', { headers: { 'x-impersonate-uuid': NEW_UUID() } });
    expect(bad.status).toBe(403);
  });
});
