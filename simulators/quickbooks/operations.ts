import { type Simulator } from './context';
import { ENTITY_BY_SEGMENT, TRANSACTIONS } from './entities/index';
import { isSalesForm } from './entities/sales-form';
import { faults } from './errors';
import { executeQuery, parseQuery } from './query';
import { type Company } from './store';
import { type EntityName, type Json, isJson } from './types';

/** Runs one write (`operation` as in `?operation=` or a batch item) and returns the entity JSON. */
export function executeWrite(
  sim: Simulator,
  company: Company,
  entity: EntityName,
  operation: string | undefined,
  payload: unknown,
  includes: ReadonlySet<string>,
): Json {
  if (!isJson(payload)) throw faults.required(entity);
  const op = (operation ?? '').toLowerCase();
  switch (op) {
    case '':
    case 'create':
      // A plain POST carrying an Id is an update, as in QBO.
      if (op === '' && payload.Id !== undefined)
        return sim.service.update(company, entity, payload, { includes });
      return sim.service.create(company, entity, payload, { includes });
    case 'update':
      // Payment (like SalesReceipt) is voided by a sparse update with include=void (Intuit's Payment page);
      // RefundReceipt is assumed to follow the receipts (UNCONFIRMED).
      if (includes.has('void')) {
        if (entity === 'Payment') return sim.service.voidPayment(company, payload);
        if (entity === 'RefundReceipt') return sim.service.voidSalesForm(company, entity, payload);
        throw faults.unsupportedOperation('Void', entity);
      }
      return sim.service.update(company, entity, payload, { includes });
    case 'delete':
      if (!TRANSACTIONS.has(entity)) throw faults.unsupportedOperation('Delete', entity);
      return sim.service.deleteTransaction(company, entity, payload);
    case 'void':
      // operation=void: Invoice (documented); CreditMemo and RefundReceipt (UNCONFIRMED: they raise Void
      // webhooks). On a Payment QBO's answer is an error (PHP SDK #479 saw "Unknown Operation" on BillPayment)
      // unless the switch `paymentOperationVoid` says otherwise.
      if (isSalesForm(entity)) return sim.service.voidSalesForm(company, entity, payload);
      if (entity === 'Payment' && sim.options.paymentOperationVoid)
        return sim.service.voidPayment(company, payload);
      throw faults.unsupportedOperation('Void', entity);
    default:
      throw faults.unsupportedOperation(operation ?? '', entity);
  }
}

export function runQuery(sim: Simulator, company: Company, sql: string | undefined): Json {
  if (sql === undefined || sql.trim() === '')
    throw faults.queryParse('Encountered "<EOF>" at line 1, column 0.');
  const query = parseQuery(sql, { maxInValues: sim.options.queryMaxInValues });
  const records = sim.service.present(company, query.entity, company.all(query.entity));
  return executeQuery(query, records);
}

export function entityForSegment(segment: string | undefined): EntityName | undefined {
  return segment === undefined ? undefined : ENTITY_BY_SEGMENT.get(segment);
}
