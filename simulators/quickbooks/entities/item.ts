import { faults } from '../errors';
import { toScaled } from '../money';
import { type Json, asString, refValue } from '../types';
import {
  type EntityModule,
  type WriteContext,
  checkEnum,
  checkNameFree,
  requireActiveRef,
  text,
} from './common';

const ITEM_TYPES = ['Service', 'NonInventory', 'Inventory', 'Category', 'Group'] as const;

/**
 * "I purchase this from a vendor" has no boolean in the API; purchase fields stand for it
 * (docs/quickbooks-api.md §4.4).
 */
function hasPurchaseInfo(data: Json): boolean {
  const cost = toScaled(data.PurchaseCost, 2);
  const desc = text(data.PurchaseDesc);
  return (
    (cost !== undefined && cost !== 0n) ||
    (desc !== undefined && desc !== '') ||
    refValue(data.PrefVendorRef) !== undefined
  );
}

function checkTaxCodeRef(ctx: WriteContext, ref: unknown, element: string): void {
  const id = refValue(ref);
  if (id === undefined) return;
  const code = ctx.company.get('TaxCode', id);
  if (!code) throw faults.invalidReference('TaxCode', id, element);
}

export const itemModule: EntityModule = {
  readOnly: ['FullyQualifiedName', 'Level'],

  prepare(ctx, data) {
    const name = text(data.Name);
    if (name === undefined || name === '') throw faults.required('Name');
    if (name.length > 100) throw faults.stringLength('Name', 100, name.length);
    if (name.includes(':')) throw faults.invalidCharacters('Name', name);
    checkNameFree(ctx.company, 'Item', name, ctx.id, 'product or service');
    data.Name = name;
    const sku = asString(data.Sku);
    if (sku !== undefined && sku.length > 100) throw faults.stringLength('Sku', 100, sku.length);

    // UNCONFIRMED default: QBO's own UI always picks a type; the API default is not documented.
    const type = checkEnum('Type', data.Type, ITEM_TYPES, 'NonInventory');
    data.Type = type;
    if ((type === 'Service' || type === 'Inventory') && refValue(data.IncomeAccountRef) === undefined) {
      throw faults.required('IncomeAccountRef');
    }
    if (type === 'Inventory') {
      for (const field of ['ExpenseAccountRef', 'AssetAccountRef', 'QtyOnHand', 'InvStartDate']) {
        if (data[field] === undefined || data[field] === null) throw faults.required(field);
      }
      data.TrackQtyOnHand = true;
    } else if (hasPurchaseInfo(data) && refValue(data.ExpenseAccountRef) === undefined) {
      throw faults.required('ExpenseAccountRef');
    }
    requireActiveRef(ctx.company, 'Account', data.IncomeAccountRef, 'IncomeAccountRef', 'Name');
    requireActiveRef(ctx.company, 'Account', data.ExpenseAccountRef, 'ExpenseAccountRef', 'Name');
    requireActiveRef(ctx.company, 'Account', data.AssetAccountRef, 'AssetAccountRef', 'Name');
    checkTaxCodeRef(ctx, data.SalesTaxCodeRef, 'SalesTaxCodeRef');
    checkTaxCodeRef(ctx, data.PurchaseTaxCodeRef, 'PurchaseTaxCodeRef');

    for (const field of ['UnitPrice', 'PurchaseCost']) {
      if (data[field] !== undefined && toScaled(data[field], 7) === undefined)
        throw faults.invalidNumber(field, data[field]);
    }
    data.UnitPrice ??= 0;
    const parent = requireActiveRef(ctx.company, 'Item', data.ParentRef, 'ParentRef', 'Name');
    data.SubItem = parent !== undefined;
    if (!parent) delete data.ParentRef;
    data.Active = data.Active !== false;
    data.Taxable ??= refValue(data.SalesTaxCodeRef) !== undefined;
    return data;
  },

  decorate(company, records) {
    for (const record of records) {
      const names = [asString(record.Name) ?? ''];
      let parentId = refValue(record.ParentRef);
      const seen = new Set<string>();
      while (parentId !== undefined && !seen.has(parentId)) {
        seen.add(parentId);
        const parent = company.get('Item', parentId);
        if (!parent) break;
        names.unshift(asString(parent.data.Name) ?? '');
        parentId = refValue(parent.data.ParentRef);
      }
      record.FullyQualifiedName = names.join(':');
      record.Level = names.length - 1;
    }
  },
};
