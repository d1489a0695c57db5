/**
 * Issue 12, clients and materials: the API budget of onboarding and of synced changes, counted in the
 * simulators' call logs while people act through the simulators' control API (so the product is the only API
 * caller), with both simulators delivering webhooks (the echoes of our own writes come back as they would).
 *
 * - CM-1 onboarding: ServiceM8 calls per write (target ≤ 1.2), QuickBooks calls per record, and the share of
 *   ServiceM8's budget that goes to writes while the records are written (the write bound, target ≥ 0.9); the
 *   time those writes took against the budget's pace is printed (it depends on the machine's load too). The
 *   ServiceM8 budget is paced per second at 10 a second (3.3 × the documented 180 a minute).
 * - CM-2 burst: 20 clients edited in ServiceM8 and 20 customers edited in QuickBooks at once: reads of both
 *   APIs per synced change (target ≤ 0.2), and the echoes of our own writes dropped without a call.
 * - CM-2 confirmation: an edit hidden in the echo of our own write is found by the confirming bulk read.
 *
 * Before this change (this test on main at 9810618, two runs): onboarding 1.68–1.91 ServiceM8 calls per
 * write, 85–103 QuickBooks calls for 100 records, the writes at 0.52–0.60 of the budget's pace; the burst
 * 6.0–6.6 reads per change, no echo dropped. After: 1.03–1.06 per write, 11 QuickBooks calls, 0.83–0.95 of
 * the budget's pace on this shared machine; 0.10–0.15 reads per change, 40 echoes dropped. Each run prints
 * its figures.
 */
import crypto from 'node:crypto';
import { ACCOUNT_IDS } from '../simulators/quickbooks';
import type { OnboardingProgress } from '../domain/onboarding';
import { customerWorkflowId, onboardingWorkflowId } from '../domain/workflow-ids';
import { clientMaterialStatusQuery } from '../workflows/messages';
import { ECHO_DROPPED } from '../routing/clients-materials';
import { routeEntityEvent } from '../routing/routes';
import type { GovernorLimits } from './helpers/env';
import { Sm8Fixtures } from './helpers/sm8-fixtures';
import { startWorld, type World } from './helpers/world';
import { untilSettled, waitFor } from './helpers/wait';

const CONN = 'cm-budget';
const CUSTOMERS = 60;
const ITEMS = 40;
const BURST = 20;
// ServiceM8 paced per second (the minute window would let a short import through in one gulp), with the
// simulator's own limit out of the way; QuickBooks at its documented limits (the simulator's).
const SM8_PER_SECOND = 10;
const LIMITS: GovernorLimits = { sm8: { perSecond: SM8_PER_SECOND, perDay: 1_000_000 } };
// The governor allows itself 95 % of a limit, floored, in a 1.1 s second window (apis/governor/policy.ts):
// an empty window lets this many through at once, then this many a second.
const SM8_BURST = Math.floor(SM8_PER_SECOND * 0.95);
const SM8_PERMITS_PER_SECOND = SM8_BURST / 1.1;

let w: World;
let realm: string;
type Rec = Record<string, unknown>;

const newRealmId = () => `9341${String(crypto.randomInt(0, 1e12)).padStart(12, '0')}`;
const pad = (i: number) => String(i).padStart(3, '0');

/** The calls each simulator logged since `mark()`. */
function callWindow() {
  const sm8Seq = Math.max(0, ...w.sm8.control.calls.list().map((c) => c.seq));
  const qboCount = w.qbo.control.calls().length;
  return {
    sm8: () => w.sm8.control.calls.list().filter((c) => c.seq > sm8Seq && c.object !== undefined),
    qbo: () =>
      w.qbo.control
        .calls()
        .slice(qboCount)
        .filter((c) => c.realmId === realm),
  };
}

const sm8Writes = (calls: ReturnType<ReturnType<typeof callWindow>['sm8']>) =>
  calls.filter((c) => c.operation === 'create' || c.operation === 'update' || c.operation === 'delete');
const qboIsRead = (c: { method: string; endpoint: string }) =>
  c.method === 'GET' || /\/query|\/cdc/.test(c.endpoint);

const settled = (quietMs?: number) => untilSettled(w, CONN, quietMs);

const tally = (
  calls: Array<{ endpoint?: string; method: string; path?: string; object?: string; status: number }>,
) => {
  const by: Record<string, number> = {};
  for (const c of calls) {
    const key = `${c.endpoint ?? `${c.method} ${c.object ?? c.path}`}${c.status >= 300 ? ` ${c.status}` : ''}`;
    by[key] = (by[key] ?? 0) + 1;
  }
  return by;
};

beforeAll(async () => {
  w = await startWorld({
    webhooks: true,
    onboarding: true,
    sm8: { rateLimitPerMinute: 20_000 },
    governorLimits: LIMITS,
  });
  const f = new Sm8Fixtures(w.sm8);
  f.taxRate('GST', '10');
  realm = w.qbo.control.createRealm({ companyName: 'Budget Trades', realmId: newRealmId() });
  for (let i = 0; i < CUSTOMERS; i += 1)
    w.qbo.control.upsertRecord(
      'Customer',
      {
        DisplayName: `Budget Client ${pad(i)}`,
        GivenName: 'Pat',
        FamilyName: `Client${pad(i)}`,
        PrimaryEmailAddr: { Address: `c${i}@budget.example` },
        BillAddr: { Line1: `${i} Budget St`, City: 'Sydney', PostalCode: '2000' },
      },
      realm,
    );
  for (let i = 0; i < ITEMS; i += 1)
    w.qbo.control.upsertRecord(
      'Item',
      {
        Name: `Budget Part ${pad(i)}`,
        Type: 'Service',
        UnitPrice: 10 + i,
        IncomeAccountRef: { value: ACCOUNT_IDS.services },
      },
      realm,
    );
}, 60_000);
afterAll(async () => {
  await w.close();
});

describe('issue 12: clients and materials at their minimum cost', () => {
  let onboardingCalls = 0;

  it('CM-1: onboarding spends at most 1.2 ServiceM8 calls per write, at ≥ 0.9 of the write bound', async () => {
    const calls = callWindow();
    const started = Date.now();
    await w.connect(CONN, { realmId: realm });
    const handle = w.h.client.workflow.getHandle(onboardingWorkflowId(CONN));
    const progress = (await waitFor('the onboarding to finish', async () => {
      const d = await handle.describe();
      return d.status.name !== 'RUNNING' && (await handle.result());
    })) as OnboardingProgress;
    expect(progress.state).toBe('done');
    const finished = Date.now();
    await settled();

    const sm8 = calls.sm8();
    const qbo = calls.qbo();
    const writes = sm8Writes(sm8).length;
    onboardingCalls = sm8.length;
    // The pace. What the import controls is how much of ServiceM8's budget goes to writes while it writes:
    // the share of the calls made from the first company write to the last material write that are writes
    // (the governor keeps the budget full: 8 records are imported at once). Asserted: ≥ 0.9. The time the
    // writes took against the budget's pace (the first window's burst aside) depends on the machine's load
    // as well (the governor's grants, the activities' own work): printed.
    const recordWrites = sm8Writes(sm8).filter((c) => c.object !== 'taxrate');
    const first = Math.min(...recordWrites.map((c) => Date.parse(c.time)));
    const last = Math.max(...recordWrites.map((c) => Date.parse(c.time)));
    const inWindow = sm8.filter((c) => Date.parse(c.time) >= first && Date.parse(c.time) <= last);
    const share = recordWrites.length / inWindow.length;
    const took = (last - first) / 1000;
    const bound = (recordWrites.length - SM8_BURST) / SM8_PERMITS_PER_SECOND;
    const pace = bound / took;
    const perWrite = sm8.length / writes;
    console.log(
      [
        `onboarding of ${CUSTOMERS} customers and ${ITEMS} items (ServiceM8 paced at ${SM8_PER_SECOND}/s, 3.3 × 180/min):`,
        `  ServiceM8: ${sm8.length} calls for ${writes} writes = ${perWrite.toFixed(2)} per write (target ≤ 1.2)`,
        `    ${JSON.stringify(tally(sm8))}`,
        `  QuickBooks: ${qbo.length} calls (${(qbo.length / (CUSTOMERS + ITEMS)).toFixed(2)} per record)`,
        `    ${JSON.stringify(tally(qbo))}`,
        `  while the records were written, ${recordWrites.length} of the ${inWindow.length} ServiceM8 calls were writes: ${share.toFixed(2)} of the budget (target ≥ 0.9)`,
        `  they took ${took.toFixed(1)} s against ${bound.toFixed(1)} s at the budget's pace: ${pace.toFixed(2)} (on this machine, now)`,
        `  workflow ${((finished - started) / 1000).toFixed(1)} s from connect to done`,
      ].join('\n'),
    );
    expect(
      w.sm8.store.list('company').filter((c) => String(c.name).startsWith('Budget Client')),
    ).toHaveLength(CUSTOMERS);
    expect(w.sm8.store.list('material').filter((m) => String(m.name).startsWith('Budget Part'))).toHaveLength(
      ITEMS,
    );
    expect(perWrite).toBeLessThanOrEqual(1.2);
    expect(qbo.length).toBeLessThanOrEqual(20);
    expect(share).toBeGreaterThanOrEqual(0.9);
  }, 240_000);

  it('CM-2: a burst of 20 ServiceM8 and 20 QuickBooks edits costs at most 0.2 reads per synced change; echoes are dropped without a call', async () => {
    expect(onboardingCalls).toBeGreaterThan(0);
    const companies = w.sm8.store
      .list('company')
      .filter((c) => String(c.name).startsWith('Budget Client'))
      .sort((a, b) => String(a.name).localeCompare(String(b.name)));
    const customers = w.qbo.store
      .list('Customer', realm)
      .filter((c) => String(c.DisplayName).startsWith('Budget Client'))
      .sort((a, b) => String(a.DisplayName).localeCompare(String(b.DisplayName)));
    const calls = callWindow();
    const echoesBefore = await echoDrops();
    const burstAt = Date.now();
    // People at work: a ServiceM8 user renames the street of 20 clients, a bookkeeper changes 20 emails.
    for (let i = 0; i < BURST; i += 1) {
      w.sm8.control.update('company', String(companies[i]?.uuid), { address_street: `${i} New Street` });
      const c = customers[BURST + i] as Rec;
      w.qbo.control.upsertRecord(
        'Customer',
        { Id: c.Id, PrimaryEmailAddr: { Address: `new${i}@budget.example` } },
        realm,
      );
    }
    await waitFor('the ServiceM8 edits in QuickBooks', () =>
      customers
        .slice(0, BURST)
        .every(
          (c, i) =>
            (w.qbo.store.get('Customer', String(c.Id), realm)?.BillAddr as Rec | undefined)?.Line1 ===
            `${i} New Street`,
        ),
    );
    const contactOf = (companyUuid: unknown) =>
      w.sm8.store.list('companycontact').find((x) => x.company_uuid === companyUuid && x.active === 1);
    const companyOf = (name: unknown) => companies.find((c) => c.name === name);
    await waitFor('the QuickBooks edits in ServiceM8', () =>
      customers
        .slice(BURST, 2 * BURST)
        .every((c, i) => contactOf(companyOf(c.DisplayName)?.uuid)?.email === `new${i}@budget.example`),
    );
    await settled();

    const sm8 = calls.sm8();
    const qbo = calls.qbo();
    const sm8Reads = sm8.filter((c) => c.operation === 'list' || c.operation === 'read');
    const qboReads = qbo.filter(qboIsRead);
    const changes = 2 * BURST;
    const perChange = (sm8Reads.length + qboReads.length) / changes;
    const echoes = (await echoDrops()) - echoesBefore;
    console.log(
      [
        `burst of ${BURST} ServiceM8 and ${BURST} QuickBooks edits (${changes} synced changes):`,
        `  reads: ServiceM8 ${sm8Reads.length}, QuickBooks ${qboReads.length} = ${perChange.toFixed(2)} per change (target ≤ 0.2)`,
        `  writes: ServiceM8 ${sm8Writes(sm8).length}, QuickBooks ${qbo.length - qboReads.length}`,
        `    ServiceM8 ${JSON.stringify(tally(sm8))}`,
        `    QuickBooks ${JSON.stringify(tally(qbo))}`,
        `  echoes of our own writes dropped without a call: ${echoes}`,
      ].join('\n'),
    );
    // Nothing was written back and forth: one write per change, on the other side (a write the simulator
    // refused for the rate, 429, and the governor's to answer, is not a write).
    const done = (c: { status: number }) => c.status < 400;
    expect(sm8Writes(sm8).filter(done)).toHaveLength(BURST);
    expect(qbo.filter((c) => !qboIsRead(c) && done(c))).toHaveLength(BURST);
    // Over the target, the reads' timeline says which pass spent them (a CI run once read 18 times; every
    // local run, loaded or not, reads 5: one pass for the edits, one confirming the echoes).
    const timeline = [
      ...sm8Reads.map((c) => ({ at: Date.parse(c.time), what: `ServiceM8 ${c.method} ${c.path}` })),
      ...qboReads.map((c) => ({ at: Date.parse(c.at), what: `QuickBooks ${c.method} ${c.url}` })),
    ]
      .sort((a, b) => a.at - b.at)
      .map((r) => `+${((r.at - burstAt) / 1000).toFixed(1)} s ${r.what}`);
    if (perChange > 0.2)
      throw new Error(`${perChange.toFixed(2)} reads per change (target ≤ 0.2):\n${timeline.join('\n')}`);
    expect(echoes).toBeGreaterThanOrEqual(BURST);
  }, 240_000);
});

describe('issue 12: an echo is confirmed by the next bulk read', () => {
  it('CM-2: an edit made right after our write, reported without a time (a poll hit), is taken for the echo, found by the confirming read and synced', async () => {
    // Only the poll-like event below reports the ServiceM8 edit (webhooks name the time of the change).
    w.sm8.control.webhooks.pause();
    const customer = w.qbo.store
      .list('Customer', realm)
      .find((c) => c.DisplayName === `Budget Client ${pad(50)}`) as Rec;
    const company = w.sm8.store.list('company').find((c) => c.name === customer.DisplayName) as Rec;
    const contact = () =>
      w.sm8.store
        .list('companycontact')
        .find((x) => x.company_uuid === company.uuid && x.active === 1) as Rec;
    // The bookkeeper edits the customer: the sync writes the ServiceM8 contact (our write).
    w.qbo.control.upsertRecord(
      'Customer',
      { Id: customer.Id, PrimaryEmailAddr: { Address: 'hidden@budget.example' } },
      realm,
    );
    await waitFor('our write of the email in ServiceM8', () => contact().email === 'hidden@budget.example');
    const link = await w.h.deps.links.bySm8(CONN, 'customer', String(company.uuid));
    const owner = w.h.client.workflow.getHandle(customerWorkflowId(CONN, String(link?.id)));
    await waitFor('its owner to have finished that sync', async () => {
      const status = await owner.query(clientMaterialStatusQuery);
      return status.idle && status.state === 'SYNCED';
    });
    // Right after it, a ServiceM8 user changes the phone; the poll only says "this contact changed".
    w.sm8.control.update('companycontact', String(contact().uuid), { phone: '02 5555 0000' });
    const routed = await routeEntityEvent(
      { temporal: w.h.client, links: w.h.deps.links, taskQueue: w.h.taskQueue, pool: w.h.pool },
      {
        source: 'sm8',
        entity: 'companycontact',
        connectionId: CONN,
        entityId: String(contact().uuid),
        operation: null,
      },
    );
    expect(routed).toBe(ECHO_DROPPED);
    await waitFor(
      'the phone in QuickBooks',
      () =>
        (w.qbo.store.get('Customer', String(customer.Id), realm)?.PrimaryPhone as Rec | undefined)
          ?.FreeFormNumber === '02 5555 0000',
      120_000,
    );
    w.sm8.control.webhooks.resume();
  }, 180_000);
});

describe('issue 12: a webhook that outruns the answer of our write', () => {
  it("CM-2: the webhook of a ServiceM8 contact we create, arriving before the create is answered, is our echo: no client's cached contacts go stale", async () => {
    // ServiceM8 performs the contact create and sends its webhook at once; its answer comes 1.5 s later.
    w.sm8.control.faults.add({
      method: 'POST',
      path: '/api_1.0/companycontact',
      answerLatencyMs: 1500,
      count: 1,
    });
    w.qbo.control.upsertRecord(
      'Customer',
      {
        DisplayName: 'Budget Late Answer',
        GivenName: 'Lee',
        FamilyName: 'Late',
        PrimaryEmailAddr: { Address: 'late@budget.example' },
      },
      realm,
    );
    await waitFor('the imported client in ServiceM8', () =>
      w.sm8.store.list('companycontact').some((c) => c.email === 'late@budget.example' && c.active === 1),
    );
    await settled();
    // Another linked client's email changes in QuickBooks: its owner writes ServiceM8 from the cached contacts.
    const calls = callWindow();
    const other = w.qbo.store
      .list('Customer', realm)
      .find((c) => c.DisplayName === `Budget Client ${pad(58)}`) as Rec;
    const company = w.sm8.store.list('company').find((c) => c.name === other.DisplayName) as Rec;
    w.qbo.control.upsertRecord(
      'Customer',
      { Id: other.Id, PrimaryEmailAddr: { Address: 'other58@budget.example' } },
      realm,
    );
    await waitFor('the email in ServiceM8', () =>
      w.sm8.store
        .list('companycontact')
        .some((c) => c.company_uuid === company.uuid && c.email === 'other58@budget.example'),
    );
    await settled();
    // Taken for someone's edit of a contact nobody claimed yet, that webhook made every client's cached contact
    // list stale: each owner then listed its client's contacts (39 lists in one CI burst).
    const contactLists = calls
      .sm8()
      .filter((c) => c.object === 'companycontact' && c.operation === 'list' && /company_uuid/.test(c.query));
    expect(contactLists).toEqual([]);
  }, 180_000);
});

/** Events routed as the echo of our own write (dropped without an API call). */
async function echoDrops(): Promise<number> {
  const r = await w.h.pool.query(
    `SELECT count(*)::int AS n FROM webhook_inbox WHERE connection_id = $1 AND routed_to LIKE 'ignored: the echo%'`,
    [CONN],
  );
  return r.rows[0].n as number;
}
