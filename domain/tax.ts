/**
 * TAX-1 … TAX-3, the pure part: what a QuickBooks TaxCode looks like as a ServiceM8 taxrate, and which
 * writes bring ServiceM8's tax rates in line with QuickBooks (QuickBooks owns tax settings while the two
 * are integrated). The activity (activities/tax.ts) reads both sides and the links, asks `planTaxSync`
 * what to do, and does it. Comparing current values with the desired ones (not events) is what makes a
 * pass idempotent and kills our own echoes; the stored fingerprints only tell who changed what.
 */
import { fingerprint } from './fingerprint';
import { totalRatePercent } from './invoice/plan';
import { parseRate } from './money';
import { sameName } from './names';

/** ServiceM8 limits taxrate `name` to 50 characters. */
export const SM8_TAX_NAME_MAX = 50;

/** The raw QuickBooks TaxCode fields the mapping reads. */
export interface QboTaxCodeRecord {
  Id: string;
  Name: string;
  Active?: boolean;
  SalesTaxRateList?: { TaxRateDetail?: Array<{ TaxRateRef?: { value: string } }> };
}

/** A QuickBooks TaxCode as ServiceM8 would see it. */
export interface QboTaxCodeView {
  qboId: string;
  /** TaxCode.Name, trimmed and cut to ServiceM8's 50 characters. */
  name: string;
  active: boolean;
  /**
   * Σ RateValue of its sales rates, as ServiceM8 writes decimals ("10.0000"); null when the code has no
   * sales rate (purchase-only codes, "Out Of Scope"): such codes are not imported.
   */
  amount: string | null;
}

export interface Sm8TaxRateView {
  uuid: string;
  name: string;
  amount: string;
  active: boolean;
}

export interface TaxLinkView {
  id: string;
  sm8Uuid: string;
  qboId: string;
  sm8Fingerprint: string | null;
  qboFingerprint: string | null;
}

/** The values a ServiceM8 taxrate should have. */
export interface Sm8TaxValues {
  name: string;
  amount: string;
  active: boolean;
}

export function sm8TaxName(qboName: string): string {
  return qboName.trim().replace(/\s+/g, ' ').slice(0, SM8_TAX_NAME_MAX);
}

/** A rate as ServiceM8 prints it (4 decimal places), e.g. 10 -> "10.0000". */
export function sm8RateAmount(value: number | string): string {
  return totalRatePercent([value]);
}

/**
 * TAX-1: name = TaxCode.Name, amount = Σ RateValue of its sales TaxRateDetails. A sales rate we cannot
 * find makes the code unmappable (amount null) rather than imported with a wrong rate.
 */
export function qboTaxCodeView(
  code: QboTaxCodeRecord,
  rateValues: ReadonlyMap<string, number | string>,
): QboTaxCodeView {
  const details = code.SalesTaxRateList?.TaxRateDetail ?? [];
  const values = details.map((d) => rateValues.get(d.TaxRateRef?.value ?? ''));
  const known = values.every((v): v is number | string => v !== undefined && parseRate(v) !== null);
  return {
    qboId: code.Id,
    name: sm8TaxName(code.Name),
    active: code.Active !== false,
    amount: details.length > 0 && known ? totalRatePercent(values as Array<number | string>) : null,
  };
}

export function qboTaxFingerprint(code: QboTaxCodeView): string {
  return fingerprint({ name: code.name, amount: code.amount, active: code.active });
}

export function sm8TaxFingerprint(values: Sm8TaxValues): string {
  return fingerprint({
    name: values.name,
    amount: String(parseRate(values.amount) ?? values.amount),
    active: values.active,
  });
}

/** The same tax: CM-7 name match and the same rate to 4 decimals. */
export function sameTax(a: { name: string; amount: string }, b: { name: string; amount: string }): boolean {
  const ra = parseRate(a.amount);
  return sameName(a.name, b.name) && ra !== null && ra === parseRate(b.amount);
}

/** Exactly the desired values (a name differing only in case is still an edit to revert). */
export function sameValues(current: Sm8TaxValues, desired: Sm8TaxValues): boolean {
  return (
    current.name === desired.name &&
    parseRate(current.amount) === parseRate(desired.amount) &&
    current.active === desired.active
  );
}

/** What a linked rate should look like: QuickBooks' values; inactive when the code is inactive or gone. */
export function desiredValues(code: QboTaxCodeView | undefined, current: Sm8TaxValues | undefined) {
  const importable = code !== undefined && code.amount !== null;
  return {
    name: code?.name ?? current?.name ?? '',
    amount: code?.amount ?? current?.amount ?? '0.0000',
    active: importable && code.active,
  } satisfies Sm8TaxValues;
}

export type TaxAction =
  /** TAX-1/TAX-2: a new active code: a new ServiceM8 rate with this (pre-determined) uuid, linked. */
  | { kind: 'create'; qboId: string; sm8Uuid: string; values: Sm8TaxValues; qboFingerprint: string }
  /** An existing ServiceM8 rate (same name and rate, or our own lost create) is linked, then aligned. */
  | {
      kind: 'link';
      qboId: string;
      sm8Uuid: string;
      before: Sm8TaxValues;
      values: Sm8TaxValues;
      qboFingerprint: string;
    }
  /**
   * A linked rate differs from QuickBooks. cause `qbo`: QuickBooks changed (TAX-2); `sm8`: someone edited
   * it in ServiceM8 (TAX-3, reverted and logged).
   */
  | {
      kind: 'update';
      linkId: string;
      qboId: string;
      sm8Uuid: string;
      cause: 'qbo' | 'sm8';
      before: Sm8TaxValues;
      values: Sm8TaxValues;
      qboFingerprint: string;
      /** The ServiceM8 record is missing altogether: write it again under the linked uuid. */
      recreate?: boolean;
    }
  /** TAX-3: a rate created in ServiceM8 (no link, no QuickBooks code of that name and rate). */
  | { kind: 'deactivateUnlinked'; sm8Uuid: string; before: Sm8TaxValues }
  /** Already right; stored fingerprints are refreshed when they are stale. */
  | {
      kind: 'unchanged';
      linkId?: string;
      sm8Uuid?: string;
      qboId?: string;
      values?: Sm8TaxValues;
      qboFingerprint?: string;
      refresh?: boolean;
    };

export interface TaxPlanInput {
  codes: readonly QboTaxCodeView[];
  rates: readonly Sm8TaxRateView[];
  links: readonly TaxLinkView[];
  /** The uuid a new ServiceM8 rate for this QuickBooks code gets (deterministic: retries hit one record). */
  newUuidFor(qboId: string): string;
}

const valuesOf = (r: Sm8TaxRateView): Sm8TaxValues => ({ name: r.name, amount: r.amount, active: r.active });

/** Every write (and non-write) one pass makes, in order: linked records first, then new codes, then the rest. */
export function planTaxSync(input: TaxPlanInput): TaxAction[] {
  const codes = new Map(input.codes.map((c) => [c.qboId, c]));
  const rates = new Map(input.rates.map((r) => [r.uuid, r]));
  const linkedSm8 = new Set(input.links.map((l) => l.sm8Uuid));
  const linkedQbo = new Set(input.links.map((l) => l.qboId));
  const actions: TaxAction[] = [];

  for (const link of input.links) {
    const code = codes.get(link.qboId);
    const rate = rates.get(link.sm8Uuid);
    const current = rate ? valuesOf(rate) : undefined;
    const values = desiredValues(code, current);
    const qboFingerprint = code ? qboTaxFingerprint(code) : (link.qboFingerprint ?? '');
    const base = { linkId: link.id, qboId: link.qboId, sm8Uuid: link.sm8Uuid, values, qboFingerprint };
    if (!current) {
      // Not in ServiceM8 (lists include inactive rates): a create that did not finish (no ServiceM8
      // fingerprint yet), else a purged record. Either way it is written again under the linked uuid.
      if (values.active && code && link.sm8Fingerprint === null)
        actions.push({ kind: 'create', qboId: link.qboId, sm8Uuid: link.sm8Uuid, values, qboFingerprint });
      else if (values.active && code)
        actions.push({
          kind: 'update',
          ...base,
          cause: link.qboFingerprint !== qboFingerprint ? 'qbo' : 'sm8',
          before: { ...values, active: false },
          recreate: true,
        });
      else actions.push({ kind: 'unchanged', ...base });
      continue;
    }
    if (sameValues(current, values)) {
      const stale =
        link.qboFingerprint !== qboFingerprint || link.sm8Fingerprint !== sm8TaxFingerprint(values);
      actions.push({ kind: 'unchanged', ...base, refresh: stale });
      continue;
    }
    const qboChanged = link.qboFingerprint !== qboFingerprint;
    actions.push({ kind: 'update', ...base, cause: qboChanged ? 'qbo' : 'sm8', before: current });
  }

  // New QuickBooks codes: link a ServiceM8 rate that is already the same tax, else create one.
  const taken = new Set(linkedSm8);
  for (const code of input.codes) {
    if (linkedQbo.has(code.qboId) || code.amount === null) continue;
    const values = desiredValues(code, undefined);
    const qboFingerprint = qboTaxFingerprint(code);
    const ownUuid = input.newUuidFor(code.qboId);
    const own = rates.get(ownUuid);
    const candidates = input.rates.filter(
      (r) => !taken.has(r.uuid) && sameTax(r, { name: code.name, amount: code.amount as string }),
    );
    const match =
      (own && !taken.has(own.uuid) ? own : undefined) ?? candidates.find((r) => r.active) ?? candidates[0];
    if (match) {
      taken.add(match.uuid);
      actions.push({
        kind: 'link',
        qboId: code.qboId,
        sm8Uuid: match.uuid,
        before: valuesOf(match),
        values,
        qboFingerprint,
      });
    } else if (code.active && !taken.has(ownUuid)) {
      taken.add(ownUuid);
      actions.push({ kind: 'create', qboId: code.qboId, sm8Uuid: ownUuid, values, qboFingerprint });
    }
  }

  // What is left in ServiceM8 was made there. A duplicate of an active code's tax (same name and rate) is
  // harmless and maps by name and rate on export; anything else is deactivated (TAX-3).
  for (const rate of input.rates) {
    if (taken.has(rate.uuid)) continue;
    const sameAsActiveCode = input.codes.some(
      (c) => c.active && c.amount !== null && sameTax(rate, { name: c.name, amount: c.amount }),
    );
    if (rate.active && !sameAsActiveCode)
      actions.push({ kind: 'deactivateUnlinked', sm8Uuid: rate.uuid, before: valuesOf(rate) });
    else actions.push({ kind: 'unchanged', sm8Uuid: rate.uuid });
  }
  return actions;
}

/** The counts of one tax sync pass (activities/tax.ts), shown by the tax owner and the tax-poll pass. */
export interface TaxSyncResult {
  /** New ServiceM8 rates made for QuickBooks codes (TAX-1, TAX-2). */
  created: number;
  /** Linked rates changed to follow a QuickBooks change (TAX-2). */
  updated: number;
  /** Rates set inactive: their QuickBooks code was inactivated (TAX-2), or they were made in ServiceM8 (TAX-3). */
  deactivated: number;
  unchanged: number;
  /** Existing ServiceM8 rates linked to the QuickBooks code of the same name and rate (TAX-1). */
  linked: number;
  /** Edits made in ServiceM8 to linked rates, undone (TAX-3). */
  reverted: number;
  /** Writes ServiceM8 refused (validation); each is in audit_log as `tax_sync_failed`. */
  failed: number;
  /** Set when the pass did nothing, with the reason. */
  skipped?: string;
}
