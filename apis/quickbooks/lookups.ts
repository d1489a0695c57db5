/**
 * Connection-level QuickBooks facts the invoice export needs: the tax model and tax codes (with their
 * total sales rate), and the income account for new items. Exports keep them as connection facts
 * (activities/support/connection-facts.ts, issue 12), refreshed by the tax poll and on a miss.
 */
import { totalRatePercent, type TaxCodeLink } from '../../domain/invoice/plan';
import type { QboTaxCodeRecord } from '../../domain/tax';
import { sameName } from '../../domain/names';
import { parseRate } from '../../domain/money';
import type { Sm8TaxRate } from '../../domain/servicem8-types';
import type { LinkStore } from '../../store/links';
import type { QuickBooksClient } from './client';

interface QboTaxRate {
  Id: string;
  RateValue?: number | string;
}

/** Every tax code (active or not) and the RateValue of every tax rate, read together. */
export async function readQboTaxTables(
  qbo: QuickBooksClient,
): Promise<{ codes: QboTaxCodeRecord[]; rateValues: Map<string, number | string> }> {
  const [codes, rates] = await Promise.all([
    qbo.query<'TaxCode', QboTaxCodeRecord>(
      'TaxCode',
      'SELECT * FROM TaxCode WHERE Active IN (true, false) MAXRESULTS 1000',
    ),
    qbo.query<'TaxRate', QboTaxRate>(
      'TaxRate',
      'SELECT * FROM TaxRate WHERE Active IN (true, false) MAXRESULTS 1000',
    ),
  ]);
  return { codes, rateValues: new Map(rates.map((r) => [r.Id, r.RateValue ?? 0])) };
}

export interface QboTaxCodeInfo {
  id: string;
  name: string;
  active: boolean;
  ratePercent: string;
}

export async function qboTaxModel(qbo: QuickBooksClient, realmId: string): Promise<'global' | 'us'> {
  const info = await qbo.getCompanyInfo(realmId);
  const country = String(info.CompanyInfo.Country ?? '').toUpperCase();
  return country === 'US' || country === 'USA' ? 'us' : 'global';
}

export async function qboTaxCodes(qbo: QuickBooksClient): Promise<QboTaxCodeInfo[]> {
  const { codes, rateValues } = await readQboTaxTables(qbo);
  return taxCodeInfos(codes, rateValues);
}

/** Each tax code with its total sales rate, from the two tables as readQboTaxTables returns them. */
export function taxCodeInfos(
  codes: readonly QboTaxCodeRecord[],
  rateValues: ReadonlyMap<string, number | string>,
): QboTaxCodeInfo[] {
  return codes.map((c) => ({
    id: c.Id,
    name: c.Name,
    active: c.Active !== false,
    ratePercent: totalRatePercent(
      (c.SalesTaxRateList?.TaxRateDetail ?? []).map((d) => rateValues.get(d.TaxRateRef?.value ?? '') ?? 0),
    ),
  }));
}

/**
 * The QuickBooks tax code of each ServiceM8 tax rate: its link, or (until the tax sync links it) the
 * active code with the same name and the same total rate, which is then linked. Missing = unmapped.
 */
export async function resolveTaxCodes(
  connectionId: string,
  sm8Rates: readonly Sm8TaxRate[],
  codes: readonly QboTaxCodeInfo[],
  links: LinkStore,
): Promise<Record<string, TaxCodeLink>> {
  const out: Record<string, TaxCodeLink> = {};
  for (const rate of sm8Rates) {
    const link = await links.bySm8(connectionId, 'taxcode', rate.uuid);
    const linked = link?.qboId ? codes.find((c) => c.id === link.qboId && c.active) : undefined;
    if (linked) {
      out[rate.uuid] = { qboTaxCodeId: linked.id, ratePercent: linked.ratePercent };
      continue;
    }
    if (link) continue; // linked to a code that is gone or inactive: unmapped until the tax sync fixes it
    const sm8Rate = parseRate(rate.amount);
    const match = codes.find(
      (c) => c.active && sameName(c.name, rate.name) && parseRate(c.ratePercent) === sm8Rate,
    );
    if (match) {
      // A second ServiceM8 rate of the same tax (the code is linked to another one, e.g. by TAX-1) maps
      // by name and rate without a link: one link per record and side.
      if (!(await links.byQbo(connectionId, 'taxcode', match.id)))
        await links.link(connectionId, 'taxcode', rate.uuid, match.id);
      out[rate.uuid] = { qboTaxCodeId: match.id, ratePercent: match.ratePercent };
    }
  }
  return out;
}

interface QboAccount {
  Id: string;
  Name: string;
  AccountType?: string;
  AccountSubType?: string;
}

const PREFERRED_INCOME = ['sales', 'services', 'sales of product income', 'income', 'revenue'];

/** The income account new items post to: a conventional name first, else the first income account. */
export async function defaultIncomeAccount(qbo: QuickBooksClient): Promise<string | null> {
  const accounts = await qbo.query<'Account', QboAccount>(
    'Account',
    "SELECT * FROM Account WHERE AccountType = 'Income' MAXRESULTS 1000",
  );
  for (const name of PREFERRED_INCOME) {
    const hit = accounts.find((a) => sameName(a.Name, name));
    if (hit) return hit.Id;
  }
  return accounts[0]?.Id ?? null;
}
