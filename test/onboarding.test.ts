/**
 * Onboarding (CM-1, CM-6, CM-7 on import, CM-8 on import, TAX-1 step, OPS-2 progress) end to end: a seeded
 * QuickBooks company, the real connect flows, the onboarding workflow on the real Temporal server, and the
 * ServiceM8 simulator's records as the proof.
 */
import crypto from 'node:crypto';
import axios from 'axios';
import { followOnboarding, runCli } from '../client/cli';
import { emptyPhase } from '../domain/onboarding';
import { startOnboarding } from '../client/onboarding';
import { onboardingWorkflowId } from '../domain/workflow-ids';
import type { OnboardingProgress } from '../domain/onboarding';
import { ACCOUNT_IDS, AU_TAX_CODE_IDS } from '../simulators/quickbooks';
import { onboardingProgressQuery } from '../workflows/messages';
import { importConcurrency } from '../activities/onboarding';
import { laneMinuteLimit, scaledLimits } from '../apis/governor/policy';
import { createHarness, type GovernorLimits } from './helpers/env';
import { Sm8Fixtures } from './helpers/sm8-fixtures';
import { startWorld, type World } from './helpers/world';
import { waitFor, waitUntil } from './helpers/wait';

const TOKEN = 'onboarding-admin-token-0123456789';
// The import writes one ServiceM8 record per call; at the documented 180/min a few hundred records take
// minutes, so this file raises ServiceM8's limit on both the simulator and the governor (rates are not
// what it tests: see rate-governor.test.ts).
const LIMITS: GovernorLimits = {
  sm8: { perMinute: 20_000, perDay: 1_000_000 },
  qbo: { perSecond: 50, perMinute: 3000, concurrent: 10 },
};

let w: World;
let f: Sm8Fixtures;

const newRealmId = () => `9341${String(crypto.randomInt(0, 1e12)).padStart(12, '0')}`;
type Rec = Record<string, unknown>;
const companies = (prefix: string): Rec[] =>
  w.sm8.store.list('company').filter((c) => String(c.name).startsWith(prefix));
const companyNamed = (name: string): Rec[] =>
  w.sm8.store.list('company').filter((c) => String(c.name).toLowerCase() === name.toLowerCase());
const materials = (prefix: string): Rec[] =>
  w.sm8.store.list('material').filter((m) => String(m.name).startsWith(prefix));
const contactsOf = (companyUuid: unknown): Rec[] =>
  w.sm8.store.list('companycontact').filter((c) => c.company_uuid === companyUuid);

async function cli(...args: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await runCli(['--url', w.apiUrl, ...args], (s) => lines.push(s), {
    followIntervalMs: 100,
    env: { ...process.env, ADMIN_TOKEN: TOKEN },
  });
  return { code, lines };
}

async function finished(connectionId: string, timeoutMs = 120_000): Promise<OnboardingProgress> {
  const handle = w.h.client.workflow.getHandle(onboardingWorkflowId(connectionId));
  await waitUntil(
    `the onboarding of ${connectionId} to finish`,
    async () => (await handle.describe()).status.name,
    (status) => status !== 'RUNNING',
    timeoutMs,
  );
  return (await handle.result()) as OnboardingProgress;
}

beforeAll(async () => {
  w = await startWorld({
    env: { ADMIN_TOKEN: TOKEN },
    onboarding: true,
    sm8: { rateLimitPerMinute: 20_000 },
    governorLimits: LIMITS,
  });
  f = new Sm8Fixtures(w.sm8);
  f.taxRate('GST', '10');
  f.taxRate('GST Free', '0');
});
afterAll(async () => {
  await w.close();
});

describe('CM-1: import on integration', () => {
  const CONN = 'onb';
  let realm: string;
  let result: OnboardingProgress;
  const q = (entity: string, fields: Rec) => w.qbo.control.upsertRecord(entity, fields, realm);

  beforeAll(async () => {
    realm = w.qbo.control.createRealm({ companyName: 'Onboarding Plumbing', realmId: newRealmId() });
    q('Customer', {
      DisplayName: 'Onb Alpha Builders',
      GivenName: 'Alice',
      FamilyName: 'Alpha',
      PrimaryEmailAddr: { Address: 'accounts@alpha.example' },
      PrimaryPhone: { FreeFormNumber: '02 9999 0001' },
      BillAddr: {
        Line1: '1 Alpha St',
        City: 'Sydney',
        CountrySubDivisionCode: 'NSW',
        PostalCode: '2000',
        Country: 'Australia',
      },
    });
    q('Customer', { DisplayName: 'Onb Gone Pty', Active: false });
    const parent = q('Customer', { DisplayName: 'Onb Parent Holdings' });
    q('Customer', {
      DisplayName: 'Onb Site Billed To Parent',
      ParentRef: { value: parent.Id },
      Job: true,
      BillWithParent: true,
    });
    q('Customer', {
      DisplayName: 'Onb Site Billed Itself',
      ParentRef: { value: parent.Id },
      Job: true,
      BillWithParent: false,
    });
    // CM-7: the bookkeeper's QuickBooks customer matches a client already typed into ServiceM8.
    q('Customer', { DisplayName: 'Onb Harbour Cafe', PrimaryEmailAddr: { Address: 'qbo@harbour.example' } });
    const cafeUuid = crypto.randomUUID();
    w.sm8.control.insert('company', {
      uuid: cafeUuid,
      name: '  onb harbour CAFE ',
      active: 1,
      address_street: 'old street',
    });
    // …with the billing contact typed in ServiceM8: it is updated, not doubled (and remembered once).
    w.sm8.control.insert('companycontact', {
      uuid: crypto.randomUUID(),
      company_uuid: cafeUuid,
      first: 'Old',
      email: 'old@harbour.example',
      type: 'BILLING',
      is_primary_contact: '1',
      active: 1,
    });

    q('Item', {
      Name: 'Onb Labour hour',
      Type: 'Service',
      Sku: 'LAB-1',
      UnitPrice: 95.5,
      Description: 'One hour of labour',
      IncomeAccountRef: { value: ACCOUNT_IDS.services },
      SalesTaxCodeRef: { value: AU_TAX_CODE_IDS.gst },
    });
    q('Item', {
      Name: 'Onb Copper pipe 15mm',
      Type: 'NonInventory',
      UnitPrice: 12.4,
      PurchaseCost: 7.25,
      IncomeAccountRef: { value: ACCOUNT_IDS.sales },
      ExpenseAccountRef: { value: ACCOUNT_IDS.materials },
      SalesTaxCodeRef: { value: AU_TAX_CODE_IDS.gstFree },
    });
    q('Item', {
      Name: 'Onb Callout fee',
      Type: 'Service',
      UnitPrice: 80,
      IncomeAccountRef: { value: ACCOUNT_IDS.services },
    });
    q('Item', { Name: 'Onb Plumbing (category)', Type: 'Category' });
    q('Item', {
      Name: 'Onb Retired widget',
      Type: 'Service',
      UnitPrice: 1,
      IncomeAccountRef: { value: ACCOUNT_IDS.services },
      Active: false,
    });
    // A material typed into ServiceM8 before the integration, with a different price: QuickBooks wins.
    f.material('onb callout FEE', '70', 'GST');

    await w.connect(CONN, { realmId: realm });
    result = await finished(CONN);
  }, 180_000);

  it('CM-1: connecting both sides starts the onboarding; active customers become companies with a billing contact', () => {
    expect(result.state).toBe('done');
    const [alpha, ...more] = companyNamed('Onb Alpha Builders');
    expect(more).toHaveLength(0);
    expect(alpha).toMatchObject({
      active: 1,
      address_street: '1 Alpha St',
      address_city: 'Sydney',
      address_state: 'NSW',
      address_postcode: '2000',
      address_country: 'Australia',
    });
    expect(String(alpha?.billing_address)).toContain('1 Alpha St');
    const contacts = contactsOf(alpha?.uuid);
    expect(contacts).toHaveLength(1);
    expect(contacts[0]).toMatchObject({
      type: 'BILLING',
      first: 'Alice',
      last: 'Alpha',
      email: 'accounts@alpha.example',
      phone: '02 9999 0001',
    });
  });

  it('CM-1: every active item becomes a material (name, item_number = Sku, price, description) and each record is linked', async () => {
    const [labour, ...more] = materials('Onb Labour hour');
    expect(more).toHaveLength(0);
    expect(labour).toMatchObject({ item_number: 'LAB-1', item_description: 'One hour of labour' });
    expect(Number(labour?.price)).toBe(95.5);
    const customerLinks = await w.h.deps.links.all(CONN, 'customer');
    const itemLinks = await w.h.deps.links.all(CONN, 'item');
    expect(customerLinks).toHaveLength(4); // Alpha, Parent, the site that bills itself, Harbour Cafe
    expect(itemLinks).toHaveLength(3); // Labour, Copper pipe, Callout fee
    for (const l of [...customerLinks, ...itemLinks]) {
      expect(l.sm8Fingerprint).toMatch(/^[0-9a-f]{16}$/);
      expect(l.qboFingerprint).toMatch(/^[0-9a-f]{16}$/);
    }
  });

  it("CM-1 / TAX-1: a material takes the ServiceM8 tax rate linked to its item's SalesTaxCodeRef", async () => {
    expect((await w.h.deps.links.byQbo(CONN, 'taxcode', AU_TAX_CODE_IDS.gst))?.sm8Uuid).toBe(f.taxRates.GST);
    expect(materials('Onb Labour hour')[0]?.tax_rate_uuid).toBe(f.taxRates.GST);
    expect(materials('Onb Copper pipe 15mm')[0]?.tax_rate_uuid).toBe(f.taxRates['GST Free']);
    expect(result.phases.find((p) => p.phase === 'taxcodes')?.state).toBe('done');
  });

  it('CM-6: inactive customers and sub-customers billed with their parent are not imported', () => {
    expect(companyNamed('Onb Gone Pty')).toHaveLength(0);
    expect(companyNamed('Onb Site Billed To Parent')).toHaveLength(0);
    expect(companyNamed('Onb Site Billed Itself')).toHaveLength(1);
    expect(companyNamed('Onb Parent Holdings')).toHaveLength(1);
    const customers = result.phases.find((p) => p.phase === 'customers');
    expect(customers).toMatchObject({ total: 6, done: 6, created: 3, linked: 1, skipped: 2 });
    expect(customers?.skippedBy).toEqual({ inactive: 1, bills_with_parent: 1 });
  });

  it('CM-1: inactive items, categories and bundles are not imported', () => {
    expect(materials('Onb Plumbing (category)')).toHaveLength(0);
    expect(materials('Onb Retired widget')).toHaveLength(0);
    const items = result.phases.find((p) => p.phase === 'items');
    expect(items?.skippedBy).toEqual({ category: 1, inactive: 1 });
  });

  it('CM-7: an unlinked ServiceM8 client or material with the same name is linked and overwritten, not duplicated', async () => {
    const cafes = companyNamed('Onb Harbour Cafe').concat(
      w.sm8.store.list('company').filter((c) => String(c.name).trim().toLowerCase() === 'onb harbour cafe'),
    );
    const unique = new Set(cafes.map((c) => c.uuid));
    expect(unique.size).toBe(1);
    const cafe = cafes[0];
    expect(cafe?.name).toBe('Onb Harbour Cafe'); // QuickBooks' spelling
    expect(cafe?.address_street).toBe(''); // QuickBooks has no address: its (empty) value wins
    const cafeContacts = contactsOf(cafe?.uuid).filter((c) => c.active === 1);
    expect(cafeContacts.map((c) => c.email)).toEqual(['qbo@harbour.example']);
    const link = await w.h.deps.links.bySm8(CONN, 'customer', String(cafe?.uuid));
    expect(link?.qboId).toBeTruthy();
    const fees = w.sm8.store
      .list('material')
      .filter((m) => String(m.name).toLowerCase() === 'onb callout fee');
    expect(fees).toHaveLength(1);
    expect(Number(fees[0]?.price)).toBe(80);
  });

  it('CM-8: purchase cost is imported only for items with an expense account', () => {
    expect(Number(materials('Onb Copper pipe 15mm')[0]?.cost)).toBe(7.25);
    const labour = materials('Onb Labour hour')[0];
    expect(Number(labour?.cost ?? 0)).toBe(0);
  });

  it('CM-1: a second connect does not start a second import', async () => {
    const before = await w.h.pool.query(
      'SELECT count(*)::int AS n FROM onboarding_runs WHERE connection_id = $1',
      [CONN],
    );
    const firstRun = (await w.h.client.workflow.getHandle(onboardingWorkflowId(CONN)).describe()).runId;
    await w.connect(CONN, { realmId: realm });
    await new Promise((r) => setTimeout(r, 500));
    const after = await w.h.pool.query(
      'SELECT count(*)::int AS n FROM onboarding_runs WHERE connection_id = $1',
      [CONN],
    );
    expect(after.rows[0].n).toBe(before.rows[0].n);
    expect((await w.h.client.workflow.getHandle(onboardingWorkflowId(CONN)).describe()).runId).toBe(firstRun);
  });

  it('OPS-2: `sm8qbo onboard --follow` re-runs it, prints progress lines until done, and re-running duplicates nothing', async () => {
    const companiesBefore = w.sm8.store.list('company').length;
    const materialsBefore = w.sm8.store.list('material').length;
    const { code, lines } = await cli('onboard', CONN, '--follow');
    expect(code).toBe(0);
    expect(lines[0]).toMatch(/^started: onboarding\/onb$/);
    expect(lines.some((l) => /^\[#+-*\]\s+\d+%/.test(l))).toBe(true);
    expect(lines.some((l) => /\[#{30}\] 100%\s+done/.test(l))).toBe(true);
    expect(lines.join('\n')).toMatch(
      /customers\s+done\s+6\/6\s+created 0\s+linked 0\s+skipped 6 \(.*already_linked 4/,
    );
    expect(w.sm8.store.list('company')).toHaveLength(companiesBefore);
    expect(w.sm8.store.list('material')).toHaveLength(materialsBefore);

    const status = await cli('--json', 'onboarding', CONN);
    const view = JSON.parse(status.lines.join('\n')) as { completion: number; progress: OnboardingProgress };
    expect(view.completion).toBe(1);
    expect(view.progress).toMatchObject({ run: 2, state: 'done', startedBy: 'admin' });
  });
});

describe('CM-1: a crash resumes where it stopped', () => {
  const CONN = 'onb-big';
  const CUSTOMERS = 220;
  const ITEMS = 130;

  it('CM-1: a worker killed in the middle of a big import: a new worker finishes it, exactly one ServiceM8 record per QuickBooks record', async () => {
    const realm = w.qbo.control.createRealm({ companyName: 'Big Trades', realmId: newRealmId() });
    for (let i = 0; i < CUSTOMERS; i += 1) {
      w.qbo.control.upsertRecord(
        'Customer',
        {
          DisplayName: `Big Client ${String(i).padStart(3, '0')}`,
          PrimaryEmailAddr: { Address: `c${i}@big.example` },
          ...(i % 50 === 7 ? { Active: false } : {}),
        },
        realm,
      );
    }
    for (let i = 0; i < ITEMS; i += 1) {
      w.qbo.control.upsertRecord(
        'Item',
        {
          Name: `Big Part ${String(i).padStart(3, '0')}`,
          Type: 'Service',
          UnitPrice: 10 + i,
          IncomeAccountRef: { value: ACCOUNT_IDS.services },
        },
        realm,
      );
    }
    const activeCustomers = CUSTOMERS - Math.ceil((CUSTOMERS - 7) / 50);
    // Connected without starting its onboarding here: it runs on a worker of its own, killed below.
    await w.h.pool.query(`INSERT INTO connections (id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING`, [CONN]);
    await w.h.pool.query(
      `INSERT INTO onboarding_runs (connection_id, run, started_by, state) VALUES ($1, 0, 'test', 'done')`,
      [CONN],
    ); // "ever started": the connect flow leaves it to this test
    await w.connect(CONN, { realmId: realm });

    const queue = `${w.h.taskQueue}-onboarding-crash`;
    const doomed = await createHarness({ env: w.env, taskQueue: queue, governorLimits: LIMITS });
    // Each ServiceM8 write takes a little while, so the kill lands mid-page.
    w.sm8.control.faults.add({ method: 'POST', path: '/api_1.0/company.json', latencyMs: 15 });
    await startOnboarding(w.h.client, queue, CONN, { startedBy: 'admin', pageSize: 10 });
    await waitFor('70 clients imported', () => companies('Big Client').length >= 70, 60_000, 20);
    await doomed.close(); // the in-flight page is abandoned half done
    w.sm8.control.faults.clear();
    const atKill = companies('Big Client').length;
    expect(atKill).toBeGreaterThanOrEqual(70);
    expect(atKill).toBeLessThan(activeCustomers);

    // While no worker runs, the admin API still says where it stopped (PostgreSQL is the record).
    const mid = await axios.get<{ workflowStatus: string; completion: number; progress: OnboardingProgress }>(
      `${w.apiUrl}/admin/connections/${CONN}/onboarding`,
      { headers: { Authorization: `Bearer ${TOKEN}` } },
    );
    expect(mid.data.workflowStatus).toBe('RUNNING');
    expect(mid.data.progress.state).toBe('running');
    const midCustomers = mid.data.progress.phases.find((p) => p.phase === 'customers');
    expect(midCustomers?.total).toBe(CUSTOMERS);
    expect(midCustomers?.done).toBeGreaterThan(0);
    expect(midCustomers?.done).toBeLessThan(CUSTOMERS);
    expect(mid.data.completion).toBeGreaterThan(0);
    expect(mid.data.completion).toBeLessThan(1);

    const survivor = await createHarness({ env: w.env, taskQueue: queue, governorLimits: LIMITS });
    try {
      const done = await finished(CONN, 240_000);
      expect(done.state).toBe('done');
      const customers = done.phases.find((p) => p.phase === 'customers');
      expect(customers).toMatchObject({
        total: CUSTOMERS,
        done: CUSTOMERS,
        skipped: CUSTOMERS - activeCustomers,
      });
      expect((customers?.created ?? 0) + (customers?.linked ?? 0)).toBe(activeCustomers);
      const queried = await w.h.client.workflow
        .getHandle(onboardingWorkflowId(CONN))
        .query(onboardingProgressQuery);
      expect(queried).toEqual(done); // OPS-2: the workflow's query says the same
      // 35 pages at 20 per workflow run: it continued as new (small histories), still one onboarding run.
      const runs = await w.h.pool.query(
        'SELECT count(*)::int AS n FROM onboarding_runs WHERE connection_id = $1 AND run > 0',
        [CONN],
      );
      expect(runs.rows[0].n).toBe(1);
      let continued = 0;
      for await (const x of w.h.client.workflow.list({
        query: `WorkflowId = "${onboardingWorkflowId(CONN)}" AND ExecutionStatus = "ContinuedAsNew"`,
      })) {
        if (x.workflowId) continued += 1;
      }
      expect(continued).toBeGreaterThanOrEqual(1);
      expect(done.phases.find((p) => p.phase === 'items')).toMatchObject({
        total: ITEMS,
        done: ITEMS,
        skipped: 0,
      });
    } finally {
      await survivor.close();
    }
    const byName = new Map<string, number>();
    for (const c of companies('Big Client'))
      byName.set(String(c.name), (byName.get(String(c.name)) ?? 0) + 1);
    expect(byName.size).toBe(activeCustomers);
    expect([...byName.values()].every((n) => n === 1)).toBe(true);
    expect(materials('Big Part')).toHaveLength(ITEMS);
    expect(new Set(materials('Big Part').map((m) => m.name)).size).toBe(ITEMS);
    // One billing contact per company, none orphaned.
    const uuids = new Set(companies('Big Client').map((c) => c.uuid));
    const contacts = w.sm8.store.list('companycontact').filter((c) => uuids.has(c.company_uuid as string));
    expect(contacts).toHaveLength(activeCustomers);
    expect(await w.h.deps.links.all(CONN, 'customer')).toHaveLength(activeCustomers);
    expect(await w.h.deps.links.all(CONN, 'item')).toHaveLength(ITEMS);
  }, 360_000);
});

describe('OPS-2: onboarding shows progress', () => {
  const view = (done: number, status: string, state: 'running' | 'done' = 'running') => ({
    workflowId: 'onboarding/x',
    workflowStatus: status,
    completion: done / 10,
    progress: {
      connectionId: 'x',
      run: 1,
      state,
      startedBy: 'admin',
      startedAt: '2026-11-26T00:00:00.000Z',
      finishedAt: null,
      phases: [
        { ...emptyPhase('taxcodes'), state: 'done' as const, total: 0 },
        {
          ...emptyPhase('customers'),
          state: state === 'done' ? ('done' as const) : ('running' as const),
          total: 10,
          done,
          created: done,
        },
        emptyPhase('items'),
      ],
    },
  });

  it('OPS-2: on a terminal one bar is redrawn in place until done; --json prints one object per change', async () => {
    const seq = [view(2, 'RUNNING'), view(2, 'RUNNING'), view(7, 'RUNNING'), view(10, 'COMPLETED', 'done')];
    let i = 0;
    const read = () => Promise.resolve(seq[Math.min(i++, seq.length - 1)] as never);
    const written: string[] = [];
    const lines: string[] = [];
    const code = await followOnboarding(read, (l) => lines.push(l), {
      tty: true,
      write: (x) => written.push(x),
      json: false,
      followIntervalMs: 1,
    });
    expect(code).toBe(0);
    // Three distinct states (the repeated one is not redrawn), each drawn over the previous one.
    expect(written.filter((x) => x.startsWith('\r\x1b[2K'))).toHaveLength(3);
    expect(written[0]).toContain('customers 2/10');
    expect(written[2]).toContain('[##############################] 100%  done');
    expect(lines.join('\n')).toMatch(/customers\s+done\s+10\/10\s+created 10/);

    i = 0;
    const json: string[] = [];
    expect(await followOnboarding(read, (l) => json.push(l), { json: true, followIntervalMs: 1 })).toBe(0);
    expect(json.map((l) => (JSON.parse(l) as { completion: number }).completion)).toEqual([0.2, 0.7, 1]);
  });
});

describe('CM-1: imports at once, paced by the bulk lane', () => {
  it('keeps two in flight at the real limits and more where the limits are raised, so a name turn is held about as long', () => {
    expect(importConcurrency(laneMinuteLimit('sm8', 'bulk'))).toBe(2);
    expect(importConcurrency(laneMinuteLimit('sm8', 'bulk', scaledLimits(4)))).toBe(5);
    expect(importConcurrency(laneMinuteLimit('sm8', 'bulk', scaledLimits(10)))).toBe(12);
    expect(importConcurrency(undefined)).toBe(2);
  });
});
