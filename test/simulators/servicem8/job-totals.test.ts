import { type AxiosInstance } from 'axios';
import { type RunningServiceM8Simulator } from '../../../simulators/servicem8';
import { apiClient, startSim } from './helpers';

let sim: RunningServiceM8Simulator;
let api: AxiosInstance;
let gst: string;
let gstFree: string;
let job: string;

beforeAll(async () => {
  sim = await startSim();
  api = apiClient(sim);
});
afterAll(() => sim.stop());
beforeEach(async () => {
  sim.control.reset('empty');
  gst = (await api.post('/taxrate.json', { name: 'GST', amount: '10', is_default_tax_rate: 1 })).headers[
    'x-record-uuid'
  ] as string;
  gstFree = (await api.post('/taxrate.json', { name: 'GST Free', amount: '0' })).headers[
    'x-record-uuid'
  ] as string;
  job = (await api.post('/job.json', { status: 'Work Order' })).headers['x-record-uuid'] as string;
});

async function jobField(field: string): Promise<unknown> {
  return ((await api.get(`/job/${job}.json`)).data as Record<string, unknown>)[field];
}

async function addLine(fields: Record<string, unknown>): Promise<string> {
  const response = await api.post('/jobmaterial.json', { job_uuid: job, ...fields });
  expect(response.status).toBe(200);
  return response.headers['x-record-uuid'] as string;
}

it('total_invoice_amount is the tax-inclusive sum of active lines, recomputed on every jobmaterial write', async () => {
  expect(await jobField('total_invoice_amount')).toBe('0.0000');
  const ex = await addLine({ name: 'Labour', quantity: '2', price: '50', tax_rate_uuid: gst });
  expect(await jobField('total_invoice_amount')).toBe('110.0000');
  const inc = await addLine({
    name: 'Hot water',
    quantity: '1',
    displayed_amount: '285.00',
    displayed_amount_is_tax_inclusive: '1',
    tax_rate_uuid: gst,
  });
  expect(await jobField('total_invoice_amount')).toBe('395.0000');
  await api.post(`/jobmaterial/${ex}.json`, { quantity: '3' });
  expect(await jobField('total_invoice_amount')).toBe('450.0000');
  await api.delete(`/jobmaterial/${inc}.json`);
  expect(await jobField('total_invoice_amount')).toBe('165.0000');
  await api.post(`/jobmaterial/${inc}.json`, { active: 1 });
  expect(await jobField('total_invoice_amount')).toBe('450.0000');
});

it('adjusts price to stay consistent with a tax-inclusive displayed_amount', async () => {
  const line = await addLine({
    quantity: '1',
    price: '259.09',
    displayed_amount: '285.00',
    displayed_amount_is_tax_inclusive: '1',
    tax_rate_uuid: gst,
  });
  const stored = (await api.get(`/jobmaterial/${line}.json`)).data;
  expect(stored).toMatchObject({ price: '259.0900', displayed_amount: '285.0000' });
  // Inconsistent input: the shown inc-tax amount wins and price follows.
  await api.post(`/jobmaterial/${line}.json`, { price: '1.00', displayed_amount: '110.00' });
  expect((await api.get(`/jobmaterial/${line}.json`)).data).toMatchObject({
    price: '100.0000',
    displayed_amount: '110.0000',
  });
  expect(await jobField('total_invoice_amount')).toBe('110.0000');
});

it('switching a $1.15 inc-tax line to ex-tax moves the total by a cent, as documented', async () => {
  const line = await addLine({
    quantity: '1',
    displayed_amount: '1.15',
    displayed_amount_is_tax_inclusive: '1',
    tax_rate_uuid: gst,
  });
  expect(await jobField('total_invoice_amount')).toBe('1.1500');
  await api.post(`/jobmaterial/${line}.json`, { displayed_amount_is_tax_inclusive: '0' });
  expect(await jobField('total_invoice_amount')).toBe('1.1600');
});

it('rounds per line: unit to cents, line to cents, tax per line', async () => {
  await addLine({ quantity: '3', price: '33.335', tax_rate_uuid: gst });
  await addLine({ quantity: '0.5', price: '0.05', tax_rate_uuid: gst });
  // 3 x 33.34 = 100.02 + 10.00 tax; 0.5 x 0.05 = 0.025 -> 0.03 + 0.00 tax
  expect(await jobField('total_invoice_amount')).toBe('110.0500');
});

it('a line without tax_rate_uuid takes its material tax rate, else the default tax rate', async () => {
  const material = (
    await api.post('/material.json', { name: 'Permit', price: '64.50', tax_rate_uuid: gstFree })
  ).headers['x-record-uuid'] as string;
  const fromMaterial = await addLine({ quantity: '1', price: '64.50', material_uuid: material });
  const fromDefault = await addLine({ quantity: '1', price: '10' });
  expect((await api.get(`/jobmaterial/${fromMaterial}.json`)).data.tax_rate_uuid).toBe(gstFree);
  expect((await api.get(`/jobmaterial/${fromDefault}.json`)).data.tax_rate_uuid).toBe(gst);
  expect(await jobField('total_invoice_amount')).toBe('75.5000');
});

it('only one tax rate is the default', async () => {
  await api.post(`/taxrate/${gstFree}.json`, { is_default_tax_rate: 1 });
  expect((await api.get(`/taxrate/${gst}.json`)).data.is_default_tax_rate).toBe(0);
  expect((await api.get(`/taxrate/${gstFree}.json`)).data.is_default_tax_rate).toBe(1);
});

it('payment_received turns 1 when active payments cover the total, and back to 0 when one is deleted', async () => {
  await addLine({ quantity: '1', price: '100', tax_rate_uuid: gst });
  const first = (await api.post('/jobpayment.json', { job_uuid: job, amount: '50.00', method: 'Cash' }))
    .headers['x-record-uuid'] as string;
  expect(await jobField('payment_received')).toBe(0);
  const second = await api.post('/jobpayment.json', { job_uuid: job, amount: '60.00', method: 'EFTPOS' });
  expect(second.status).toBe(200);
  expect(await jobField('payment_received')).toBe(1);
  expect(await jobField('payment_received_stamp')).not.toBe('0000-00-00 00:00:00');
  const payment = (await api.get(`/jobpayment/${first}.json`)).data;
  expect(payment).toMatchObject({ amount: '50.0000', is_deposit: 0, method: 'Cash' });
  expect(payment.timestamp).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  await api.delete(`/jobpayment/${first}.json`);
  expect(await jobField('payment_received')).toBe(0);
  expect(await jobField('payment_received_stamp')).toBe('0000-00-00 00:00:00');
});

it('material item_number must be unique among active materials', async () => {
  expect((await api.post('/material.json', { name: 'A', item_number: 'SKU-1' })).status).toBe(200);
  const clash = await api.post('/material.json', { name: 'B', item_number: 'SKU-1' });
  expect(clash.status).toBe(400);
  expect(clash.data.message).toMatch(/item_number 'SKU-1' is already used/);
});
