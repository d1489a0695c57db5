/**
 * Two-way convergence of one linked record (CM-2, CM-4, CM-5, CM-9): given both sides' mapped fields now,
 * the fields as last synced and the fingerprints stored then, decide which fields to write to which side.
 * A side changed when its fingerprint moved (our own writes were fingerprinted, so echoes change nothing).
 * A field changed on one side only takes that side's value; changed on both sides to different values,
 * it takes the value of the side edited last and the loser is reported (CM-9: nothing silently dropped).
 * Fields that differ only by a side's limits (e.g. a longer name in QuickBooks) and changed nowhere are
 * left alone. Pure.
 */
import { canonicalJson, fingerprint } from './fingerprint';

// The edit times CM-9 compares: ServiceM8 gives account-local wall times.
export { sm8TimeToEpochMs } from './servicem8-time';

export interface FieldConflict {
  field: string;
  sm8: unknown;
  qbo: unknown;
  winner: 'sm8' | 'qbo';
}

export interface MergePlan<F> {
  sm8Changed: boolean;
  qboChanged: boolean;
  /** Fields to write to ServiceM8 (values from QuickBooks). */
  toSm8: Partial<F>;
  /** Fields to write to QuickBooks (values from ServiceM8). */
  toQbo: Partial<F>;
  conflicts: FieldConflict[];
}

const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

export function planMerge<F extends object>(input: {
  sm8: F;
  qbo: F;
  /** Both sides' fields as last synced; null for a link made without them (e.g. by an invoice export). */
  synced: { sm8: F; qbo: F } | null;
  stored: { sm8Fingerprint: string | null; qboFingerprint: string | null };
  /** When each side was last edited (ms since epoch; null when unknown). */
  editedAt: { sm8: number | null; qbo: number | null };
}): MergePlan<F> {
  const { sm8, qbo, synced } = input;
  const sm8Changed = fingerprint(sm8) !== input.stored.sm8Fingerprint;
  const qboChanged = fingerprint(qbo) !== input.stored.qboFingerprint;
  const toSm8: Partial<F> = {};
  const toQbo: Partial<F> = {};
  const conflicts: FieldConflict[] = [];
  if (!sm8Changed && !qboChanged) return { sm8Changed, qboChanged, toSm8, toQbo, conflicts };
  const later: 'sm8' | 'qbo' = (input.editedAt.sm8 ?? 0) > (input.editedAt.qbo ?? 0) ? 'sm8' : 'qbo';
  for (const key of Object.keys(sm8) as Array<keyof F>) {
    const s = sm8[key];
    const q = qbo[key];
    if (same(s, q)) continue;
    const sChanged = sm8Changed && (!synced || !same(s, synced.sm8[key]));
    const qChanged = qboChanged && (!synced || !same(q, synced.qbo[key]));
    let winner: 'sm8' | 'qbo' | null = null;
    if (sChanged && qChanged) {
      winner = later;
      conflicts.push({ field: String(key), sm8: s, qbo: q, winner });
    } else if (sChanged) winner = 'sm8';
    else if (qChanged) winner = 'qbo';
    if (winner === 'sm8') toQbo[key] = s;
    if (winner === 'qbo') toSm8[key] = q;
  }
  return { sm8Changed, qboChanged, toSm8, toQbo, conflicts };
}
