/**
 * Creating the QuickBooks customer or item of a ServiceM8 record (INV-5, activities/invoice-parties.ts) so
 * that it is that record's own, whatever an earlier attempt did.
 */
import { validationDetails } from '../../apis/errors';
import { QuickBooksClient } from '../../apis/quickbooks/client';
import { fingerprint } from '../../domain/fingerprint';
import type { ActivityDeps } from './deps';
import { attempt } from './temporal';

/** A requestid (≤ 50 chars) for one sub-step of a step whose base id came from the workflow. */
export function subRequestId(base: string, key: string): string {
  return `${base.slice(0, 36)}-${fingerprint(key).slice(0, 12)}`;
}

/**
 * Creates the customer or item of `sm8Key`. QuickBooks answers a requestid sent again with its first answer,
 * so an attempt retried after its create committed gets that record back; when another ServiceM8 record has
 * linked it since (a same-named client's export found it by name, and it was renamed), it is not this one's,
 * and the create is made again under a requestid derived from it. Linking it anyway broke the links' unique
 * key on every retry (the long soak's stuck export).
 */
/** What is created: the ServiceM8 record's QuickBooks customer or item, under the step's requestid. */
export interface OwnCreate {
  connectionId: string;
  entity: 'customer' | 'item';
  /** The ServiceM8 record's link key (its uuid, or the generic item's key). */
  sm8Key: string;
  fields: object;
  requestId: string;
}

export async function createOwn<T extends { Id: string }>(
  deps: Pick<ActivityDeps, 'links' | 'qboClientDeps'>,
  { connectionId, entity, sm8Key, fields, requestId }: OwnCreate,
): Promise<T> {
  const qbo = new QuickBooksClient(deps.qboClientDeps(), connectionId);
  const qboEntity = entity === 'customer' ? 'Customer' : 'Item';
  const made = await qbo.create<T>(qboEntity, fields, requestId);
  const other = await deps.links.byQbo(connectionId, entity, made.Id);
  if (!other?.sm8Uuid || other.sm8Uuid === sm8Key) return made;
  return qbo.create<T>(qboEntity, fields, subRequestId(requestId, `again:${made.Id}`));
}

/**
 * A retried step that finds its ServiceM8 record's name only on an inactive QuickBooks record: an earlier
 * attempt may have created that record (the answer was lost) before somebody made it inactive, which would
 * otherwise read as another party's record and leave ours unlinked (the long soak's "made by the product but
 * linked to nothing"). The same create is sent again under the step's requestid: QuickBooks answers with the
 * record it made, or refuses the name (6240: not ours; a create made again because another record holds the
 * answer is refused alike). Only on a retry and only for an exact name (a first create of a taken name is
 * refused, so nothing new is made); null when it is not ours.
 */
export async function lostOwnCreate<T extends { Id: string }>(
  deps: Pick<ActivityDeps, 'links' | 'qboClientDeps'>,
  create: OwnCreate,
  inactiveNames: string[],
): Promise<T | null> {
  const named = create.fields as { DisplayName?: string; Name?: string };
  const name = named.DisplayName ?? named.Name;
  if (attempt() <= 1 || !name || !inactiveNames.includes(name)) return null;
  try {
    return await createOwn<T>(deps, create);
  } catch (err) {
    if (validationDetails(err)) return null;
    throw err;
  }
}
