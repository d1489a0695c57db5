import { type Simulator } from './context';
import { entityByName } from './entities/index';
import { QboFault, faults } from './errors';
import { executeWrite, runQuery } from './operations';
import { type Company } from './store';
import { type Json, asArray, asJson, asString } from './types';

export const MAX_BATCH_ITEMS = 30;

/**
 * POST /batch (docs/quickbooks-api.md §2.6): at most 30 items, run one after the other; each answers with its `bId` and either the
 * entity, a QueryResponse, or its own Fault; one item failing does not stop the others.
 */
export function runBatch(sim: Simulator, company: Company, body: unknown): Json {
  const items = asArray(asJson(body)?.BatchItemRequest);
  if (items.length === 0) throw faults.required('BatchItemRequest');
  if (items.length > MAX_BATCH_ITEMS) throw faults.batchTooLarge(items.length);
  const responses = items.map((raw) => {
    const item = asJson(raw) ?? {};
    const bId = asString(item.bId) ?? '';
    try {
      const query = asString(item.Query);
      if (query !== undefined) return { bId, QueryResponse: runQuery(sim, company, query) };
      const entityKey = Object.keys(item).find((key) => entityByName(key) !== undefined && key !== 'Query');
      const entity = entityKey === undefined ? undefined : entityByName(entityKey);
      if (!entity || entityKey === undefined) throw faults.required('BatchItemRequest entity');
      const operation = asString(item.operation) ?? 'create';
      const includes = new Set<string>(asString(item.optionsData)?.split(',') ?? []);
      const result = executeWrite(sim, company, entity, operation, item[entityKey], includes);
      return { bId, [entity]: result };
    } catch (error) {
      const fault = error instanceof QboFault ? error : faults.system();
      return { bId, Fault: { type: fault.type, Error: fault.errors } };
    }
  });
  return { BatchItemResponse: responses };
}
