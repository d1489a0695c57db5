/**
 * Creating the QuickBooks customer or item of a ServiceM8 record (INV-5, activities/invoice-parties.ts) so
 * that it is that record's own, whatever an earlier attempt did.
 */
import { QuickBooksClient } from '../../apis/quickbooks/client';
import { fingerprint } from '../../domain/fingerprint';
import type { ActivityDeps } from './deps';

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
export async function createOwn<T extends { Id: string }>(
  deps: Pick<ActivityDeps, 'links' | 'qboClientDeps'>,
  connectionId: string,
  entity: 'customer' | 'item',
  sm8Key: string,
  fields: object,
  requestId: string,
): Promise<T> {
  const qbo = new QuickBooksClient(deps.qboClientDeps(), connectionId);
  const qboEntity = entity === 'customer' ? 'Customer' : 'Item';
  const made = await qbo.create<T>(qboEntity, fields, requestId);
  const other = await deps.links.byQbo(connectionId, entity, made.Id);
  if (!other?.sm8Uuid || other.sm8Uuid === sm8Key) return made;
  return qbo.create<T>(qboEntity, fields, subRequestId(requestId, `again:${made.Id}`));
}
