import { CDC_UNSUPPORTED, entityByName } from './entities/index';
import { faults } from './errors';
import { formatMetaTime } from './clock';
import { type AccountingService } from './service';
import { type Company } from './store';
import { type EntityName, type Json } from './types';

export const CDC_LOOKBACK_MS = 30 * 24 * 3600 * 1000;
export const CDC_MAX_OBJECTS = 1000;

interface Change {
  entity: EntityName;
  ms: number;
  json: Json;
}

function parseEntities(raw: string | undefined): EntityName[] {
  if (raw === undefined || raw.trim() === '') throw faults.required('entities');
  return raw.split(',').map((name) => {
    const trimmed = name.trim();
    // CDC refuses TaxCode/TaxRate and other unsupported entities (docs/quickbooks-api.md §2.5); the code
    // is UNCONFIRMED.
    if (CDC_UNSUPPORTED.has(entityByName(trimmed) ?? trimmed))
      throw faults.queryInvalid(`CDC is not supported for entity ${trimmed}.`);
    const entity = entityByName(trimmed);
    if (!entity) throw faults.queryInvalid(`Unsupported entity ${trimmed} for CDC.`);
    return entity;
  });
}

function parseSince(raw: string | undefined, nowMs: number): number {
  if (raw === undefined || raw.trim() === '') throw faults.required('changedSince');
  const text = raw.trim();
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00-07:00` : text);
  if (Number.isNaN(ms)) throw faults.queryInvalid(`changedSince ${text} is not a valid date.`);
  // UNCONFIRMED code: the documented 30-day look-back is enforced with a validation fault.
  if (nowMs - ms > CDC_LOOKBACK_MS)
    throw faults.queryInvalid('changedSince must be within the last 30 days.');
  return ms;
}

/**
 * GET /cdc (docs/quickbooks-api.md §2.5): full payloads of records changed at or after changedSince,
 * tombstones for hard deletes. At most 1000 objects across all entities: the OLDEST changes are kept, so a
 * caller that pages by the last LastUpdatedTime it saw makes progress, while one that jumps to the response
 * `time` loses the rest (as with QBO).
 */
export function changeDataCapture(
  service: AccountingService,
  company: Company,
  entitiesRaw: string | undefined,
  sinceRaw: string | undefined,
  nowMs: number,
): Json[] {
  const entities = parseEntities(entitiesRaw);
  const since = parseSince(sinceRaw, nowMs);
  const changes: Change[] = [];
  for (const entity of entities) {
    const records = company.all(entity).filter((record) => record.updatedMs >= since);
    const copies = service.present(company, entity, records);
    records.forEach((record, index) =>
      changes.push({ entity, ms: record.updatedMs, json: copies[index] ?? {} }),
    );
    for (const tombstone of company.tombstones) {
      if (tombstone.entity !== entity || tombstone.deletedMs < since) continue;
      changes.push({
        entity,
        ms: tombstone.deletedMs,
        json: {
          Id: tombstone.id,
          status: 'Deleted',
          domain: 'QBO',
          MetaData: { LastUpdatedTime: formatMetaTime(tombstone.deletedMs) },
        },
      });
    }
  }
  changes.sort((a, b) => a.ms - b.ms);
  const kept = changes.slice(0, CDC_MAX_OBJECTS);
  const queryResponses = entities.map((entity) => {
    const rows = kept.filter((change) => change.entity === entity).map((change) => change.json);
    return rows.length === 0 ? {} : { [entity]: rows, startPosition: 1, maxResults: rows.length };
  });
  return [{ QueryResponse: queryResponses }];
}
