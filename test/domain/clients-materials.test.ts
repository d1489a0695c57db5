/** Pure mapping and progress logic of clients, materials and onboarding (CM-1, CM-6, CM-8, OPS-2). */
import {
  clientFromQbo,
  clientFromSm8,
  customerImportSkip,
  sm8BillingContactBody,
  sm8CompanyBody,
  type QboCustomerRecord,
} from '../../domain/customer-sync';
import { fingerprint } from '../../domain/fingerprint';
import {
  decimal4,
  itemImportSkip,
  materialFromQbo,
  materialFromSm8,
  sm8MaterialBody,
} from '../../domain/item-sync';
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
