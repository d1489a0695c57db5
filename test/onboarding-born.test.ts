/**
 * Issue 12, CM-2 during onboarding: a record born in QuickBooks while onboarding runs starts no owner (its
 * event leaves a link holding only the QuickBooks id); when onboarding ends, the owners of the links it did
 * not complete start and bring the records in. Before, each such owner looped every 10 s until onboarding
 * ended: in the demo world 155 of them, whose workflow tasks held approvals back for tens of seconds.
 * QuickBooks simulator (webhooks) -> router -> onboarding on the real Temporal server and PostgreSQL.
 */
import crypto from 'node:crypto';
import { customerWorkflowId } from '../domain/workflow-ids';
import { ACCOUNT_IDS } from '../simulators/quickbooks';
import { OnboardingStore } from '../store/onboarding';
import type { GovernorLimits } from './helpers/env';
import { waitFor } from './helpers/wait';
import { startWorld, type World } from './helpers/world';

const LIMITS: GovernorLimits = {
  sm8: { perMinute: 20_000, perDay: 1_000_000 },
  qbo: { perSecond: 50, perMinute: 3000, concurrent: 10 },
};
const CONN = `onb-born-${crypto.randomUUID().slice(0, 8)}`;
let w: World;

beforeAll(async () => {
  w = await startWorld({
    onboarding: true,
    webhooks: true,
    sm8: { rateLimitPerMinute: 20_000 },
    governorLimits: LIMITS,
  });
});
afterAll(async () => {
  await w.close();
});

const companiesNamed = (name: string) =>
  w.sm8.store.list('company').filter((c) => c.name === name && Number(c.active) === 1);

describe('issue 12: records born in QuickBooks while onboarding runs', () => {
  it('CM-2: a customer created in QuickBooks during onboarding starts no owner until onboarding ends, then is brought in once', async () => {
    const realmId = `9341${String(crypto.randomInt(0, 1e12)).padStart(12, '0')}`;
    const realm = w.qbo.control.createRealm({ companyName: 'Born Meanwhile Trades', realmId });
    for (let i = 0; i < 5; i += 1)
      w.qbo.control.upsertRecord('Customer', { DisplayName: `Born Client ${i}` }, realm);
    for (let i = 0; i < 30; i += 1)
      w.qbo.control.upsertRecord(
        'Item',
        {
          Name: `Born Part ${i}`,
          Type: 'Service',
          UnitPrice: 10,
          IncomeAccountRef: { value: ACCOUNT_IDS.services },
        },
        realm,
      );
    // Each material write takes a while, so the items phase is still running when the customer is born.
    w.sm8.control.faults.add({ method: 'POST', path: '^/api_1\\.0/material\\.json$', latencyMs: 250 });
    await w.connect(CONN, { realmId: realm });
    const store = new OnboardingStore(w.h.pool);
    await waitFor('the items phase, after the customers phase', async () => {
      const p = await store.progress(CONN);
      const phase = (name: string) => p?.phases.find((x) => x.phase === name);
      return phase('customers')?.state === 'done' && phase('items')?.state === 'running';
    });

    const born = w.qbo.control.upsertRecord('Customer', { DisplayName: 'Born During Onboarding' }, realm);
    const link = await waitFor('the link of the customer born meanwhile', () =>
      w.h.deps.links.byQbo(CONN, 'customer', String(born.Id)),
    );
    const routed = await waitFor('its event routed', async () => {
      const r = await w.h.pool.query<{ routed_to: string }>(
        `SELECT routed_to FROM webhook_inbox WHERE connection_id = $1 AND entity = 'customer' AND entity_id = $2 AND state = 'routed'`,
        [CONN, String(born.Id)],
      );
      return r.rows[0]?.routed_to;
    });
    expect(routed).toMatch(/^deferred: onboarding brings this customer in/);
    expect(await store.running(CONN)).toBe(true);
    const owner = w.h.client.workflow.getHandle(customerWorkflowId(CONN, link.id));
    await expect(owner.describe()).rejects.toThrow(/not found/i);

    w.sm8.control.faults.clear();
    await waitFor('onboarding to end', async () => (await store.progress(CONN))?.state === 'done', 120_000);
    await waitFor(
      'the born customer in ServiceM8',
      () => companiesNamed('Born During Onboarding').length === 1,
    );
    const done = await waitFor('its link completed', async () => {
      const l = await w.h.deps.links.byQbo(CONN, 'customer', String(born.Id));
      return l?.sm8Uuid ? l : null;
    });
    expect(done.sm8Uuid).toBe(companiesNamed('Born During Onboarding')[0]?.uuid);
    expect((await owner.describe()).workflowId).toBe(customerWorkflowId(CONN, link.id));
  }, 180_000);
});
