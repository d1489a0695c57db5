/**
 * The official ServiceM8 SDK (`servicem8`, generated from ServiceM8's api.json) against the simulator.
 * The SDK validates every response with zod, so a wrong wire type in the simulator fails here.
 * The SDK has no filter parameter on list calls; the filter is added through its documented HTTPClient
 * `beforeRequest` hook, URL-encoded as `%24filter` as the real API requires.
 *
 * CONFLICT found here: the published SDK (0.9.54, generated from an older api.json) types
 * company.is_individual as a string, while the current spec says integer 0/1. The simulator follows the
 * current spec by default, so company calls through this SDK fail exactly as they would against an API
 * that follows it; the tests that go through companies switch `companyIsIndividualAsString` on.
 */
import { ServiceM8 } from 'servicem8';
import { HTTPClient } from 'servicem8/lib/http.js';
import { type RunningServiceM8Simulator } from '../../../simulators/servicem8';
import { API_KEY, NEW_UUID, startSim } from './helpers';

let sim: RunningServiceM8Simulator;

beforeAll(async () => {
  sim = await startSim({ seedDemo: true, companyIsIndividualAsString: true });
});
afterAll(() => sim.stop());

/** An SDK client; with `filter`, list calls carry `%24filter=<filter>`. */
function sdk(filter?: string): ServiceM8 {
  const httpClient = new HTTPClient();
  if (filter !== undefined) {
    httpClient.addHook('beforeRequest', (request) => {
      if (request.method !== 'GET') return request;
      const url = new URL(request.url);
      url.search = `${url.search ? `${url.search}&` : '?'}%24filter=${encodeURIComponent(filter)}`;
      return new Request(url.toString(), request);
    });
  }
  return new ServiceM8({
    serverURL: `${sim.url}/api_1.0`,
    security: { apiKey: API_KEY },
    httpClient,
    // Fail fast in tests instead of the SDK's default hour-long backoff.
    retryConfig: { strategy: 'none' },
  });
}

function recordUuid(headers: Record<string, string[]>): string {
  const uuid = headers['x-record-uuid']?.[0];
  if (!uuid) throw new Error('no x-record-uuid header');
  return uuid;
}

it('companies: create, read, update, filter and delete', async () => {
  const client = sdk();
  const created = await client.clients.createClients({ name: 'SDK Plumbing Co', addressCity: 'Ryde' });
  expect(created.result).toEqual({ errorCode: 0, message: 'OK' });
  const uuid = recordUuid(created.headers);
  expect(await client.clients.getClients({ uuid })).toMatchObject({
    uuid,
    name: 'SDK Plumbing Co',
    active: 1,
  });
  await client.clients.updateClients({
    uuid,
    companyCreate: { name: 'SDK Plumbing Co', addressCity: 'Epping' },
  });
  expect((await client.clients.getClients({ uuid })).addressCity).toBe('Epping');
  const filtered = await sdk("name eq 'SDK Plumbing Co'").clients.listClients();
  expect(filtered.map((c) => c.uuid)).toEqual([uuid]);
  expect((await client.clients.listClients()).length).toBe(41);
  await client.clients.deleteClients({ uuid });
  expect((await client.clients.getClients({ uuid })).active).toBe(0);
});

it('materials: create with a client uuid, read, update, filter and delete', async () => {
  const client = sdk();
  const uuid = NEW_UUID();
  const created = await client.materials.createMaterials({
    uuid,
    name: 'SDK Widget',
    itemNumber: 'SDK-1',
    price: '12.5',
    cost: '7',
  });
  expect(recordUuid(created.headers)).toBe(uuid);
  expect(await client.materials.getMaterials({ uuid })).toMatchObject({
    name: 'SDK Widget',
    price: '12.5000',
  });
  await client.materials.updateMaterials({ uuid, materialCreate: { name: 'SDK Widget', price: '13.00' } });
  expect((await client.materials.getMaterials({ uuid })).price).toBe('13.0000');
  const filtered = await sdk("item_number eq 'SDK-1'").materials.listMaterials();
  expect(filtered).toHaveLength(1);
  await client.materials.deleteMaterials({ uuid });
  const active = await sdk("item_number eq 'SDK-1' and active eq 1").materials.listMaterials();
  expect(active).toHaveLength(0);
});

it('jobs with lines and payments: totals, paid flag, filters and deletes', async () => {
  const client = sdk();
  const company = (await client.clients.listClients())[0];
  const job = recordUuid(
    (
      await client.jobs.createJobs({
        status: 'Work Order',
        companyUuid: company?.uuid,
        jobAddress: '1 SDK St',
      })
    ).headers,
  );
  const created = await client.jobs.getJobs({ uuid: job });
  expect(created).toMatchObject({ status: 'Work Order', totalInvoiceAmount: '0.0000' });
  expect(Number(created.generatedJobId)).toBeGreaterThan(0);

  await client.jobMaterials.createJobMaterials({
    jobUuid: job,
    name: 'Labour - Standard Hour',
    quantity: '2',
    price: '95.00',
    displayedAmountIsTaxInclusive: '0',
  });
  await client.jobMaterials.createJobMaterials({
    jobUuid: job,
    name: 'Tempering Valve',
    quantity: '1',
    displayedAmount: '181.50',
    displayedAmountIsTaxInclusive: '1',
  });
  const lines = await sdk(`job_uuid eq '${job}'`).jobMaterials.listJobMaterials();
  expect(lines).toHaveLength(2);
  expect(lines.find((l) => l.name === 'Tempering Valve')?.price).toBe('165.0000');

  await client.jobs.updateJobs({ uuid: job, jobCreate: { status: 'Completed', paymentProcessed: 1 } });
  const completed = await client.jobs.getJobs({ uuid: job });
  expect(completed).toMatchObject({
    status: 'Completed',
    paymentProcessed: 1,
    totalInvoiceAmount: '390.5000',
  });

  const payment = recordUuid(
    (
      await client.jobPayments.createJobPayments({
        jobUuid: job,
        amount: '390.50',
        method: 'EFTPOS',
        timestamp: '2026-03-02 10:00:00',
      })
    ).headers,
  );
  expect(await client.jobPayments.getJobPayments({ uuid: payment })).toMatchObject({
    amount: '390.5000',
    isDeposit: 0,
  });
  expect((await client.jobs.getJobs({ uuid: job })).paymentReceived).toBe(1);
  const payments = await sdk(`job_uuid eq '${job}'`).jobPayments.listJobPayments();
  expect(payments.map((p) => p.uuid)).toEqual([payment]);
  await client.jobPayments.deleteJobPayments({ uuid: payment });
  expect((await client.jobs.getJobs({ uuid: job })).paymentReceived).toBe(0);

  const completedJobs = await sdk("status eq 'Completed' and payment_processed eq 1").jobs.listJobs();
  expect(completedJobs.map((j) => j.uuid)).toContain(job);
  await client.jobs.deleteJobs({ uuid: job });
  expect((await client.jobs.getJobs({ uuid: job })).active).toBe(0);
});

it('with the current spec typing (is_individual integer), the SDK rejects company responses', async () => {
  sim.control.updateSettings({ companyIsIndividualAsString: false });
  try {
    await expect(sdk().clients.listClients()).rejects.toMatchObject({ name: 'ResponseValidationError' });
  } finally {
    sim.control.updateSettings({ companyIsIndividualAsString: true });
  }
});

it('reads every seeded list and the vendor through the SDK schemas', async () => {
  const client = sdk();
  expect((await client.jobs.listJobs()).length).toBeGreaterThan(20);
  expect((await client.taxRates.listTaxRates()).map((t) => t.name)).toContain('GST');
  expect((await client.companyContacts.listCompanyContacts()).length).toBeGreaterThanOrEqual(40);
  expect((await client.notes.listNotes()).length).toBeGreaterThan(0);
  const [vendor] = await client.vendors.listVendors();
  expect(vendor).toMatchObject({ currency: 'AUD', timezoneName: 'Australia/Sydney' });
});

it('surfaces the simulator errors as the SDK error classes', async () => {
  const wrongKey = new ServiceM8({
    serverURL: `${sim.url}/api_1.0`,
    security: { apiKey: 'smk-wrong' },
    retryConfig: { strategy: 'none' },
  });
  await expect(wrongKey.jobs.listJobs()).rejects.toMatchObject({
    statusCode: 401,
    name: 'AuthenticationError',
  });
  await expect(sdk().jobs.getJobs({ uuid: NEW_UUID() })).rejects.toMatchObject({
    statusCode: 404,
    name: 'NotFoundError',
  });
  sim.control.faults.add({ path: '/api_1.0/job.json', status: 429, count: 1 });
  await expect(sdk().jobs.listJobs()).rejects.toMatchObject({ statusCode: 429, name: 'RateLimitError' });
});

it('a 400 carries errorCode "1000" as a string (spec example), which the SDK cannot parse as ErrorT', async () => {
  const error: unknown = await sdk()
    .jobPayments.createJobPayments({ jobUuid: NEW_UUID(), amount: '1.00' })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(error).toMatchObject({ name: 'ResponseValidationError', statusCode: 400 });
  expect(String((error as { body?: unknown }).body)).toMatch(/"errorCode":"1000"/);
});
