import { type AxiosInstance } from 'axios';
import { ServiceM8 } from 'servicem8';
import { type RunningServiceM8Simulator } from '../../../simulators/servicem8';
import { API_KEY, apiClient, filterQuery, startSim } from './helpers';

/** Discounts and credits in ServiceM8 are jobmaterials with a negative price or quantity. */
let sim: RunningServiceM8Simulator;
let api: AxiosInstance;
let gst: string;
let job: string;

beforeAll(async () => {
  sim = await startSim();
  api = apiClient(sim);
});
afterAll(() => sim.stop());
beforeEach(async () => {
  sim.control.reset('empty');
  sim.control.updateSettings({ rejectNegativeLines: false });
  gst = (await api.post('/taxrate.json', { name: 'GST', amount: '10', is_default_tax_rate: 1 })).headers[
    'x-record-uuid'
  ] as string;
  job = (await api.post('/job.json', { status: 'Work Order' })).headers['x-record-uuid'] as string;
});

const total = async (uuid = job): Promise<unknown> =>
  ((await api.get(`/job/${uuid}.json`)).data as Record<string, unknown>).total_invoice_amount;
const addLine = async (fields: Record<string, unknown>, jobUuid = job) =>
  api.post('/jobmaterial.json', { job_uuid: jobUuid, tax_rate_uuid: gst, ...fields });

it('a discount line with a negative ex-tax price lowers total_invoice_amount by its tax-inclusive amount', async () => {
  await addLine({ name: 'Labour', quantity: '2', price: '50' });
  const discount = await addLine({ name: 'Discount', quantity: '1', price: '-20' });
  expect(discount.status).toBe(200);
  const line = (await api.get(`/jobmaterial/${String(discount.headers['x-record-uuid'])}.json`)).data;
  expect(line).toMatchObject({ price: '-20.0000', displayed_amount: '-20.0000', quantity: '1.0000' });
  // 110.00 − 22.00
  expect(await total()).toBe('88.0000');
});

it('a negative quantity and a negative inc-tax displayed amount work the same way', async () => {
  await addLine({ name: 'Labour', quantity: '3', price: '50' }); // 165.00
  await addLine({ name: 'Returned part', quantity: '-1', price: '15' }); // −16.50
  const inc = await addLine({
    name: 'Goodwill credit',
    quantity: '1',
    displayed_amount: '-11.00',
    displayed_amount_is_tax_inclusive: '1',
  });
  const line = (await api.get(`/jobmaterial/${String(inc.headers['x-record-uuid'])}.json`)).data;
  expect(line).toMatchObject({ price: '-10.0000', displayed_amount: '-11.0000' });
  expect(await total()).toBe('137.5000');
});

it('a job whose lines are all credits has a negative total; filters compare it numerically', async () => {
  await addLine({ name: 'Credit', quantity: '1', price: '-100' });
  expect(await total()).toBe('-110.0000');
  const other = (await api.post('/job.json', { status: 'Work Order' })).headers['x-record-uuid'] as string;
  await addLine({ name: 'Labour', quantity: '1', price: '100' }, other);
  const credits = await api.get(`/job.json?${filterQuery("total_invoice_amount lt '0'")}`);
  expect((credits.data as Array<{ uuid: string }>).map((row) => row.uuid)).toEqual([job]);
});

it('the official SDK writes and reads a negative line', async () => {
  const client = new ServiceM8({
    serverURL: `${sim.url}/api_1.0`,
    security: { apiKey: API_KEY },
    retryConfig: { strategy: 'none' },
  });
  await client.jobMaterials.createJobMaterials({
    jobUuid: job,
    name: 'Loyalty discount',
    quantity: '1',
    price: '-5.00',
    displayedAmountIsTaxInclusive: '0',
    taxRateUuid: gst,
  });
  const lines = await client.jobMaterials.listJobMaterials();
  expect(lines.find((line) => line.name === 'Loyalty discount')?.price).toBe('-5.0000');
  expect((await client.jobs.getJobs({ uuid: job })).totalInvoiceAmount).toBe('-5.5000');
});

it('switch rejectNegativeLines: a negative quantity, price or displayed amount is a 400 and nothing changes', async () => {
  await addLine({ name: 'Labour', quantity: '1', price: '100' });
  sim.control.updateSettings({ rejectNegativeLines: true });
  const refused = await addLine({ name: 'Discount', quantity: '1', price: '-20' });
  expect(refused.status).toBe(400);
  expect(refused.data).toEqual({
    errorCode: '1000',
    message: 'jobmaterial.price must not be negative, got "-20.0000"',
  });
  expect((await addLine({ name: 'Back', quantity: '-1', price: '5' })).status).toBe(400);
  expect(await total()).toBe('110.0000');
  expect(sim.store.count('jobmaterial')).toBe(1);
});

// PAY-7: a refund is a jobpayment with a negative amount. The spec types `amount` as a string with no minimum;
// whether the real API takes one is UNCONFIRMED (docs/servicem8-api.md, jobpayment): the simulator takes it,
// and counts it against the payments that mark the job paid.
it('PAY-7: a negative jobpayment amount (a refund) is accepted and read back as written', async () => {
  await addLine({ name: 'Labour', quantity: '1', price: '100' }); // 110.00
  await api.post('/jobpayment.json', { job_uuid: job, amount: '110.00', method: 'Cash' });
  const refund = await api.post('/jobpayment.json', { job_uuid: job, amount: '-20.00', method: 'Cash' });
  expect(refund.status).toBe(200);
  const read = (await api.get(`/jobpayment/${String(refund.headers['x-record-uuid'])}.json`)).data;
  expect(read).toMatchObject({ job_uuid: job, amount: '-20.0000', active: 1 });
  const paid = ((await api.get(`/job/${job}.json`)).data as Record<string, unknown>).payment_received;
  expect(paid).toBe(0); // 110.00 − 20.00 no longer covers the total
});
