import { type AxiosInstance } from 'axios';
import { type RunningServiceM8Simulator } from '../../../simulators/servicem8';
import { apiClient, filterQuery, startSim } from './helpers';

/**
 * Reading many dirty records in one call: `$filter` joins up to 10 conditions with `and` (no `or`:
 * ServiceM8's filtering page), so a batch of changed records is fetched by edit_date, or one uuid at a time.
 */
let sim: RunningServiceM8Simulator;
let api: AxiosInstance;

beforeAll(async () => {
  sim = await startSim({ seedDemo: true, uniqueEditDates: true });
  api = apiClient(sim);
});
afterAll(() => sim.stop());

const list = async (filter: string) => {
  const response = await api.get(`/job.json?${filterQuery(filter)}`);
  expect(response.status).toBe(200);
  return response.data as Array<Record<string, string | number>>;
};

it('edit_date gt … and uuid eq … and eight more conditions (10 in all) narrow to one record', async () => {
  const jobs = sim.store.list('job');
  const target = jobs[5];
  const before = jobs[0];
  if (!target || !before) throw new Error('demo world has no jobs');
  const conditions = [
    `edit_date gt '${String(before.edit_date)}'`,
    `uuid eq '${String(target.uuid)}'`,
    `status eq '${String(target.status)}'`,
    'active eq 1',
    ...Array.from({ length: 6 }, () => `edit_date lt '9999-12-31 00:00:00'`),
  ];
  expect(conditions).toHaveLength(10);
  const rows = await list(conditions.join(' and '));
  expect(rows.map((row) => row.uuid)).toEqual([target.uuid]);
});

it('edit_date gt a watermark returns exactly the records changed after it', async () => {
  const watermark = String(sim.store.list('job').at(-1)?.edit_date);
  sim.control.clock.advance(2000);
  const [first, second] = sim.store.list('job');
  if (!first || !second) throw new Error('demo world has no jobs');
  await api.post(`/job/${String(first.uuid)}.json`, { purchase_order_number: 'PO-1' });
  await api.post(`/job/${String(second.uuid)}.json`, { purchase_order_number: 'PO-2' });
  const changed = await list(`edit_date gt '${watermark}'`);
  expect(changed.map((row) => row.uuid).sort()).toEqual([first.uuid, second.uuid].sort());
});

it('there is no `or`: a filter using it is ignored and every record comes back; 11 conditions are a 400', async () => {
  const [a, b] = sim.store.list('job');
  const all = sim.store.count('job');
  const rows = await list(`uuid eq '${String(a?.uuid)}' or uuid eq '${String(b?.uuid)}'`);
  expect(rows).toHaveLength(all);
  const eleven = Array.from({ length: 11 }, () => 'active eq 1').join(' and ');
  expect((await api.get(`/job.json?${filterQuery(eleven)}`)).status).toBe(400);
});
