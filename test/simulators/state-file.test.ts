import axios from 'axios';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NO_THROTTLE, apiClient as qboClient, rawClient } from './quickbooks/helpers';
import {
  StateFileError,
  quickBooksSimulatorOptionsFromEnv,
  startQuickBooksSimulator,
} from '../../simulators/quickbooks/index';
import {
  StateFileError as Sm8StateFileError,
  serviceM8SimulatorOptionsFromEnv,
  startServiceM8Simulator,
} from '../../simulators/servicem8/index';
import { apiClient as sm8Client } from './servicem8/helpers';

/** Both simulators save their world to a JSON file and start again from it (the demo's restart). */
describe('simulator state files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sim-state-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const readEnvelope = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

  describe('QuickBooks', () => {
    const start = (stateFile: string) =>
      startQuickBooksSimulator({ stateFile, seedDemo: true, throttle: NO_THROTTLE });

    it('start, change, stop, start again from the file: same world, same ids, same tokens, ids continue', async () => {
      const stateFile = join(dir, 'nested', 'qbo.json');
      const first = await start(stateFile);
      expect(readEnvelope(stateFile)).toMatchObject({ format: 'qbo-simulator-state', version: 1 });
      const customers = first.store.list('Customer').length;
      const tokens = first.control.issueTokens();
      const created = (
        await qboClient(first, tokens.access_token).post('/customer', {
          DisplayName: 'Saved Across Restarts',
        })
      ).data.Customer;
      first.control.advanceClock(600_000);
      const clockBefore = Date.parse(first.control.now());
      // The debounced save lands without a stop.
      await first.stateSaved();
      expect(readFileSync(stateFile, 'utf8')).toContain('Saved Across Restarts');
      await first.stop();

      const second = await start(stateFile);
      try {
        // seedDemo did not seed a second demo world over the saved one.
        expect(second.store.list('Customer')).toHaveLength(customers + 1);
        expect(Date.parse(second.control.now())).toBeGreaterThanOrEqual(clockBefore);
        const api = qboClient(second, tokens.access_token);
        const read = await api.get(`/customer/${created.Id}`);
        expect(read.status).toBe(200);
        expect(read.data.Customer).toMatchObject({ DisplayName: 'Saved Across Restarts', SyncToken: '0' });
        const next = (await api.post('/customer', { DisplayName: 'After Restart' })).data.Customer;
        expect(Number(next.Id)).toBe(Number(created.Id) + 1);
        const refreshed = await rawClient(second).post(
          '/oauth2/v1/tokens/bearer',
          new URLSearchParams({
            grant_type: 'refresh_token',
            refresh_token: tokens.refresh_token,
          }).toString(),
          {
            auth: { username: 'qbo-sim-client-id', password: 'qbo-sim-client-secret' },
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          },
        );
        expect(refreshed.status).toBe(200);
      } finally {
        await second.stop();
      }
    });

    it('an API write alone schedules the save (no control call, no stop)', async () => {
      const stateFile = join(dir, 'qbo-api.json');
      const sim = await startQuickBooksSimulator({ stateFile, throttle: NO_THROTTLE });
      try {
        const tokens = sim.control.issueTokens();
        await sim.stateSaved();
        await qboClient(sim, tokens.access_token).post('/customer', { DisplayName: 'Only Through The API' });
        const saves = await sim.stateSaved();
        expect(readFileSync(stateFile, 'utf8')).toContain('Only Through The API');
        // Reads (API or control) schedule nothing, and a save does not schedule the next one.
        await qboClient(sim, tokens.access_token).get('/query', {
          params: { query: 'select * from Customer' },
        });
        sim.control.listRecords('Customer');
        sim.control.stats();
        expect(await sim.stateSaved()).toBe(saves);
      } finally {
        await sim.stop();
      }
    });

    it('stop saves a change made just before it; /__sim writes count as changes', async () => {
      const stateFile = join(dir, 'qbo.json');
      const first = await startQuickBooksSimulator({ stateFile, stateSaveDelayMs: 60_000 });
      await rawClient(first).post('/__sim/records/Customer', { DisplayName: 'Made By Hand' });
      await first.stop();
      const second = await startQuickBooksSimulator({ stateFile });
      try {
        expect(second.store.list('Customer').map((c) => c.DisplayName)).toEqual(['Made By Hand']);
      } finally {
        await second.stop();
      }
    });

    it('a corrupt, foreign, newer or incomplete file gives a clear error naming the file', async () => {
      const stateFile = join(dir, 'bad.json');
      writeFileSync(stateFile, '{"format": "qbo-simulator-state", "version": 1, "state": {');
      await expect(startQuickBooksSimulator({ stateFile })).rejects.toThrow(
        new RegExp(`QuickBooks simulator state file ${stateFile} is not valid JSON`),
      );
      writeFileSync(stateFile, JSON.stringify({ format: 'sm8-simulator-state', version: 1, state: {} }));
      await expect(startQuickBooksSimulator({ stateFile })).rejects.toThrow(
        `The file ${stateFile} is not a QuickBooks simulator state file`,
      );
      writeFileSync(stateFile, JSON.stringify({ format: 'qbo-simulator-state', version: 2, state: {} }));
      await expect(startQuickBooksSimulator({ stateFile })).rejects.toThrow(
        'has version 2; this simulator reads version 1',
      );
      writeFileSync(stateFile, JSON.stringify({ format: 'qbo-simulator-state', version: 1, state: {} }));
      await expect(startQuickBooksSimulator({ stateFile })).rejects.toBeInstanceOf(StateFileError);
      await expect(startQuickBooksSimulator({ stateFile })).rejects.toThrow(
        `The QuickBooks simulator state file ${stateFile} could not be loaded`,
      );
    });

    it('QBO_SIM_STATE_FILE sets the option for npm run sim', () => {
      expect(quickBooksSimulatorOptionsFromEnv({ QBO_SIM_STATE_FILE: '/tmp/q.json' }).stateFile).toBe(
        '/tmp/q.json',
      );
    });
  });

  describe('ServiceM8', () => {
    it('start, change, stop, start again from the file: records, job numbers, subscriptions, tokens and clock', async () => {
      const stateFile = join(dir, 'sm8.json');
      const first = await startServiceM8Simulator({ stateFile, seedDemo: true, webhookChallenge: false });
      expect(readEnvelope(stateFile)).toMatchObject({ format: 'sm8-simulator-state', version: 1 });
      const jobs = first.store.count('job');
      const api = sm8Client(first);
      const jobUuid = (await api.post('/job.json', { status: 'Quote', job_address: '1 Saved St' })).headers[
        'x-record-uuid'
      ] as string;
      const number = Number((await api.get(`/job/${jobUuid}.json`)).data.generated_job_id);
      const subscribed = await axios.post(
        `${first.url}/webhook_subscriptions`,
        { object: 'job', fields: 'status', callback_url: 'http://127.0.0.1:9/hook', unique_id: 'demo' },
        { headers: { 'X-Api-Key': 'smk-sim-0000' }, validateStatus: () => true },
      );
      expect(subscribed.status).toBe(200);
      const token = first.control.oauth.issueToken(['read_jobs']);
      first.control.clock.advance(600_000);
      const clockBefore = Date.parse(first.control.clock.now());
      await first.stateSaved();
      expect(readFileSync(stateFile, 'utf8')).toContain('1 Saved St');
      await first.stop();

      const second = await startServiceM8Simulator({ stateFile, seedDemo: true, webhookChallenge: false });
      try {
        expect(second.store.count('job')).toBe(jobs + 1);
        expect(Date.parse(second.control.clock.now())).toBeGreaterThanOrEqual(clockBefore);
        const bearer = await axios.get(`${second.url}/api_1.0/job/${jobUuid}.json`, {
          headers: { Authorization: `Bearer ${token.access_token}` },
          validateStatus: () => true,
        });
        expect(bearer.status).toBe(200);
        expect(bearer.data).toMatchObject({ uuid: jobUuid, job_address: '1 Saved St' });
        const next = (await sm8Client(second).post('/job.json', { status: 'Quote' })).headers[
          'x-record-uuid'
        ] as string;
        expect(Number(second.store.get('job', next)?.generated_job_id)).toBe(number + 1);
        expect(second.control.webhooks.subscriptions()).toEqual([
          expect.objectContaining({
            object: 'job',
            callback_url: 'http://127.0.0.1:9/hook',
            unique_id: 'demo',
          }),
        ]);
      } finally {
        await second.stop();
      }
    });

    it('an API write alone schedules the save (no control call, no stop)', async () => {
      const stateFile = join(dir, 'sm8-api.json');
      const sim = await startServiceM8Simulator({ stateFile });
      try {
        await sim.stateSaved();
        await sm8Client(sim).post('/company.json', { name: 'Only Through The API' });
        const saves = await sim.stateSaved();
        expect(readFileSync(stateFile, 'utf8')).toContain('Only Through The API');
        await sm8Client(sim).get('/company.json');
        sim.control.records('company');
        sim.control.clock.now();
        expect(await sim.stateSaved()).toBe(saves);
      } finally {
        await sim.stop();
      }
    });

    it('a corrupt file gives a clear error naming the file; SM8_SIM_STATE_FILE sets the option', async () => {
      const stateFile = join(dir, 'sm8.json');
      writeFileSync(stateFile, 'not json');
      await expect(startServiceM8Simulator({ stateFile })).rejects.toBeInstanceOf(Sm8StateFileError);
      await expect(startServiceM8Simulator({ stateFile })).rejects.toThrow(
        `The ServiceM8 simulator state file ${stateFile} is not valid JSON`,
      );
      expect(serviceM8SimulatorOptionsFromEnv({ SM8_SIM_STATE_FILE: '/tmp/s.json' }).stateFile).toBe(
        '/tmp/s.json',
      );
    });
  });
});
