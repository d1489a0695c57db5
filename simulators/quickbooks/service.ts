import { type SimClock, formatMetaTime } from './clock';
import { type ResolvedOptions } from './config';
import { SYSTEM_FIELDS, type WriteContext, text, without } from './entities/common';
import { checkEmailText } from './entities/contact';
import { setHomeAmount } from './entities/currency';
import { API_READ_ONLY, ENTITY_MODULES, NAME_LIST, TRANSACTIONS } from './entities/index';
import { type AppliedTxnType, applicationsOf, appliedTo, paymentsLinkedTo } from './entities/ledger';
import { voidedPayment } from './entities/payment';
import { type SalesFormEntity, paymentLinks, voidedSalesForm } from './entities/sales-form';
import { faults } from './errors';
import { fromCents, toCents } from './money';
import { type Company, type StoredRecord } from './store';
import {
  type ChangeEvent,
  type EntityName,
  type Json,
  type Operation,
  asArray,
  asJson,
  asString,
  clone,
  refValue,
} from './types';

export type EventSink = (event: ChangeEvent) => void;

export interface WriteOptions {
  includes?: ReadonlySet<string>;
  /** Control-API edits stand for a person in the QBO UI: no SyncToken needed, sparse by default. */
  asUser?: boolean;
}

/**
 * The accounting engine: every write (API, batch, control API) goes through here, so validation, SyncToken,
 * MetaData, tombstones and webhook events behave the same whoever makes the change.
 */
export class AccountingService {
  constructor(
    private readonly clock: SimClock,
    private readonly options: ResolvedOptions,
    private readonly emit: EventSink,
  ) {}

  // ---------------------------------------------------------------- reads

  /** Copies of records with read-time fields (balances, qualified names) filled in. */
  present(company: Company, entity: EntityName, records: StoredRecord[]): Json[] {
    const copies = records.map((record) => clone(record.data));
    ENTITY_MODULES[entity].decorate?.(company, copies);
    return copies;
  }

  read(company: Company, entity: EntityName, id: string): Json {
    const record = company.get(entity, id);
    if (!record) throw faults.objectNotFound();
    const [copy] = this.present(company, entity, [record]);
    return copy ?? {};
  }

  // ---------------------------------------------------------------- create / update

  create(company: Company, entity: EntityName, input: Json, opts: WriteOptions = {}): Json {
    if (API_READ_ONLY.has(entity) && !opts.asUser) throw faults.unsupportedOperation('Create', entity);
    const module = ENTITY_MODULES[entity];
    const explicitId = opts.asUser ? asString(input.Id) : undefined;
    const id = explicitId ?? company.peekId(entity);
    const data = without(clone(input), [...SYSTEM_FIELDS, ...module.readOnly]);
    const prepared = module.prepare(this.context(company, 'create', id, undefined, opts), data);
    const nowMs = this.clock.nowMs();
    const stored: StoredRecord = {
      data: {
        ...prepared,
        Id: id,
        SyncToken: '0',
        MetaData: this.meta(nowMs, nowMs),
        domain: 'QBO',
        sparse: false,
      },
      createdMs: nowMs,
      updatedMs: nowMs,
    };
    company.table(entity).set(id, stored);
    company.noteId(entity, id);
    this.raise(company, entity, id, 'Create');
    if (entity === 'Payment') this.refreshLinked(company, applicationsOf(prepared));
    return this.read(company, entity, id);
  }

  update(company: Company, entity: EntityName, input: Json, opts: WriteOptions = {}): Json {
    if (API_READ_ONLY.has(entity) && !opts.asUser) throw faults.unsupportedOperation('Update', entity);
    const module = ENTITY_MODULES[entity];
    const existing = this.current(company, entity, input, opts.asUser === true);
    if (existing.voided)
      throw faults.business('This transaction has been voided and can no longer be changed.');
    const sparse = opts.asUser ? input.sparse !== false : input.sparse === true;
    const strip = [...SYSTEM_FIELDS, ...module.readOnly];
    // Sparse: only the fields sent change (a Line array still replaces every line). Full: omitted fields are cleared.
    const base = sparse ? without(clone(existing.data), [...strip, ...(module.recomputed ?? [])]) : {};
    const data = { ...base, ...without(clone(input), strip) };
    const id = String(existing.data.Id);
    const before = existing.data;
    const paymentLinksBefore = entity === 'Payment' ? applicationsOf(before) : [];
    const prepared = module.prepare(this.context(company, 'update', id, before, opts), data);
    this.commit(company, entity, existing, prepared);
    const deactivated = NAME_LIST.has(entity) && before.Active !== false && prepared.Active === false;
    this.raise(company, entity, id, deactivated ? this.options.deactivateOperation : 'Update');
    if (entity === 'Payment')
      this.refreshLinked(company, [...paymentLinksBefore, ...applicationsOf(prepared)]);
    return this.read(company, entity, id);
  }

  // ---------------------------------------------------------------- transaction operations

  /** Hard delete (transactions only): the record is gone; CDC keeps a tombstone. */
  deleteTransaction(company: Company, entity: EntityName, input: Json): Json {
    if (!TRANSACTIONS.has(entity)) throw faults.unsupportedOperation('Delete', entity);
    const existing = this.current(company, entity, input, false);
    const id = String(existing.data.Id);
    if (entity === 'Invoice' || entity === 'CreditMemo') this.refuseIfApplied(company, entity, id, 'delete');
    const links = entity === 'Payment' ? applicationsOf(existing.data) : [];
    company.remove(entity, id, this.clock.nowMs());
    this.raise(company, entity, id, 'Delete');
    this.refreshLinked(company, links);
    return { domain: 'QBO', status: 'Deleted', Id: id };
  }

  /** Void of an Invoice, CreditMemo or RefundReceipt: the record stays, zeroed, and refuses later edits. */
  voidSalesForm(company: Company, entity: SalesFormEntity, input: Json): Json {
    const existing = this.current(company, entity, input, false);
    const id = String(existing.data.Id);
    if (entity === 'Invoice' || entity === 'CreditMemo') this.refuseIfApplied(company, entity, id, 'void');
    this.commit(
      company,
      entity,
      existing,
      without(voidedSalesForm(existing.data, this.options.voidNoteMarked), SYSTEM_FIELDS),
    );
    existing.voided = true;
    this.raise(company, entity, id, 'Void');
    return this.read(company, entity, id);
  }

  voidPayment(company: Company, input: Json): Json {
    const existing = this.current(company, 'Payment', input, false);
    const id = String(existing.data.Id);
    const links = applicationsOf(existing.data);
    this.commit(
      company,
      'Payment',
      existing,
      without(voidedPayment(existing.data, this.options.voidNoteMarked), SYSTEM_FIELDS),
    );
    existing.voided = true;
    this.raise(company, 'Payment', id, 'Void');
    this.refreshLinked(company, links);
    return this.read(company, 'Payment', id);
  }

  /** POST /{entity}/{Id}/send: EmailStatus=EmailSent, DeliveryInfo, sendTo overwrites BillEmail (docs/quickbooks-api.md §4.1). */
  sendSalesForm(company: Company, entity: SalesFormEntity, id: string, sendTo: string | undefined): Json {
    const existing = company.get(entity, id);
    if (!existing) throw faults.objectNotFound();
    const address = sendTo ?? text(asJson(existing.data.BillEmail)?.Address);
    if (address === undefined || address === '') {
      throw faults.business(
        `We need an email address to send this ${entity} (BillEmail or sendTo).`,
        'BillEmail',
      );
    }
    checkEmailText(sendTo === undefined ? 'BillEmail.Address' : 'sendTo', address);
    const nowMs = this.clock.nowMs();
    const data = without(existing.data, SYSTEM_FIELDS);
    if (sendTo !== undefined) data.BillEmail = { Address: sendTo };
    data.EmailStatus = 'EmailSent';
    data.DeliveryInfo = { DeliveryType: 'Email', DeliveryTime: formatMetaTime(nowMs) };
    this.commit(company, entity, existing, data);
    this.raise(company, entity, id, 'Emailed');
    return this.read(company, entity, id);
  }

  /** Printing happens only in the QBO UI; the control API stands in for it. */
  markPrinted(company: Company, id: string): Json {
    const existing = company.get('Invoice', id);
    if (!existing) throw faults.objectNotFound();
    this.commit(company, 'Invoice', existing, {
      ...without(existing.data, SYSTEM_FIELDS),
      PrintStatus: 'PrintComplete',
    });
    this.raise(company, 'Invoice', id, 'Update');
    return this.read(company, 'Invoice', id);
  }

  /** UI merge of name-list records: transactions move to the survivor, the merged record disappears. */
  merge(company: Company, entity: 'Customer' | 'Item', fromId: string, toId: string): Json {
    const from = company.get(entity, fromId);
    const to = company.get(entity, toId);
    if (!from || !to || fromId === toId) throw faults.objectNotFound();
    const nameField = entity === 'Customer' ? 'DisplayName' : 'Name';
    const survivorRef = { value: toId, name: to.data[nameField] };
    for (const txnEntity of ['Invoice', 'Payment', 'CreditMemo', 'RefundReceipt'] as const) {
      for (const txn of company.all(txnEntity)) {
        const next = clone(without(txn.data, SYSTEM_FIELDS));
        let moved = false;
        if (entity === 'Customer' && refValue(next.CustomerRef) === fromId) {
          next.CustomerRef = survivorRef;
          moved = true;
        }
        if (entity === 'Item') {
          for (const line of asArray(next.Line)) {
            const detail = asJson(asJson(line)?.SalesItemLineDetail);
            if (detail && refValue(detail.ItemRef) === fromId) {
              detail.ItemRef = survivorRef;
              moved = true;
            }
          }
        }
        if (moved) {
          this.commit(company, txnEntity, txn, next);
          this.raise(company, txnEntity, String(txn.data.Id), 'Update');
        }
      }
    }
    for (const child of company.all(entity)) {
      if (refValue(child.data.ParentRef) === fromId) {
        this.commit(company, entity, child, {
          ...without(child.data, SYSTEM_FIELDS),
          ParentRef: { value: toId },
        });
      }
    }
    company.remove(entity, fromId, this.clock.nowMs());
    this.commit(company, entity, to, without(to.data, SYSTEM_FIELDS));
    this.raise(company, entity, toId, 'Merge', fromId);
    return this.read(company, entity, toId);
  }

  // ---------------------------------------------------------------- internals

  private context(
    company: Company,
    op: 'create' | 'update',
    id: string,
    existing: Json | undefined,
    opts: WriteOptions,
  ): WriteContext {
    return {
      company,
      nowMs: this.clock.nowMs(),
      op,
      id,
      existing,
      includes: opts.includes ?? new Set(),
      options: this.options,
    };
  }

  /** The stored record an update/delete/void names, after the Id and SyncToken checks. */
  private current(company: Company, entity: EntityName, input: Json, ignoreSyncToken: boolean): StoredRecord {
    const id = asString(input.Id);
    if (id === undefined || id === '') throw faults.required('Id');
    const existing = company.get(entity, id);
    if (!existing) throw faults.objectNotFound();
    if (ignoreSyncToken) return existing;
    const syncToken = asString(input.SyncToken);
    if (syncToken === undefined || syncToken === '') throw faults.required('SyncToken');
    if (syncToken !== existing.data.SyncToken) throw faults.stale();
    return existing;
  }

  /** Stores new field values: SyncToken + 1, LastUpdatedTime = now. */
  private commit(company: Company, entity: EntityName, record: StoredRecord, fields: Json): void {
    const nowMs = this.clock.nowMs();
    const id = String(record.data.Id);
    record.data = {
      ...fields,
      Id: id,
      SyncToken: String(Number(record.data.SyncToken ?? 0) + 1),
      MetaData: this.meta(record.createdMs, nowMs),
      domain: 'QBO',
      sparse: false,
    };
    record.updatedMs = nowMs;
    company.table(entity).set(id, record);
  }

  private meta(createdMs: number, updatedMs: number): Json {
    return { CreateTime: formatMetaTime(createdMs), LastUpdatedTime: formatMetaTime(updatedMs) };
  }

  private refuseIfApplied(company: Company, entity: AppliedTxnType, id: string, action: string): void {
    if (appliedTo(company, entity, id) > 0 || paymentsLinkedTo(company, entity, id).length > 0) {
      // UNCONFIRMED code/text: QBO refuses to void/delete an invoice (or credit memo) a payment applies.
      const what = entity === 'Invoice' ? 'invoice' : 'credit memo';
      throw faults.business(
        `You can't ${action} this ${what} because it has payments applied. Remove the payments first.`,
      );
    }
  }

  /**
   * A payment write changes the Balance (RemainingCredit) and LinkedTxn of the invoices and credit memos it
   * touches. QBO records that as a change to them (new SyncToken, LastUpdatedTime, Update webhook): UNCONFIRMED
   * but consistent with CDC reporting such invoices; it also makes a stale SyncToken after a payment a case the
   * sync must handle.
   */
  private refreshLinked(
    company: Company,
    applications: Array<{ txnType: AppliedTxnType; txnId: string }>,
  ): void {
    const keys = new Map(applications.map((a) => [`${a.txnType}:${a.txnId}`, a]));
    for (const { txnType, txnId } of keys.values()) {
      const txn = company.get(txnType, txnId);
      if (!txn) continue;
      const total = toCents(txn.data.TotalAmt) ?? 0;
      const balance = txn.voided ? 0 : total - appliedTo(company, txnType, txnId);
      const linked = paymentLinks(paymentsLinkedTo(company, txnType, txnId));
      const fields = without(txn.data, SYSTEM_FIELDS);
      const sameLinks = JSON.stringify(fields.LinkedTxn ?? []) === JSON.stringify(linked);
      if (fields.Balance === fromCents(balance) && sameLinks) continue;
      fields.Balance = fromCents(balance);
      setHomeAmount(fields, 'HomeBalance', balance);
      if (txnType === 'CreditMemo') fields.RemainingCredit = fromCents(balance);
      if (linked.length > 0) fields.LinkedTxn = linked;
      else delete fields.LinkedTxn;
      this.commit(company, txnType, txn, fields);
      this.raise(company, txnType, txnId, 'Update');
    }
  }

  private raise(
    company: Company,
    entity: EntityName,
    id: string,
    operation: Operation,
    deletedId?: string,
  ): void {
    const event: ChangeEvent = { realmId: company.realmId, entity, id, operation, atMs: this.clock.nowMs() };
    if (deletedId !== undefined) event.deletedId = deletedId;
    this.emit(event);
  }
}
