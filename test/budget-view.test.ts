/**
 * Issue 12, the budget view: GET /admin/connections/:id/budget (behind the admin token), `sm8qbo budget
 * <connection>` (table and --json) and the status page's budget panel, on a connection whose permits were
 * taken by each lane and which a 429 slowed down.
 */
import axios from 'axios';
import { RateGovernor } from '../apis/governor/rate-governor';
import { runCli } from '../client/cli';
import { describeBudget } from '../client/cli/budget';
import type { BudgetUsage } from '../domain/lanes';
import { startWorld, type World } from './helpers/world';

const TOKEN = 'budget-test-token-0123456789';
const CONN = 'budget-view';
let w: World;
let governor: RateGovernor;

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const lines: string[] = [];
  const errors: string[] = [];
  const code = await runCli(['--url', w.apiUrl, ...args], (s) => lines.push(s), {
    env: { ...process.env, ADMIN_TOKEN: TOKEN },
    err: (s) => errors.push(s),
  });
  return { code, out: lines.join('\n'), err: errors.join('\n') };
}

const auth = { headers: { Authorization: `Bearer ${TOKEN}` }, validateStatus: () => true };

beforeAll(async () => {
  w = await startWorld({ env: { ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'error' } });
  await w.connect(CONN);
  governor = new RateGovernor(w.h.pool);
  for (const [lane, n] of [
    ['bulk', 3],
    ['live', 2],
  ] as const)
    for (let i = 0; i < n; i += 1) await governor.acquire(CONN, 'sm8', { lane });
  await (await governor.acquire(CONN, 'qbo', { lane: 'live' })).release();
  await governor.penalize(CONN, 'qbo', null); // a 429 without Retry-After: QuickBooks at half speed
});
afterAll(async () => {
  await governor.close();
  await w.close();
});

describe('issue 12: the budget view', () => {
  it('OPS-2: GET /admin/connections/:id/budget needs the admin token and shows each API by lane', async () => {
    const url = `${w.apiUrl}/admin/connections/${CONN}/budget`;
    expect((await axios.get(url, { validateStatus: () => true })).status).toBe(401);
    const res = await axios.get<{ connection: string; budgets: BudgetUsage[] }>(url, auth);
    expect(res.status).toBe(200);
    expect(res.data.connection).toBe(CONN);
    const sm8 = res.data.budgets.find((b) => b.api === 'sm8');
    const qbo = res.data.budgets.find((b) => b.api === 'qbo');
    expect(sm8).toMatchObject({ perMinuteLimit: 171, perDayLimit: 19_000, slowdown: 1, bulkPaused: null });
    expect(sm8?.byLane.find((l) => l.lane === 'bulk')).toEqual({ lane: 'bulk', today: 3, lastMinute: 3 });
    expect(sm8?.byLane.find((l) => l.lane === 'live')).toEqual({ lane: 'live', today: 2, lastMinute: 2 });
    // The connect flow's own calls (the API process: interactive) come on top.
    expect(sm8?.today).toBe(5 + (sm8?.byLane.find((l) => l.lane === 'interactive')?.today ?? 0));
    expect(qbo).toMatchObject({ perMinuteLimit: 475, perDayLimit: null, slowdown: 0.5, cooldownUntil: null });

    expect((await axios.get(`${w.apiUrl}/admin/connections/nobody/budget`, auth)).status).toBe(404);
    const bad = await axios.get(`${w.apiUrl}/admin/connections/Bad!/budget`, auth);
    expect(bad.status).toBe(400);
  });

  it('OPS-2: sm8qbo budget <connection> prints a table (and --json the API answer); errors as other commands', async () => {
    const human = await cli('budget', CONN);
    expect(human.code).toBe(0);
    const [header, , sm8Row, qboRow] = human.out.split('\n');
    expect(header).toMatch(/^api\s+last minute\s+today\s+interactive\s+live\s+bulk\s+speed/);
    expect(sm8Row).toMatch(/^ServiceM8\s+\d+\/171\s+\d+\/19000\s+\d+\s+2\s+3\s+full/);
    expect(qboRow).toMatch(/^QuickBooks\s+\d+\/475\s+\d+\s+\d+\s+1\s+0\s+50% \(after a 429\)/);

    const json = JSON.parse((await cli('--json', 'budget', CONN)).out) as { budgets: BudgetUsage[] };
    expect(json.budgets.map((b) => b.api)).toEqual(['sm8', 'qbo']);

    expect(await cli('budget', 'nobody')).toMatchObject({ code: 3, err: 'error: no connection "nobody"' });
    expect((await cli('budget')).err).toBe(
      "error: missing required argument 'connection' (see `sm8qbo help budget`)",
    );
    const help = await cli('help', 'budget');
    expect(help.out).toContain('Examples:');
    expect(help.out).toContain('sm8qbo budget acme');
  });

  it('near the daily cap the CLI says in words why background work waits', () => {
    const paused: BudgetUsage = {
      api: 'sm8',
      perMinuteLimit: 171,
      perDayLimit: 19_000,
      lastMinute: 3,
      today: 15_200,
      byLane: [
        { lane: 'interactive', today: 100, lastMinute: 1 },
        { lane: 'live', today: 100, lastMinute: 1 },
        { lane: 'bulk', today: 15_000, lastMinute: 1 },
      ],
      slowdown: 1,
      cooldownUntil: null,
      bulkPaused: { reason: 'ServiceM8 allowance nearly used up.', until: '2026-12-04T06:00:00.000Z' },
    };
    const text = describeBudget([paused]);
    expect(text).toContain('2026-12-04T06:00:00.000Z');
    expect(text.split('\n').at(-1)).toBe('ServiceM8 allowance nearly used up.');
  });

  it('the status page shows the budget by lane and the slowdown in words', async () => {
    const res = await axios.get<string>(`${w.apiUrl}/?connection=${CONN}`, { ...auth, responseType: 'text' });
    expect(res.status).toBe(200);
    const text = res.data.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
    expect(text).toMatch(/ServiceM8: \d+ of 19000 calls used in the last 24 hours, \d+ left/);
    expect(text).toMatch(/keeping linked records in step: 2; background work: 3/);
    expect(text).toContain('QuickBooks asked the sync to slow down: it runs at 50 % of its usual speed');
  });
});
