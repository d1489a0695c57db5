/**
 * ServiceM8 records for tests, made as a user would make them in the ServiceM8 UI (through the simulator's
 * control API, which fires webhooks and keeps totals like the real service).
 */
import crypto from 'node:crypto';
import type { RunningServiceM8Simulator } from '../../simulators/servicem8';

export interface LineSpec {
  name: string;
  qty: string;
  /** Unit price as shown: ex-tax unless `inc`. */
  unit: string;
  tax: string;
  inc?: boolean;
  materialUuid?: string;
}

export class Sm8Fixtures {
  readonly taxRates: Record<string, string> = {};

  constructor(readonly sm8: RunningServiceM8Simulator) {}

  taxRate(name: string, amount: string): string {
    const existing = this.taxRates[name];
    if (existing) return existing;
    const uuid = crypto.randomUUID();
    this.sm8.control.insert('taxrate', { uuid, name, amount, active: 1 });
    this.taxRates[name] = uuid;
    return uuid;
  }

  client(name: string, email = `accounts@${name.toLowerCase().replace(/[^a-z]+/g, '')}.example`): string {
    const uuid = crypto.randomUUID();
    this.sm8.control.insert('company', { uuid, name, active: 1, address_street: '1 Test Street' });
    this.sm8.control.insert('companycontact', {
      uuid: crypto.randomUUID(),
      company_uuid: uuid,
      first: 'Alex',
      last: 'Payer',
      email,
      type: 'BILLING',
      is_primary_contact: '1',
      active: 1,
    });
    return uuid;
  }

  material(name: string, price: string, tax = 'GST', itemNumber?: string): string {
    const uuid = crypto.randomUUID();
    this.sm8.control.insert('material', {
      uuid,
      name,
      price,
      cost: '0',
      tax_rate_uuid: this.taxRates[tax] ?? '',
      ...(itemNumber ? { item_number: itemNumber } : {}),
      active: 1,
    });
    return uuid;
  }

  line(jobUuid: string, spec: LineSpec, sortOrder: number): string {
    const uuid = crypto.randomUUID();
    this.sm8.control.insert('jobmaterial', {
      uuid,
      job_uuid: jobUuid,
      material_uuid: spec.materialUuid ?? '',
      name: spec.name,
      quantity: spec.qty,
      ...(spec.inc ? { displayed_amount: spec.unit } : { price: spec.unit }),
      displayed_amount_is_tax_inclusive: spec.inc ? '1' : '0',
      tax_rate_uuid: this.taxRates[spec.tax] ?? spec.tax,
      sort_order: String(sortOrder),
      active: 1,
    });
    return uuid;
  }

  /** A completed job with lines; approved (payment_processed 1) unless told otherwise. */
  job(opts: { clientUuid: string; lines: LineSpec[]; approved?: boolean }): string {
    const uuid = crypto.randomUUID();
    this.sm8.control.insert('job', {
      uuid,
      status: 'Completed',
      company_uuid: opts.clientUuid,
      completion_date: '2026-11-20 15:30:00',
      job_address: '1 Test Street',
      payment_processed: 0,
      active: 1,
    });
    opts.lines.forEach((l, i) => this.line(uuid, l, i + 1));
    if (opts.approved !== false) this.approve(uuid);
    return uuid;
  }

  approve(jobUuid: string): void {
    this.sm8.control.update('job', jobUuid, { payment_processed: 1 });
  }

  get(object: 'job' | 'jobmaterial' | 'note' | 'company', uuid: string): Record<string, unknown> {
    const r = this.sm8.store.get(object, uuid);
    if (!r) throw new Error(`no ${object} ${uuid} in the ServiceM8 simulator`);
    return r as Record<string, unknown>;
  }

  notesOf(jobUuid: string): string[] {
    return this.sm8.store
      .list('note')
      .filter((n) => (n as Record<string, unknown>).related_object_uuid === jobUuid)
      .map((n) => String((n as Record<string, unknown>).note));
  }
}
