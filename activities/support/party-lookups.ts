/**
 * What the invoice's parties step looks up besides finding or creating (activities/invoice-parties.ts): the
 * billing email QuickBooks last got, the company's home currency, and the names a hold's sentence quotes.
 */
import { isNotFound } from '../../apis/errors';
import type { QuickBooksClient } from '../../apis/quickbooks/client';
import type { ServiceM8Client } from '../../apis/servicem8/client';
import { qboQuote } from '../../domain/names';
import type { Link } from '../../store/links';
import { ownWrite } from '../../store/own-writes';
import type { ActivityDeps } from './deps';

/** The billing email QuickBooks last got for a linked customer, when the sync knows it; null when not. */
export async function knownBillEmail(
  deps: ActivityDeps,
  connectionId: string,
  link: Link,
): Promise<{ billEmail: string | null } | null> {
  const synced = (await deps.links.byIdWithSynced(link.id))?.syncedFields;
  const fromSynced = emailIn(synced);
  if (fromSynced !== undefined) return { billEmail: fromSynced };
  const written = link.qboId ? await ownWrite(deps.pool, connectionId, 'qbo', 'customer', link.qboId) : null;
  const fromWrite = emailIn(written?.answer);
  return fromWrite === undefined ? null : { billEmail: fromWrite };
}

/**
 * The email in a customer's stored values (QuickBooks' `PrimaryEmailAddr.Address`, at the top or one level
 * down, e.g. per side): a string, null when the values say there is none, undefined when they say nothing.
 */
export function emailIn(values: unknown): string | null | undefined {
  if (values === null || typeof values !== 'object') return undefined;
  const o = values as Record<string, unknown>;
  if ('PrimaryEmailAddr' in o) {
    const addr = (o.PrimaryEmailAddr as { Address?: unknown } | null)?.Address;
    return typeof addr === 'string' && addr.trim() ? addr.trim() : null;
  }
  // The clients-materials fields (domain/clients-materials/customer-sync.ts ClientFields) say `email`.
  if ('email' in o && 'name' in o) {
    return typeof o.email === 'string' && o.email.trim() ? o.email.trim() : null;
  }
  for (const side of ['qbo', 'sm8', 'fields']) {
    const inner = emailIn(o[side]);
    if (inner !== undefined) return inner;
  }
  return undefined;
}

/** The QuickBooks company's home currency (read only when a matched customer names a currency). */
export async function homeCurrency(qbo: QuickBooksClient): Promise<string | undefined> {
  const prefs = (await qbo.getPreferences()).Preferences as {
    CurrencyPrefs?: { HomeCurrency?: { value?: string } };
  };
  return prefs.CurrencyPrefs?.HomeCurrency?.value;
}

/** The name of the ServiceM8 record that holds a QuickBooks name already (for the sentence; read on a hold only). */
export async function sm8NameOf(
  sm8: ServiceM8Client,
  object: 'company' | 'material',
  uuid: string,
): Promise<string | undefined> {
  try {
    return (await sm8.read<{ name?: string }>(object, uuid)).name;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Who holds a name in QuickBooks (for the 6240 sentence): a supplier, an employee, or a customer. */
export async function nameHolder(qbo: QuickBooksClient, name: string): Promise<string> {
  const where = `WHERE DisplayName = ${qboQuote(name)} AND Active IN (true, false)`;
  if ((await qbo.query('Vendor', `SELECT * FROM Vendor ${where}`)).length) return 'supplier';
  if ((await qbo.query('Employee', `SELECT * FROM Employee ${where}`)).length) return 'employee';
  return 'customer';
}
