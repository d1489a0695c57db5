/**
 * QuickBooks Item ⇄ ServiceM8 material, for the two-way sync of materials (CM-1 … CM-9). Same approach as
 * customer-sync.ts: one neutral shape, projected from each side within that side's limits. Prices are
 * 4-place decimal strings (ServiceM8's own precision) parsed exactly, never floats. Purchase cost is part of
 * the shape only for items QuickBooks treats as purchased (ExpenseAccountRef present, CM-8).
 */
import { parseScaled } from '../money';
import { flag, type Sm8Material } from '../servicem8-types';

export interface MaterialFields {
  name: string;
  sku: string;
  /** "12.5000": 4 decimal places. */
  price: string;
  description: string;
  /** ServiceM8 tax rate uuid ('' when none or unmapped). */
  taxRateUuid: string;
  /** Purchase cost, "0.0000" style; null when the item is not purchased (CM-8). */
  cost: string | null;
  active: boolean;
}

/** The QuickBooks Item fields the sync reads (API names). */
export interface QboItemRecord {
  Id: string;
  SyncToken: string;
  Name: string;
  Type?: string;
  Sku?: string;
  Description?: string;
  UnitPrice?: number | string;
  PurchaseCost?: number | string;
  SalesTaxIncluded?: boolean;
  Active?: boolean;
  ExpenseAccountRef?: { value: string };
  IncomeAccountRef?: { value: string };
  SalesTaxCodeRef?: { value: string };
  MetaData?: { CreateTime?: string; LastUpdatedTime?: string };
}

/** ServiceM8 materials hold names of at most 70 characters (create schema) and item numbers of 30. */
export const SM8_MATERIAL_NAME_MAX = 70;
export const SM8_ITEM_NUMBER_MAX = 30;

const IMPORTED_TYPES = ['Service', 'NonInventory', 'Inventory'];

/** A decimal as a 4-place string ("12.5" -> "12.5000"); '' or garbage -> "0.0000". */
export function decimal4(value: unknown): string {
  const units = parseScaled(value ?? 0, 4) ?? 0n;
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const whole = abs / 10000n;
  const frac = (abs % 10000n).toString().padStart(4, '0');
  return `${negative ? '-' : ''}${whole}.${frac}`;
}

/** CM-1: why a QuickBooks item is not imported, or null when it is. */
export function itemImportSkip(
  i: QboItemRecord,
): 'inactive' | 'category' | 'bundle' | 'unsupported_type' | null {
  if (i.Active === false) return 'inactive';
  if (i.Type === 'Category') return 'category';
  if (i.Type === 'Group') return 'bundle';
  if (i.Type && !IMPORTED_TYPES.includes(i.Type)) return 'unsupported_type';
  return null;
}

/** CM-8: QuickBooks treats the item as purchased when it carries an expense account. */
export function isPurchased(i: Pick<QboItemRecord, 'ExpenseAccountRef'>): boolean {
  return Boolean(i.ExpenseAccountRef?.value);
}

const t = (v: string | undefined | null, max: number): string => (v ?? '').trim().slice(0, max);

/** The material as QuickBooks holds it, within ServiceM8's limits. `taxRateUuid` via the taxcode link. */
export function materialFromQbo(i: QboItemRecord, taxRateUuid: string): MaterialFields {
  const sku = t(i.Sku, 100);
  return {
    name: t(i.Name, SM8_MATERIAL_NAME_MAX),
    sku: sku.length <= SM8_ITEM_NUMBER_MAX ? sku : '',
    price: decimal4(i.UnitPrice),
    description: t(i.Description, 4000),
    taxRateUuid,
    cost: isPurchased(i) ? decimal4(i.PurchaseCost) : null,
    active: i.Active !== false,
  };
}

/** The material as ServiceM8 holds it; `purchased` comes from the linked QuickBooks item (CM-8). */
export function materialFromSm8(m: Sm8Material, purchased: boolean): MaterialFields {
  return {
    name: t(m.name, SM8_MATERIAL_NAME_MAX),
    sku: t(m.item_number, SM8_ITEM_NUMBER_MAX),
    price: decimal4(m.price),
    description: t(m.item_description, 4000),
    taxRateUuid: m.tax_rate_uuid ?? '',
    cost: purchased ? decimal4(m.cost) : null,
    active: flag(m.active),
  };
}

/** ServiceM8 material fields carrying `f` (cost only for purchased items, CM-8). */
export function sm8MaterialBody(
  f: MaterialFields,
  priceIncludesTax: boolean,
): Record<string, string | number> {
  return {
    name: f.name,
    item_number: f.sku,
    price: f.price,
    item_description: f.description,
    tax_rate_uuid: f.taxRateUuid,
    price_includes_taxes: priceIncludesTax ? 1 : 0,
    ...(f.cost !== null ? { cost: f.cost } : {}),
    active: f.active ? 1 : 0,
  };
}

/** The QuickBooks sparse-update body carrying `f`. `taxCodeId` via the taxcode link (omitted when none). */
export function qboItemBody(f: MaterialFields, taxCodeId: string | null): Record<string, unknown> {
  return {
    Name: f.name.replace(/:/g, '-'),
    Sku: f.sku,
    UnitPrice: Number(f.price),
    Description: f.description,
    ...(taxCodeId ? { SalesTaxCodeRef: { value: taxCodeId } } : {}),
    ...(f.cost !== null ? { PurchaseCost: Number(f.cost) } : {}),
    Active: f.active,
  };
}
