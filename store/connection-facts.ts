/**
 * Connection facts (issue 12, table `connection_facts`): what an export needs to know about a connection
 * besides the job itself, cached with a version instead of read per export: QuickBooks' tax model and tax
 * codes (with their total sales rate), ServiceM8's tax rates, the income account new items post to, and
 * QuickBooks' payment methods. Each part is refreshed on its own (the tax poll, a miss, a refusal); a part
 * that is absent is unknown and read once by whoever needs it (activities/support/connection-facts.ts).
 */
import type { Pool, PoolClient } from 'pg';
import type { Sm8TaxRate } from '../domain/servicem8-types';

type Db = Pool | PoolClient;

/** A QuickBooks tax code as exports map ServiceM8 rates to it (TAX-, INV-4). */
export interface FactTaxCode {
  id: string;
  name: string;
  active: boolean;
  ratePercent: string;
}

export interface ConnectionFacts {
  /** QuickBooks' tax model (CompanyInfo.Country: US or not, TAX-4). */
  taxModel?: 'global' | 'us';
  /** Every QuickBooks tax code, active or not. */
  taxCodes?: FactTaxCode[];
  /** Every ServiceM8 tax rate, active or not. */
  sm8TaxRates?: Sm8TaxRate[];
  /** The company's default income account for new items (null: it has none; a setting comes first). */
  incomeAccountId?: string | null;
  /** QuickBooks' payment methods (PAY-1 maps ServiceM8's free-text method by name). */
  paymentMethods?: Array<{ Id: string; Name: string }>;
}

export type FactName = keyof ConnectionFacts;

export interface StoredFacts {
  version: number;
  facts: ConnectionFacts;
  refreshedAt: Date;
}

export async function loadConnectionFacts(db: Db, connectionId: string): Promise<StoredFacts | null> {
  const r = await db.query<{ version: number; facts: ConnectionFacts; refreshed_at: Date }>(
    'SELECT version, facts, refreshed_at FROM connection_facts WHERE connection_id = $1',
    [connectionId],
  );
  const row = r.rows[0];
  return row ? { version: row.version, facts: row.facts, refreshedAt: row.refreshed_at } : null;
}

/** Sets some parts (others are kept); each change makes a new version. Returns the new version. */
export async function saveConnectionFacts(
  db: Db,
  connectionId: string,
  parts: ConnectionFacts,
): Promise<number> {
  const r = await db.query<{ version: number }>(
    `INSERT INTO connection_facts (connection_id, facts) VALUES ($1, $2::jsonb)
       ON CONFLICT (connection_id) DO UPDATE SET
         facts = connection_facts.facts || EXCLUDED.facts, version = connection_facts.version + 1,
         refreshed_at = now()
       RETURNING version`,
    [connectionId, JSON.stringify(parts)],
  );
  return r.rows[0]?.version ?? 0;
}

/** Forgets some parts: the next export that needs them reads them again. */
export async function forgetConnectionFacts(db: Db, connectionId: string, names: FactName[]): Promise<void> {
  await db.query(
    `UPDATE connection_facts SET facts = facts - $2::text[], version = version + 1, refreshed_at = now()
      WHERE connection_id = $1`,
    [connectionId, names],
  );
}
