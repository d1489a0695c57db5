import { type RunningServiceM8Simulator } from '../../../simulators/servicem8';
import {
  API_KEY,
  type WebhookReceiver,
  apiClient,
  rootClient,
  startReceiver,
  startSim,
  subscribe,
} from './helpers';

let sim: RunningServiceM8Simulator;
let receiver: WebhookReceiver;

beforeAll(async () => {
  sim = await startSim();
});
afterAll(() => sim.stop());
beforeEach(async () => {
  sim.control.reset('empty');
  receiver = await startReceiver();
});
afterEach(() => receiver.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Payload {
  object: string;
  entry: Array<{ uuid: string; changed_fields: string[]; time: string }>;
  resource_url: string;
}

describe('subscriptions', () => {
  it('challenges the callback with form mode=subscribe&challenge before activating', async () => {
    const response = await subscribe(sim, 'job', 'status,payment_processed', receiver.url, 'sync-1');
    expect(response.status).toBe(200);
    expect(receiver.challenges).toHaveLength(1);
    expect(receiver.challenges[0]).toMatchObject({ mode: 'subscribe' });
    expect(receiver.challenges[0]?.challenge).toMatch(/^[0-9a-f]{32}$/);
    const list = await rootClient(sim, { 'X-Api-Key': API_KEY }).get('/webhook_subscriptions');
    expect(list.data).toEqual([
      {
        type: 'object',
        object: 'job',
        fields: ['status', 'payment_processed'],
        callback_url: receiver.url,
        unique_id: 'sync-1',
        active: true,
      },
    ]);
  });

  it('refuses the subscription when the callback does not echo the challenge', async () => {
    receiver.setChallengeAnswer(() => 'ok');
    const response = await subscribe(sim, 'job', 'status', receiver.url);
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.data)).toMatch(/challenge/);
    expect(sim.control.webhooks.subscriptions()).toEqual([]);
  });

  it('skips the challenge when webhookChallenge is off', async () => {
    sim.control.updateSettings({ webhookChallenge: false });
    try {
      receiver.setChallengeAnswer(() => 'wrong');
      expect((await subscribe(sim, 'job', 'status', receiver.url)).status).toBe(200);
      expect(receiver.challenges).toHaveLength(0);
    } finally {
      sim.control.updateSettings({ webhookChallenge: true });
    }
  });

  it('re-posting the same object + callback modifies; DELETE with identifying params removes', async () => {
    await subscribe(sim, 'job', 'status', receiver.url);
    await subscribe(sim, 'job', 'status,invoice_sent', receiver.url);
    const subscriptions = sim.control.webhooks.subscriptions();
    expect(subscriptions).toHaveLength(1);
    expect(subscriptions[0]?.fields).toEqual(['status', 'invoice_sent']);
    const root = rootClient(sim, { 'X-Api-Key': API_KEY });
    const removed = await root.delete('/webhook_subscriptions', {
      params: { object: 'job', callback_url: receiver.url },
    });
    expect(removed.status).toBe(200);
    expect(sim.control.webhooks.subscriptions()).toEqual([]);
  });

  it('needs authentication and validates object, fields and callback_url', async () => {
    const anonymous = await rootClient(sim).get('/webhook_subscriptions');
    expect(anonymous.status).toBe(401);
    expect((await subscribe(sim, 'spaceship', 'status', receiver.url)).status).toBe(400);
    expect((await subscribe(sim, 'job', 'colour', receiver.url)).status).toBe(400);
    expect((await subscribe(sim, 'job', 'status', 'not a url')).status).toBe(400);
  });
});

describe('deliveries', () => {
  it('POSTs {object, entry:[{uuid, changed_fields, time (UTC)}], resource_url} for watched changes only', async () => {
    sim.control.clock.set('2026-03-02T01:00:00Z');
    await subscribe(sim, 'job', 'status,payment_processed', receiver.url);
    const api = apiClient(sim);
    const uuid = (await api.post('/job.json', { status: 'Work Order' })).headers['x-record-uuid'] as string;
    await receiver.waitFor(1);
    await api.post(`/job/${uuid}.json`, { job_description: 'not watched' });
    await api.post(`/job/${uuid}.json`, { status: 'Completed', job_description: 'again' });
    await receiver.waitFor(2);
    await sim.control.webhooks.idle();
    expect(receiver.received).toHaveLength(2);
    const [created, changed] = receiver.received.map((r) => r.body as Payload);
    expect(receiver.received[0]?.contentType).toMatch(/^application\/json/);
    expect(created).toEqual({
      object: 'job',
      entry: [
        {
          uuid,
          changed_fields: ['status', 'payment_processed'],
          time: expect.stringMatching(/^2026-03-02 01:00:0\d$/),
        },
      ],
      resource_url: `${sim.url}/api_1.0/Job/${uuid}.json`,
    });
    expect(changed?.entry[0]?.changed_fields).toEqual(['status']);
    const resource = await apiClient(sim).get(
      String(changed?.resource_url).replace(`${sim.url}/api_1.0`, ''),
    );
    expect(resource.data.status).toBe('Completed');
  });

  it('a delete notifies `active`; a jobmaterial write notifies the job total when watched', async () => {
    await subscribe(sim, 'job', 'total_invoice_amount', receiver.url);
    const api = apiClient(sim);
    const job = (await api.post('/job.json', { status: 'Quote' })).headers['x-record-uuid'] as string;
    await receiver.waitFor(1);
    await api.post('/jobmaterial.json', { job_uuid: job, quantity: '1', price: '10' });
    await receiver.waitFor(2);
    expect((receiver.received[1]?.body as Payload).entry[0]).toMatchObject({
      uuid: job,
      changed_fields: ['total_invoice_amount'],
    });
    await api.delete(`/job/${job}.json`);
    await receiver.waitFor(3);
    expect((receiver.received[2]?.body as Payload).entry[0]?.changed_fields).toEqual(['active']);
  });

  it('retries failures with backoff and deactivates the subscription after 12 hours of failure (sim clock)', async () => {
    await subscribe(sim, 'company', 'name', receiver.url);
    receiver.setStatus(500);
    await apiClient(sim).post('/company.json', { name: 'Flaky' });
    await receiver.waitFor(1);
    await sim.control.webhooks.idle();
    let [delivery] = sim.control.webhooks.deliveries();
    expect(delivery).toMatchObject({ status: 'retry_wait', attempts: 1, lastStatusCode: 500 });
    sim.control.clock.advance(11_000);
    await receiver.waitFor(2);
    await sim.control.webhooks.idle();
    [delivery] = sim.control.webhooks.deliveries();
    expect(delivery).toMatchObject({ status: 'retry_wait', attempts: 2 });
    sim.control.clock.advance(12 * 60 * 60 * 1000);
    await receiver.waitFor(3);
    await sim.control.webhooks.idle();
    [delivery] = sim.control.webhooks.deliveries();
    expect(delivery?.status).toBe('abandoned');
    const inactive = await rootClient(sim, { 'X-Api-Key': API_KEY }).get('/webhook_subscriptions', {
      params: { status: 'inactive' },
    });
    expect(inactive.data).toHaveLength(1);
    expect(inactive.data[0]).toMatchObject({
      active: false,
      last_failure_reason: 'Webhook request failed for over 12 hours',
      last_failure_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/),
    });
    const active = await rootClient(sim, { 'X-Api-Key': API_KEY }).get('/webhook_subscriptions');
    expect(active.data).toEqual([]);
  });

  it('a success after failures clears the failure clock', async () => {
    await subscribe(sim, 'company', 'name', receiver.url);
    receiver.setStatus(503);
    await apiClient(sim).post('/company.json', { name: 'Recovers' });
    await receiver.waitFor(1);
    await sim.control.webhooks.idle();
    receiver.setStatus(200);
    const flushed = await sim.control.webhooks.flush();
    expect(flushed).toHaveLength(1);
    expect(sim.control.webhooks.deliveries()[0]).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(sim.control.webhooks.subscriptions()[0]?.active).toBe(true);
  });

  it('pause queues deliveries without sending; resume sends them', async () => {
    await subscribe(sim, 'company', 'name', receiver.url);
    sim.control.webhooks.pause();
    await apiClient(sim).post('/company.json', { name: 'Queued' });
    await sleep(100);
    expect(receiver.received).toHaveLength(0);
    expect(sim.control.webhooks.deliveries()[0]?.status).toBe('queued');
    sim.control.webhooks.resume();
    await receiver.waitFor(1);
  });

  it('duplicate switch delivers the same notification twice', async () => {
    await subscribe(sim, 'company', 'name', receiver.url);
    sim.control.webhooks.configure({ duplicateRate: 1 });
    await apiClient(sim).post('/company.json', { name: 'Twice' });
    await receiver.waitFor(2);
    expect(receiver.received[0]?.body).toEqual(receiver.received[1]?.body);
    expect(sim.control.webhooks.deliveries()[1]?.duplicateOf).toBe(sim.control.webhooks.deliveries()[0]?.id);
  });

  it('reorder switch delivers a batch newest first', async () => {
    await subscribe(sim, 'company', 'name', receiver.url);
    sim.control.webhooks.pause();
    sim.control.webhooks.configure({ reorder: true });
    const api = apiClient(sim);
    const first = (await api.post('/company.json', { name: 'First' })).headers['x-record-uuid'] as string;
    const second = (await api.post('/company.json', { name: 'Second' })).headers['x-record-uuid'] as string;
    await sim.control.webhooks.flush();
    expect(receiver.received.map((r) => (r.body as Payload).entry[0]?.uuid)).toEqual([second, first]);
  });

  it('drop switch loses notifications; delay switch holds them back', async () => {
    await subscribe(sim, 'company', 'name', receiver.url);
    sim.control.webhooks.configure({ dropRate: 1 });
    await apiClient(sim).post('/company.json', { name: 'Dropped' });
    await sim.control.webhooks.flush();
    expect(receiver.received).toHaveLength(0);
    expect(sim.control.webhooks.deliveries()[0]?.status).toBe('dropped');

    sim.control.webhooks.configure({ dropRate: 0, delayMs: 300 });
    const started = Date.now();
    await apiClient(sim).post('/company.json', { name: 'Late' });
    await sleep(100);
    expect(receiver.received).toHaveLength(0);
    await receiver.waitFor(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
  });

  it('a write never waits for a slow subscriber', async () => {
    await subscribe(sim, 'company', 'name', receiver.url);
    receiver.setDelayMs(1500);
    const started = Date.now();
    expect((await apiClient(sim).post('/company.json', { name: 'Fast' })).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(500);
    await receiver.waitFor(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
  });
});
