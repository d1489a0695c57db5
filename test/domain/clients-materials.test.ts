/** Pure mapping and progress logic of clients, materials and onboarding (CM-1, CM-6, CM-8, OPS-2). */
import {
  clientFromQbo,
  clientFromSm8,
  customerImportSkip,
  sm8BillingContactBody,
  sm8CompanyBody,
  type QboCustomerRecord,
} from '../../domain/clients-materials/customer-sync';
import { planMerge, sm8TimeToEpochMs } from '../../domain/field-merge';
import { fingerprint } from '../../domain/fingerprint';
import {
  decimal4,
  itemImportSkip,
  materialFromQbo,
  materialFromSm8,
  sm8MaterialBody,
} from '../../domain/clients-materials/item-sync';
import { completion, emptyPhase, progressBar } from '../../domain/onboarding';
import type { Sm8Company, Sm8CompanyContact, Sm8Material } from '../../domain/servicem8-types';

const customer: QboCustomerRecord = {
  Id: '7',
  SyncToken: '0',
  DisplayName: ' Alpha Builders ',
  GivenName: 'Alice',
  FamilyName: 'Alpha',
  PrimaryEmailAddr: { Address: 'a@alpha.example' },
  PrimaryPhone: { FreeFormNumber: '02 9999 0001' },
  BillAddr: { Line1: '1 Alpha St', City: 'Sydney', CountrySubDivisionCode: 'NSW', PostalCode: '2000' },
};

describe('CM-6: what is not imported', () => {
  it('CM-6: inactive customers and sub-customers billed with their parent are skipped; others are not', () => {
    expect(customerImportSkip(customer)).toBeNull();
    expect(customerImportSkip({ ...customer, Active: false })).toBe('inactive');
    expect(customerImportSkip({ ...customer, Job: true, BillWithParent: true })).toBe('bills_with_parent');
    expect(customerImportSkip({ ...customer, Job: true, BillWithParent: false })).toBeNull();
  });

  it('CM-1: categories, bundles and inactive items are skipped; Service, NonInventory and Inventory are imported', () => {
    const item = { Id: '1', SyncToken: '0', Name: 'x' };
    expect(itemImportSkip({ ...item, Type: 'Service' })).toBeNull();
    expect(itemImportSkip({ ...item, Type: 'NonInventory' })).toBeNull();
    expect(itemImportSkip({ ...item, Type: 'Inventory' })).toBeNull();
    expect(itemImportSkip({ ...item, Type: 'Category' })).toBe('category');
    expect(itemImportSkip({ ...item, Type: 'Group' })).toBe('bundle');
    expect(itemImportSkip({ ...item, Type: 'Service', Active: false })).toBe('inactive');
  });
});

describe('CM-1: the mapped fields read back the same (echoes die on fingerprints)', () => {
  it('CM-1: a customer written to ServiceM8 reads back as the same client fields and fingerprint', () => {
    const fields = clientFromQbo(customer);
    const company = { uuid: 'c', ...sm8CompanyBody(fields) } as unknown as Sm8Company;
    const contact = { uuid: 'k', ...sm8BillingContactBody(fields, 'c') } as unknown as Sm8CompanyContact;
    const back = clientFromSm8(company, [contact]);
    expect(back).toEqual(fields);
    expect(fingerprint(back)).toBe(fingerprint(fields));
    expect(fields.name).toBe('Alpha Builders');
  });

  it('CM-8: an item with an expense account carries its purchase cost; one without does not', () => {
    const base = {
      Id: '1',
      SyncToken: '0',
      Name: 'Pipe',
      Type: 'NonInventory',
      UnitPrice: 12.4,
      PurchaseCost: 7.25,
    };
    const purchased = materialFromQbo({ ...base, ExpenseAccountRef: { value: '4' } }, 'tax');
    expect(purchased.cost).toBe('7.2500');
    expect(sm8MaterialBody(purchased, false)).toMatchObject({ cost: '7.2500', price: '12.4000' });
    const sold = materialFromQbo(base, 'tax');
    expect(sold.cost).toBeNull();
    expect(sm8MaterialBody(sold, false)).not.toHaveProperty('cost');
    const m = { uuid: 'm', ...sm8MaterialBody(purchased, false) } as unknown as Sm8Material;
    expect(materialFromSm8(m, true)).toEqual(purchased);
  });

  it('CM-1: prices are exact 4-place decimals, never float sums', () => {
    expect(decimal4(0.1 + 0.2)).toBe('0.3000');
    expect(decimal4('12.5')).toBe('12.5000');
    expect(decimal4(undefined)).toBe('0.0000');
    expect(decimal4(-3.33335)).toBe('-3.3334');
  });

  it('CM-1: an item number longer than ServiceM8 allows is left out rather than cut', () => {
    const long = materialFromQbo({ Id: '1', SyncToken: '0', Name: 'x', Sku: 'A'.repeat(31) }, '');
    expect(long.sku).toBe('');
  });
});

describe('OPS-2: onboarding progress', () => {
  it('OPS-2: completion grows with the records done and is 1 when the run is done', () => {
    const phases = [
      { ...emptyPhase('taxcodes'), state: 'done' as const, total: 2, done: 2 },
      { ...emptyPhase('customers'), state: 'running' as const, total: 100, done: 50 },
      emptyPhase('items'),
    ];
    const half = completion({ state: 'running', phases });
    expect(half).toBeGreaterThan(0.4);
    expect(half).toBeLessThan(1);
    expect(completion({ state: 'done', phases })).toBe(1);
    expect(progressBar(0.5, 10)).toBe('[#####-----]  50%');
    expect(progressBar(1, 10)).toBe('[##########] 100%');
  });
});

describe('CM-9: conflicts, field by field', () => {
  const base = { name: 'A', phone: '1', email: 'a@x', active: true };
  const stored = { sm8Fingerprint: fingerprint(base), qboFingerprint: fingerprint(base) };
  const synced = { sm8: base, qbo: base };

  it('CM-2: nothing changed on either side (our own echo): nothing to write', () => {
    const p = planMerge({ sm8: base, qbo: base, synced, stored, editedAt: { sm8: 1, qbo: 2 } });
    expect(p).toMatchObject({ sm8Changed: false, qboChanged: false, toSm8: {}, toQbo: {}, conflicts: [] });
  });

  it('CM-2 / CM-4 / CM-5: a field changed on one side goes to the other', () => {
    const p = planMerge({
      sm8: { ...base, phone: '2' },
      qbo: { ...base, active: false },
      synced,
      stored,
      editedAt: { sm8: null, qbo: null },
    });
    expect(p.toQbo).toEqual({ phone: '2' });
    expect(p.toSm8).toEqual({ active: false });
    expect(p.conflicts).toEqual([]);
  });

  it('CM-9: the same field changed on both sides: the later edit wins and the loser is reported', () => {
    const sm8 = { ...base, phone: 'sm8' };
    const qbo = { ...base, phone: 'qbo', email: 'q@x' };
    const later = planMerge({ sm8, qbo, synced, stored, editedAt: { sm8: 2000, qbo: 1000 } });
    expect(later.toQbo).toEqual({ phone: 'sm8' });
    expect(later.toSm8).toEqual({ email: 'q@x' });
    expect(later.conflicts).toEqual([{ field: 'phone', sm8: 'sm8', qbo: 'qbo', winner: 'sm8' }]);
    const earlier = planMerge({ sm8, qbo, synced, stored, editedAt: { sm8: 1000, qbo: 2000 } });
    expect(earlier.toSm8).toEqual({ phone: 'qbo', email: 'q@x' });
    expect(earlier.conflicts[0]?.winner).toBe('qbo');
  });

  it("CM-9: a field that differs only by a side's limits and changed nowhere is left alone", () => {
    const s = { ...base, name: 'Long name cut' };
    const q = { ...base, name: 'Long name cut by ServiceM8 limits' };
    const p = planMerge({
      sm8: { ...s, phone: '9' },
      qbo: q,
      synced: { sm8: s, qbo: q },
      stored: { sm8Fingerprint: fingerprint(s), qboFingerprint: fingerprint(q) },
      editedAt: { sm8: null, qbo: null },
    });
    expect(p.toQbo).toEqual({ phone: '9' });
    expect(p.toSm8).toEqual({});
  });

  it('CM-9: ServiceM8 edit dates are account-local wall times', () => {
    // 10:00 in Sydney in November (AEDT, UTC+11) is 23:00 UTC the day before.
    expect(sm8TimeToEpochMs('2026-11-26 10:00:00', 'Australia/Sydney')).toBe(
      Date.UTC(2026, 10, 25, 23, 0, 0),
    );
    expect(sm8TimeToEpochMs('0000-00-00 00:00:00', 'Australia/Sydney')).toBeNull();
    expect(sm8TimeToEpochMs('2026-06-01 12:00:00', null)).toBe(Date.UTC(2026, 5, 1, 12, 0, 0));
  });
});
