/**
 * CM-1, CM-2, CM-7 under concurrency (issue 13): one QuickBooks record brought into ServiceM8 by two workers
 * at once — an onboarding page and the record's owner after a QuickBooks event, as after a restart during
 * onboarding — ends as one ServiceM8 record and one link. Before the import ran in the turn of its name, both
 * created a ServiceM8 record and the second link hit the links' unique key (seen in the demo after a restart).
 * QuickBooks simulator -> the import activities' code on the real PostgreSQL -> ServiceM8 simulator.
 */
import crypto from 'node:crypto';
import { ACCOUNT_IDS } from '../simulators/quickbooks';
import { importCustomer, importItem } from '../activities/clients-materials/import';
import { ServiceM8Client } from '../apis/servicem8/client';
import type { QboCustomerRecord } from '../domain/clients-materials/customer-sync';
import type { QboItemRecord } from '../domain/clients-materials/item-sync';
import type { Sm8Company, Sm8Material } from '../domain/servicem8-types';
import { startWorld, type World } from './helpers/world';

let w: World;
let realm: string;
const CONN = 'import-race';

beforeAll(async () => {
  w = await startWorld();
  realm = (await w.connect(CONN)).realmId;
});
afterAll(async () => {
  await w.close();
});

const sm8 = () => new ServiceM8Client(w.h.deps.sm8ClientDeps(), CONN);
const active = (rows: Array<Record<string, unknown>>) => rows.filter((r) => Number(r.active) === 1);

describe('CM-1/CM-2: one QuickBooks record imported by two workers at once', () => {
  it('CM-2: an item imported by onboarding and by its owner together makes one material and one link', async () => {
    const item = w.qbo.control.upsertRecord(
      'Item',
      {
        Name: 'Copper Pipe 15mm',
        Type: 'NonInventory',
        UnitPrice: 12,
        IncomeAccountRef: { value: ACCOUNT_IDS.services },
      },
      realm,
    ) as unknown as QboItemRecord;
    const owner = await w.h.deps.links.forQboRecord(CONN, 'item', item.Id);
    const candidates = (): Sm8Material[] => [];

    const outcomes = await Promise.all([
      importItem(w.h.deps, sm8(), CONN, item, crypto.randomUUID(), candidates(), owner.id),
      importItem(w.h.deps, sm8(), CONN, item, crypto.randomUUID(), candidates()),
    ]);

    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['already_linked', 'created']);
    const materials = active(w.sm8.control.records('material')).filter((m) => m.name === 'Copper Pipe 15mm');
    expect(materials).toHaveLength(1);
    const link = await w.h.deps.links.byQbo(CONN, 'item', item.Id);
    expect(link?.sm8Uuid).toBe(materials[0]?.uuid);
    expect(new Set(outcomes.map((o) => o.sm8Uuid))).toEqual(new Set([materials[0]?.uuid]));
  });

  it('CM-7: a customer matched by name by two workers at once is linked once, to the same client', async () => {
    const existing = crypto.randomUUID();
    w.sm8.control.insert('company', { uuid: existing, name: 'Harbour Electrical', active: 1 });
    const customer = w.qbo.control.upsertRecord(
      'Customer',
      { DisplayName: 'Harbour Electrical', CompanyName: 'Harbour Electrical' },
      realm,
    ) as unknown as QboCustomerRecord;
    const owner = await w.h.deps.links.forQboRecord(CONN, 'customer', customer.Id);
    const candidates = () =>
      active(w.sm8.control.records('company')).filter((c) => c.uuid === existing) as unknown as Sm8Company[];
    const uuids = () => ({ companyUuid: crypto.randomUUID(), contactUuid: crypto.randomUUID() });

    const outcomes = await Promise.all([
      importCustomer(w.h.deps, sm8(), CONN, customer, uuids(), candidates(), owner.id),
      importCustomer(w.h.deps, sm8(), CONN, customer, uuids(), candidates()),
    ]);

    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['already_linked', 'linked']);
    expect(outcomes.map((o) => o.sm8Uuid)).toEqual([existing, existing]);
    expect(
      active(w.sm8.control.records('company')).filter((c) => c.name === 'Harbour Electrical'),
    ).toHaveLength(1);
    expect((await w.h.deps.links.byQbo(CONN, 'customer', customer.Id))?.sm8Uuid).toBe(existing);
  });
});
