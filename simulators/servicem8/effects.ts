/**
 * What a write does beyond storing the given fields: job numbers and status/flag stamps, jobmaterial
 * price consistency and default tax rates, job totals and the paid flag, unique item numbers, a single
 * default tax rate. Each effect that touches another record reports it as a RecordChange.
 */
import { type SimClock, ZERO_DATE } from './clock';
import { validationError } from './errors';
import { changedFieldNames, decimalOf, describe } from './fields';
import { formatDecimal, fromCents, toCents } from './money';
import { type RecordChange, type WriteOptions } from './records';
import { type ObjectName } from './schemas';
import { type FieldValue, type Sm8Record, type Store } from './store';
import { type PriceSource, type TotalsLine, jobTotals, reconcileUnitPrices } from './totals';

/** Job status → the date field stamped when a job enters that status. */
const STATUS_DATE_FIELD: Record<string, string> = {
  Quote: 'quote_date',
  'Work Order': 'work_order_date',
  Completed: 'completion_date',
  Unsuccessful: 'unsuccessful_date',
};

/** Job 0/1 flags and the read-only stamp each one sets when it turns on. */
const JOB_FLAG_STAMPS: Record<string, string> = {
  quote_sent: 'quote_sent_stamp',
  invoice_sent: 'invoice_sent_stamp',
  payment_processed: 'payment_processed_stamp',
  payment_received: 'payment_received_stamp',
};

export class WriteEffects {
  constructor(
    private readonly store: Store,
    private readonly clock: SimClock,
    private readonly rejectNegativeLines: () => boolean = () => false,
  ) {}

  /** Effects of a create, applied to the record before it is stored. */
  applyCreate(
    object: ObjectName,
    record: Sm8Record,
    input: Sm8Record,
    options: WriteOptions,
    editDate: string,
    related: RecordChange[],
  ): void {
    const actor = options.actorStaffUuid ?? '';
    switch (object) {
      case 'job': {
        if (input.generated_job_id === undefined) {
          record.generated_job_id = String(this.store.nextJobNumber++);
        } else {
          // A trusted insert with its own job number moves the sequence past it, as numbers never repeat.
          const given = Number.parseInt(String(input.generated_job_id), 10);
          if (Number.isSafeInteger(given) && given >= this.store.nextJobNumber)
            this.store.nextJobNumber = given + 1;
        }
        if (input.date === undefined) record.date = editDate;
        if (record.billing_address === '' && typeof record.job_address === 'string') {
          record.billing_address = record.job_address;
        }
        if (input.created_by_staff_uuid === undefined) record.created_by_staff_uuid = actor;
        this.stampJobStatus(undefined, record, input, actor, editDate);
        this.stampJobFlags(undefined, record, input, editDate);
        break;
      }
      case 'jobmaterial':
        if (!options.trusted) this.assertJobExists(record.job_uuid);
        if (!options.trusted) this.assertNotNegative(input);
        if (input.tax_rate_uuid === undefined) record.tax_rate_uuid = this.defaultLineTaxRate(record);
        this.reconcileLine(undefined, record, input);
        break;
      case 'jobpayment':
        if (!options.trusted) this.assertJobExists(record.job_uuid);
        if (input.timestamp === undefined) record.timestamp = editDate;
        if (input.actioned_by_uuid === undefined) record.actioned_by_uuid = actor;
        break;
      case 'note':
        if (input.create_date === undefined) record.create_date = editDate;
        record.edit_by_staff_uuid = actor;
        break;
      case 'material':
        this.assertItemNumberFree(record);
        break;
      case 'taxrate':
        if (record.is_default_tax_rate === 1)
          related.push(...this.clearOtherDefaultTaxRates(String(record.uuid)));
        break;
      default:
        break;
    }
  }

  /** Effects of an update, applied to the record before it is stored. */
  applyUpdate(
    object: ObjectName,
    before: Sm8Record,
    record: Sm8Record,
    input: Sm8Record,
    options: WriteOptions,
    editDate: string,
    related: RecordChange[],
  ): void {
    const actor = options.actorStaffUuid ?? '';
    switch (object) {
      case 'job':
        this.stampJobStatus(before, record, input, actor, editDate);
        this.stampJobFlags(before, record, input, editDate);
        break;
      case 'jobmaterial':
        if (input.job_uuid !== undefined) this.assertJobExists(record.job_uuid);
        if (!options.trusted) this.assertNotNegative(input);
        this.reconcileLine(before, record, input);
        break;
      case 'jobpayment':
        if (input.job_uuid !== undefined) this.assertJobExists(record.job_uuid);
        break;
      case 'note':
        record.edit_by_staff_uuid = actor;
        break;
      case 'material':
        if (input.item_number !== undefined || input.active === 1) this.assertItemNumberFree(record);
        break;
      case 'taxrate':
        if (record.is_default_tax_rate === 1 && before.is_default_tax_rate !== 1) {
          related.push(...this.clearOtherDefaultTaxRates(String(record.uuid)));
        }
        break;
      default:
        break;
    }
  }

  /** Recomputes what depends on the record just written (job totals, paid flag). */
  afterWrite(
    object: ObjectName,
    before: Sm8Record | undefined,
    after: Sm8Record,
    editDate: string,
  ): RecordChange[] {
    const jobs = new Set<string>();
    if (object === 'jobmaterial' || object === 'jobpayment') {
      if (typeof after.job_uuid === 'string' && after.job_uuid !== '') jobs.add(after.job_uuid);
      if (before && typeof before.job_uuid === 'string' && before.job_uuid !== '') jobs.add(before.job_uuid);
    }
    const changes: RecordChange[] = [];
    for (const jobUuid of jobs) {
      const change = this.recomputeJob(jobUuid, editDate);
      if (change) changes.push(change);
    }
    return changes;
  }

  private stampJobStatus(
    before: Sm8Record | undefined,
    record: Sm8Record,
    input: Sm8Record,
    actor: string,
    editDate: string,
  ): void {
    const status = String(record.status);
    if (before && before.status === status) return;
    const dateField = STATUS_DATE_FIELD[status];
    if (dateField && input[dateField] === undefined) record[dateField] = editDate;
    if (status === 'Completed') record.completion_actioned_by_uuid = actor;
  }

  private stampJobFlags(
    before: Sm8Record | undefined,
    record: Sm8Record,
    input: Sm8Record,
    editDate: string,
  ): void {
    for (const [flag, stampField] of Object.entries(JOB_FLAG_STAMPS)) {
      if (input[flag] === undefined) continue;
      const was = before ? before[flag] : 0;
      if (record[flag] === was) continue;
      // Turning a flag on records when; turning it off clears the stamp (sim decision).
      if (input[stampField] === undefined) record[stampField] = record[flag] === 1 ? editDate : ZERO_DATE;
    }
  }

  private assertJobExists(jobUuid: FieldValue | undefined): void {
    if (typeof jobUuid !== 'string' || jobUuid === '' || !this.store.has('job', jobUuid)) {
      throw validationError(`job_uuid ${describe(jobUuid ?? '')} does not refer to an existing job`);
    }
  }

  /**
   * Negative quantities and prices are how ServiceM8 users enter discounts and credits (the spec has no
   * discount field and sets no minimum), so they are accepted unless `rejectNegativeLines` says otherwise.
   */
  private assertNotNegative(input: Sm8Record): void {
    if (!this.rejectNegativeLines()) return;
    for (const field of ['quantity', 'price', 'displayed_amount']) {
      if (input[field] !== undefined && decimalOf(input, field) < 0n) {
        throw validationError(`jobmaterial.${field} must not be negative, got ${describe(input[field])}`);
      }
    }
  }

  private assertItemNumberFree(record: Sm8Record): void {
    const itemNumber = record.item_number;
    if (typeof itemNumber !== 'string' || itemNumber === '' || record.active !== 1) return;
    const clash = this.store.where(
      'material',
      (other) => other.uuid !== record.uuid && other.active === 1 && other.item_number === itemNumber,
    );
    if (clash.length > 0) {
      throw validationError(`material.item_number '${itemNumber}' is already used by another material`);
    }
  }

  private clearOtherDefaultTaxRates(keepUuid: string): RecordChange[] {
    const changes: RecordChange[] = [];
    for (const other of this.store.where(
      'taxrate',
      (r) => r.is_default_tax_rate === 1 && r.uuid !== keepUuid,
    )) {
      this.store.put('taxrate', { ...other, is_default_tax_rate: 0, edit_date: this.store.lastEditDate });
      changes.push({
        object: 'taxrate',
        uuid: String(other.uuid),
        changedFields: ['is_default_tax_rate'],
        created: false,
        at: this.clock.now(),
      });
    }
    return changes;
  }

  /** A new line without a tax rate takes its material's, else the account's default tax rate. */
  private defaultLineTaxRate(line: Sm8Record): string {
    const materialUuid = line.material_uuid;
    if (typeof materialUuid === 'string' && materialUuid !== '') {
      const material = this.store.get('material', materialUuid);
      if (material && typeof material.tax_rate_uuid === 'string' && material.tax_rate_uuid !== '') {
        return material.tax_rate_uuid;
      }
    }
    const fallback = this.store.where('taxrate', (r) => r.is_default_tax_rate === 1 && r.active === 1)[0];
    return fallback ? String(fallback.uuid) : '';
  }

  /** Tax rate percentage (ten-thousandths) of a line; an unknown or empty tax rate counts as 0%. */
  private lineRate(line: Sm8Record): bigint {
    const taxRateUuid = line.tax_rate_uuid;
    if (typeof taxRateUuid !== 'string' || taxRateUuid === '') return 0n;
    const rate = this.store.get('taxrate', taxRateUuid);
    return rate ? decimalOf(rate, 'amount') : 0n;
  }

  /** Keeps price/displayed_amount (and cost/displayed_cost) consistent; see totals.ts. */
  private reconcileLine(before: Sm8Record | undefined, line: Sm8Record, input: Sm8Record): void {
    const taxInclusive = line.displayed_amount_is_tax_inclusive === '1';
    const ratePercent = this.lineRate(line);
    const rateChanged =
      before !== undefined &&
      input.tax_rate_uuid !== undefined &&
      before.tax_rate_uuid !== line.tax_rate_uuid;
    const flagChanged =
      before !== undefined &&
      before.displayed_amount_is_tax_inclusive !== line.displayed_amount_is_tax_inclusive;
    const pairs: Array<[string, string]> = [
      ['price', 'displayed_amount'],
      ['cost', 'displayed_cost'],
    ];
    for (const [exField, shownField] of pairs) {
      const source: PriceSource = taxInclusive
        ? input[shownField] !== undefined
          ? 'displayed_amount'
          : input[exField] !== undefined
            ? 'price'
            : 'none'
        : input[exField] !== undefined
          ? 'price'
          : input[shownField] !== undefined
            ? 'displayed_amount'
            : 'none';
      const result = reconcileUnitPrices({
        price: decimalOf(line, exField),
        displayedAmount: decimalOf(line, shownField),
        taxInclusive,
        ratePercent,
        source,
        keepDisplayed: rateChanged && !flagChanged,
      });
      line[exField] = formatDecimal(result.price);
      line[shownField] = formatDecimal(result.displayedAmount);
    }
  }

  /** Totals lines of a job, as totals.ts needs them. */
  jobLines(jobUuid: string): TotalsLine[] {
    return this.store
      .where('jobmaterial', (line) => line.job_uuid === jobUuid)
      .map((line) => ({
        quantity: decimalOf(line, 'quantity'),
        price: decimalOf(line, 'price'),
        displayedAmount: decimalOf(line, 'displayed_amount'),
        taxInclusive: line.displayed_amount_is_tax_inclusive === '1',
        ratePercent: this.lineRate(line),
        active: line.active === 1,
      }));
  }

  /**
   * Recomputes a job's `total_invoice_amount` from its active lines and, when the job has any payment
   * records, `payment_received` (1 when at least one active payment exists and active payments sum to at
   * least the total). A job whose derived fields change gets a new edit_date and a change event.
   */
  recomputeJob(jobUuid: string, editDate: string): RecordChange | undefined {
    const job = this.store.get('job', jobUuid);
    if (!job) return undefined;
    const totalCents = jobTotals(this.jobLines(jobUuid)).incTaxCents;
    const updated: Sm8Record = { ...job, total_invoice_amount: formatDecimal(fromCents(totalCents)) };
    const payments = this.store.where('jobpayment', (p) => p.job_uuid === jobUuid);
    if (payments.length > 0) {
      const active = payments.filter((p) => p.active === 1);
      const paidCents = active.reduce((sum, p) => sum + toCents(decimalOf(p, 'amount')), 0n);
      const paid = active.length > 0 && paidCents >= totalCents ? 1 : 0;
      if (paid !== job.payment_received) {
        updated.payment_received = paid;
        updated.payment_received_stamp = paid === 1 ? editDate : ZERO_DATE;
      }
    }
    const changedFields = changedFieldNames(job, updated);
    if (changedFields.length === 0) return undefined;
    updated.edit_date = editDate;
    this.store.put('job', updated);
    return { object: 'job', uuid: jobUuid, changedFields, created: false, at: this.clock.now() };
  }
}
