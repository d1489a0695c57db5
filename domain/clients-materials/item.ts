/**
 * ServiceM8 material <-> QuickBooks Item: the mapped fields. Purchase cost travels only for items that
 * QuickBooks treats as purchased (ExpenseAccountRef present, CM-8).
 */
import { centsToAmount, toCents } from '../money';
import { qboSafeName } from '../names';
import { flag, type Sm8Material } from '../servicem8-types';

/** Lines without a catalogue material (material_uuid "") post to this one generic item. */
export const GENERIC_ITEM_KEY = '__generic__';
export const GENERIC_ITEM_NAME = 'ServiceM8 Sales';

export interface QboItemFields {
  Name: string;
  Type: 'Service';
  Sku?: string;
  Description?: string;
  UnitPrice?: number;
  SalesTaxIncluded?: boolean;
  IncomeAccountRef: { value: string };
  SalesTaxCodeRef?: { value: string };
}

export function itemFromMaterial(
  material: Sm8Material,
  refs: { incomeAccountId: string; salesTaxCodeId?: string },
): QboItemFields {
  const price = toCents(material.price ?? '0') ?? 0;
  return {
    Name: qboSafeName(material.name, 100),
    Type: 'Service',
    ...(material.item_number?.trim() ? { Sku: material.item_number.trim().slice(0, 100) } : {}),
    Description: (material.item_description?.trim() || material.name).slice(0, 4000),
    UnitPrice: centsToAmount(price),
    ...(flag(material.price_includes_taxes) ? { SalesTaxIncluded: true } : {}),
    IncomeAccountRef: { value: refs.incomeAccountId },
    ...(refs.salesTaxCodeId ? { SalesTaxCodeRef: { value: refs.salesTaxCodeId } } : {}),
  };
}

export function genericItem(incomeAccountId: string): QboItemFields {
  return {
    Name: GENERIC_ITEM_NAME,
    Type: 'Service',
    Description: 'Invoice lines from ServiceM8 that are not catalogue materials',
    IncomeAccountRef: { value: incomeAccountId },
  };
}
