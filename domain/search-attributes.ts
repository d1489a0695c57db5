/**
 * Search attributes of every entity workflow (OPS-1). They are registered on the Temporal server by
 * infra/temporal-server.ts and docker-compose.yml (a test checks both use this list).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const ConnectionId = defineSearchAttributeKey('ConnectionId', SearchAttributeType.KEYWORD);
export const EntityType = defineSearchAttributeKey('EntityType', SearchAttributeType.KEYWORD);
export const Sm8Uuid = defineSearchAttributeKey('Sm8Uuid', SearchAttributeType.KEYWORD);
export const QboId = defineSearchAttributeKey('QboId', SearchAttributeType.KEYWORD);
export const SyncState = defineSearchAttributeKey('SyncState', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [ConnectionId, EntityType, Sm8Uuid, QboId, SyncState] as const;
