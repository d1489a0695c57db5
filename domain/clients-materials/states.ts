/** The states a customer or item link's sync ends in (CM-2 … CM-10), as its owner workflow shows them. */
export type CmSyncState =
  | 'DEFERRED'
  | 'IN_SYNC'
  | 'SYNCED'
  | 'IMPORTED'
  | 'NOT_IMPORTED'
  | 'BLOCKED'
  | 'QBO_GONE'
  | 'SM8_GONE'
  | 'MERGED'
  | 'UNLINKED';
