import { faults } from '../errors';
import { fromCents, toCents } from '../money';
import { type Company } from '../store';
import { type Json, asJson, asString, refValue } from '../types';
import { type EntityModule, checkPersonName } from './common';
import { checkContactDetails } from './contact';
import { checkCustomerCurrency } from './currency';

/** QBO allows sub-customers down to 5 levels (error 6180 beyond: docs/quickbooks-api.md §4.3). */
const MAX_LEVEL = 4;

function ancestry(company: Company, parentId: string | undefined, selfId: string): Json[] {
  const chain: Json[] = [];
  let current = parentId;
  while (current !== undefined) {
    if (current === selfId) throw faults.business('A customer cannot be its own parent.', 'ParentRef');
    const parent = company.get('Customer', current);
    if (!parent) break;
    chain.unshift(parent.data);
    current = refValue(parent.data.ParentRef);
  }
  return chain;
}

export const customerModule: EntityModule = {
  readOnly: ['FullyQualifiedName', 'Level', 'Balance', 'BalanceWithJobs', 'V4IDPseudonym', 'RootCustomerRef'],

  prepare(ctx, data) {
    data.DisplayName = checkPersonName(ctx, data, 'Customer');
    checkContactDetails(ctx, data);
    const parentId = refValue(data.ParentRef);
    const parent = parentId === undefined ? undefined : ctx.company.get('Customer', parentId);
    if (parentId !== undefined) {
      if (!parent || parent.data.Active === false) throw faults.objectNotFound('ParentRef');
      const chain = ancestry(ctx.company, parentId, ctx.id);
      if (chain.length > MAX_LEVEL) {
        throw faults.nestingTooDeep();
      }
      data.ParentRef = { value: parentId, name: asString(parent.data.DisplayName) };
      data.Job = true;
      data.BillWithParent = data.BillWithParent === true;
    } else {
      if (data.Job === true) throw faults.required('ParentRef');
      delete data.ParentRef;
      data.Job = false;
      data.BillWithParent = false;
    }
    data.Active = data.Active !== false;
    data.Taxable = data.Taxable !== false;
    checkCustomerCurrency(ctx, data, parent?.data);
    data.PreferredDeliveryMethod ??= 'Print';
    data.PrintOnCheckName ??= data.CompanyName ?? data.DisplayName;
    return data;
  },

  /** FullyQualifiedName, Level and balances follow the parent chain and open invoices at read time. */
  decorate(company, records) {
    // Open invoices add to the balance; credit not yet used (credit memos) takes from it.
    const own = new Map<string, number>();
    for (const [entity, sign] of [
      ['Invoice', 1],
      ['CreditMemo', -1],
    ] as const) {
      for (const txn of company.all(entity)) {
        const customerId = refValue(txn.data.CustomerRef);
        if (customerId === undefined) continue;
        own.set(customerId, (own.get(customerId) ?? 0) + sign * (toCents(txn.data.Balance) ?? 0));
      }
    }
    const children = new Map<string, string[]>();
    for (const customer of company.all('Customer')) {
      const parentId = refValue(customer.data.ParentRef);
      if (parentId === undefined) continue;
      children.set(parentId, [...(children.get(parentId) ?? []), String(customer.data.Id)]);
    }
    const withJobs = (id: string, seen = new Set<string>()): number => {
      if (seen.has(id)) return 0;
      seen.add(id);
      return (
        (own.get(id) ?? 0) + (children.get(id) ?? []).reduce((sum, child) => sum + withJobs(child, seen), 0)
      );
    };
    for (const record of records) {
      const id = String(record.Id);
      const chain = ancestry(company, refValue(record.ParentRef), '');
      const names = [
        ...chain.map((parent) => asString(parent.DisplayName) ?? ''),
        asString(record.DisplayName) ?? '',
      ];
      record.FullyQualifiedName = names.join(':');
      record.Level = chain.length;
      if (chain[0] && chain.length > 0)
        record.RootCustomerRef = { value: String(chain[0].Id), name: chain[0].DisplayName };
      const parentRef = asJson(record.ParentRef);
      const parent = chain[chain.length - 1];
      if (parentRef && parent) parentRef.name = parent.DisplayName;
      record.Balance = fromCents(own.get(id) ?? 0);
      record.BalanceWithJobs = fromCents(withJobs(id));
    }
  },
};
