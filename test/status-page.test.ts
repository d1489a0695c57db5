/**
 * The bookkeeper's status page (issue 14) in a real headless Chromium (Debian's, driven by playwright-core),
 * against the integration stack: sign in through the form, see the connection, a held invoice with its
 * reason, fix the cause in QuickBooks, press "Sync again", and see the invoice move to the exports. The test
 * writes docs/status-page.png. Chromium comes from scripts/ensure-chromium.sh (apt-get when missing); when
 * it cannot be had, every test here fails with the reason (nothing is skipped).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import axios from 'axios';
import { chromium, type Browser, type Page } from 'playwright-core';
import { signalInvoice } from '../routing/routes';
import { Sm8Fixtures } from './helpers/sm8-fixtures';
import { startWorld, type World } from './helpers/world';
import { waitUntil } from './helpers/wait';

const ROOT = path.resolve(__dirname, '..');
const CONN = 'harbour-plumbing';

let w: World;
let f: Sm8Fixtures;
let realm: string;
let browser: Browser;

/** The browser's path, installing Chromium when missing; throws with the script's reason otherwise. */
function ensureChromium(): string {
  try {
    return execFileSync('bash', [path.join(ROOT, 'scripts/ensure-chromium.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 9 * 60_000,
    }).trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`headless Chromium is not available: ${(e.stderr || e.message).trim()}`);
  }
}

async function waitState(jobUuid: string, state: string): Promise<void> {
  await waitUntil(
    `job ${jobUuid} ${state}`,
    async () =>
      (
        await w.h.pool.query<{ state: string }>(
          'SELECT state FROM invoice_exports WHERE connection_id = $1 AND job_uuid = $2',
          [CONN, jobUuid],
        )
      ).rows[0]?.state ?? 'none',
    (now) => now === state,
  );
}

/** One approved job with a job number, synced once (default retry: a held job stays held until resync). */
async function syncedJob(clientName: string, number: string, tax = 'GST'): Promise<string> {
  const client = f.client(clientName);
  const job = f.job({ clientUuid: client, lines: [{ name: 'Labour', qty: '2', unit: '90', tax }] });
  w.sm8.control.update('job', job, { generated_job_id: number });
  await signalInvoice(w.h.client, w.h.taskQueue, CONN, job, 'sm8JobChanged');
  return job;
}

/** Our connection's section of the page (the test database holds other tests' connections too). */
const section = (page: Page) =>
  page.locator('section.conn').filter({ has: page.getByRole('heading', { name: CONN, exact: true }) });
const text = (page: Page) => section(page).innerText();
/** The "Needs your attention" part of our connection's section. */
const attention = async (page: Page) => {
  const all = await text(page);
  return all.slice(all.indexOf('Needs your attention'), all.indexOf('Recently sent to QuickBooks'));
};
const statusUrl = () => `${w.apiUrl}/?connection=${CONN}`;

beforeAll(async () => {
  const executablePath = ensureChromium();
  browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  w = await startWorld();
  f = new Sm8Fixtures(w.sm8);
  f.taxRate('GST', '10');
  f.taxRate('Fuel levy', '7');
  realm = (await w.connect(CONN)).realmId;
}, 10 * 60_000);
afterAll(async () => {
  await browser?.close();
  await w?.close();
});

describe('OPS-5: the status page in a real browser', () => {
  it('OPS-5: sign in, see the connection and a held invoice with its reason, Sync again, see it exported', async () => {
    const exported = await syncedJob('Bayside Dental', '1041');
    await waitState(exported, 'EXPORTED');
    const vendor = w.qbo.control.upsertRecord('Vendor', { DisplayName: 'Northside Electrical' }, realm);
    const held = await syncedJob('Northside Electrical', '1042');
    await waitState(held, 'BLOCKED');
    const taxHeld = await syncedJob('Coastline Cafe', '1043', 'Fuel levy');
    await waitState(taxHeld, 'BLOCKED');

    const context = await browser.newContext({ viewport: { width: 900, height: 900 } });
    const page = await context.newPage();
    // A stranger's browser is sent to the sign-in form.
    await page.goto(`${w.apiUrl}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('input[name="token"]', 'not the token');
    await page.click('button[type="submit"]');
    expect(await page.locator('body').innerText()).toContain('That is not the admin token.');
    await page.fill('input[name="token"]', w.adminToken);
    await page.click('button[type="submit"]');
    await page.click('text=Open the sync status page');
    expect(new URL(page.url()).pathname).toBe('/');
    expect(await page.locator('h1').innerText()).toBe('ServiceM8 to QuickBooks: sync status');
    await page.goto(statusUrl());

    const before = await text(page);
    expect(before).toContain(CONN);
    expect(before).toContain('Syncing. QuickBooks connected; ServiceM8 connected.');
    const needs = await attention(page);
    expect(needs).toContain('Job 1042');
    expect(needs).toContain('Not sent to QuickBooks');
    expect(needs).toMatch(/Northside Electrical.*supplier/);
    expect(needs).toContain('Job 1043');
    expect(needs).toContain('Fuel levy');
    expect(needs).not.toContain(held); // names, not ids
    expect(before).toMatch(/Recently sent to QuickBooks[\s\S]*Job 1041\s+\$198\.00/);
    expect(before).toMatch(/ServiceM8: \d+ of 19000 calls used in the last 24 hours, \d+ left/);
    expect(before).toContain('Last change notice received: never');

    // The bookkeeper renames the supplier in QuickBooks, then asks for the invoice again.
    w.qbo.control.upsertRecord(
      'Vendor',
      { Id: vendor.Id, DisplayName: 'Northside Electrical (supplier)' },
      realm,
    );
    await page.click('button[aria-label="Sync Job 1042 again"]');
    expect(await page.locator('[role=status]').innerText()).toContain('Asked to sync Job 1042 again.');
    await waitState(held, 'EXPORTED');
    await page.goto(statusUrl());
    const after = await text(page);
    expect(await attention(page)).not.toContain('Job 1042');
    expect(await attention(page)).toContain('Job 1043');
    expect(after).toMatch(/Recently sent to QuickBooks[\s\S]*Job 1042\s+\$198\.00/);

    await page.screenshot({ path: path.join(ROOT, 'docs/status-page.png'), fullPage: true });
    await context.close();
  });

  it('OPS-5: a signed-in browser may only resync, with the form token; changes need the token in a header', async () => {
    const login = await axios.post(`${w.apiUrl}/login`, `token=${encodeURIComponent(w.adminToken)}`, {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    const cookie = String(login.headers['set-cookie']?.[0]).split(';')[0] as string;
    const post = (url: string, body: string) =>
      axios.post(`${w.apiUrl}${url}`, body, {
        headers: { Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
        validateStatus: () => true,
        maxRedirects: 0,
      });
    // Without the page's form token (another site posting with the cookie): refused.
    const forged = await post('/status/resync', `connection=${CONN}&jobUuid=abc`);
    expect(forged.status).toBe(403);
    expect(forged.data.error).toContain('reload the status page');
    const pause = await post(`/admin/connections/${CONN}/pause`, '');
    expect(pause.status).toBe(403);

    const page = await axios.get<string>(statusUrl(), { headers: { Cookie: cookie } });
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.data)?.[1];
    expect(csrf).toBeTruthy();
    const job = /name="jobUuid" value="([^"]+)"/.exec(page.data)?.[1] as string;
    const ok = await post('/status/resync', `connection=${CONN}&jobUuid=${job}&csrf=${csrf}`);
    expect(ok.status).toBe(303);
    expect(ok.headers.location).toMatch(new RegExp(`^/\\?connection=${CONN}&resynced=Job%20104`));
  });

  it('OPS-5: without a session or token the page is not shown (401 for a script, the sign-in form for a browser)', async () => {
    const script = await axios.get(`${w.apiUrl}/`, { validateStatus: () => true });
    expect(script.status).toBe(401);
    const browserLike = await axios.get(`${w.apiUrl}/`, {
      headers: { Accept: 'text/html' },
      validateStatus: () => true,
      maxRedirects: 0,
    });
    expect(browserLike.status).toBe(303);
    expect(browserLike.headers.location).toBe('/login');
  });
});
