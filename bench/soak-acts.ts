/**
 * What the soak's people do once jobs exist (bench/soak.ts): payments on both sides, payment deletions and
 * voids, client changes and renames after export, un-approve/re-approve, deletions and inactivations on both
 * sides, QuickBooks merges, invoice voids and tax changes, through the simulators' control APIs only.
 *
 * The acts are planned up front in seeded order (planActs: every payment the size asks for, and at least
 * one of every kind), then done one by one over the fault window. An act on a QuickBooks invoice (a payment
 * there, a void, a merge of its customer) waits for the job's invoice to be exported: it is put back a few
 * places in the queue until some job has one, and what is still waiting at the end is counted as not done.
 */
import {
  act,
  approve,
  jobTotal,
  pay,
  qboInvoiceOf,
  type JobInfo,
  type People,
  type Sm8Refs,
} from './soak-business';
import type { Rec } from './harness';

const cents = (n: number) => Math.round(n * 100) / 100;

/** The bookkeeper receives a payment in QuickBooks against the job's invoice (PAY-2). */
function payInQbo(p: People, job: JobInfo, invoice: Rec): string | undefined {
  const balance = Number(invoice.Balance ?? 0);
  if (balance <= 0) return undefined;
  // Parts of the balance (10–50 %), so an invoice takes several payments, as instalments do.
  const amount = cents(Math.min(balance, Math.max(1, balance * (0.1 + p.rng.next() * 0.4))));
  let id: string | undefined;
  if (
    act(p, 'qbo: payment', () => {
      const pmt = p.qbo.control.upsertRecord('Payment', {
        CustomerRef: invoice.CustomerRef,
        TotalAmt: amount,
        TxnDate: '2026-11-29',
        Line: [{ Amount: amount, LinkedTxn: [{ TxnId: String(invoice.Id), TxnType: 'Invoice' }] }],
      });
      id = String(pmt.Id);
    })
  )
    job.acts.push(`paid ${amount.toFixed(2)} in QuickBooks (payment ${id})`);
  return id;
}

export interface ActState {
  qboPayments: Array<{ id: string; job: JobInfo }>;
  sm8Payments: Array<{ uuid: string; job: JobInfo }>;
  unapproved: JobInfo[];
  paymentsMade: number;
  /**
   * The exported invoices as last listed, until an act is done (`actDone`). Listing them clones every
   * invoice with its balance; while acts wait for one, the loop asked for them ~2,000 times a second in the
   * long run, and the simulators, in this process, stalled for tens of seconds under it.
   */
  exported?: Array<{ job: JobInfo; invoice: Rec }>;
}

export function newActState(): ActState {
  return { qboPayments: [], sm8Payments: [], unapproved: [], paymentsMade: 0 };
}

/** After an act is done the apps' records changed: the exported invoices are listed again when next needed. */
export function actDone(st: ActState): void {
  st.exported = undefined;
}

export type ActKind =
  | 'sm8 payment'
  | 'qbo payment'
  | 'qbo payment void or delete'
  | 'sm8 payment delete'
  | 'sm8 job client change'
  | 'sm8 client rename'
  | 'sm8 un-approve'
  | 'sm8 re-approve'
  | 'sm8 job delete'
  | 'sm8 line after approval'
  | 'qbo invoice void'
  | 'qbo customer merge'
  | 'qbo customer inactivate'
  | 'sm8 client delete'
  | 'sm8 tax rate edit'
  | 'qbo tax code';

/** Other acts per payment (the old random mix's proportions), each kind at least once. */
const PER_PAYMENT: Array<[ActKind, number]> = [
  ['qbo payment void or delete', 0.08],
  ['sm8 payment delete', 0.08],
  ['sm8 job client change', 0.12],
  ['sm8 client rename', 0.08],
  ['sm8 un-approve', 0.12],
  ['sm8 re-approve', 0.08],
  ['sm8 job delete', 0.06],
  ['sm8 line after approval', 0.1],
  ['qbo invoice void', 0.06],
  ['qbo customer merge', 0.03],
  ['qbo customer inactivate', 0.03],
  ['sm8 client delete', 0.04],
  // Once a run: a linked rate edited by mistake, reverted by TAX-3 at the next poll. Lines saved meanwhile
  // keep that rate's tax, so their jobs are held TOTAL_MISMATCH (rightly): at 0.04 a payment the long run
  // had a rate edited most of the time and held a quarter of its jobs, and a business nobody keeps.
  ['sm8 tax rate edit', 0],
  ['qbo tax code', 0.04],
];

/** The acts of a run, in seeded order: the size's payments (55 % in ServiceM8) and the other kinds. */
export function planActs(p: People): ActKind[] {
  const n = p.size.payments;
  const sm8 = Math.round(n * 0.55);
  const plan: ActKind[] = [
    ...Array<ActKind>(sm8).fill('sm8 payment'),
    ...Array<ActKind>(n - sm8).fill('qbo payment'),
  ];
  for (const [kind, per] of PER_PAYMENT)
    plan.push(...Array<ActKind>(Math.max(1, Math.round(n * per))).fill(kind));
  // Fisher-Yates with the seeded generator (an act with nothing to act on yet waits: doAct).
  for (let i = plan.length - 1; i > 0; i--) {
    const j = p.rng.int(i + 1);
    [plan[i], plan[j]] = [plan[j] as ActKind, plan[i] as ActKind];
  }
  return plan;
}

/** Approved jobs whose QuickBooks invoice exists now (exported), with the invoice (kept until an act is done). */
function exported(p: People, jobs: JobInfo[], st: ActState): Array<{ job: JobInfo; invoice: Rec }> {
  if (st.exported) return st.exported;
  const byJob = new Map<string, Rec>();
  for (const i of p.qbo.control.listRecords('Invoice')) {
    const m = /\[sm8:job:([^\]]+)\]/.exec(String(i.PrivateNote ?? ''));
    if (m?.[1]) byJob.set(m[1], i as Rec);
  }
  const out: Array<{ job: JobInfo; invoice: Rec }> = [];
  for (const job of jobs) {
    const invoice = byJob.get(job.uuid);
    if (invoice) out.push({ job, invoice });
  }
  st.exported = out;
  return out;
}

/**
 * Does one act; 'wait' when there is nothing to act on yet (no exported invoice, no payment to delete, no
 * un-approved job): the caller tries it again later.
 */
export function doAct(
  p: People,
  refs: Sm8Refs,
  st: ActState,
  approvedJobs: JobInfo[],
  kind: ActKind,
): 'done' | 'wait' {
  const rng = p.rng;
  const job = rng.pick(approvedJobs);
  if (!job) return 'wait';
  switch (kind) {
    case 'sm8 payment': {
      // A part, or more than the total for an 'overpaid' job.
      const total = jobTotal(p, job);
      if (total <= 0) return 'wait';
      const amount = job.kind === 'overpaid' ? total + 25 : cents(total * (0.2 + rng.next() * 0.5));
      st.sm8Payments.push({ uuid: pay(p, job, amount), job });
      st.paymentsMade++;
      return 'done';
    }
    case 'qbo payment': {
      const open = exported(p, approvedJobs, st).filter((e) => Number(e.invoice.Balance ?? 0) > 0);
      const target = rng.pick(open);
      if (!target) return 'wait';
      const id = payInQbo(p, target.job, target.invoice);
      if (id) st.qboPayments.push({ id, job: target.job });
      st.paymentsMade++;
      return 'done';
    }
    case 'qbo payment void or delete': {
      const victim = st.qboPayments.splice(rng.int(st.qboPayments.length), 1)[0];
      if (!victim) return 'wait';
      const action = rng.chance(0.5) ? 'void' : 'delete';
      if (
        act(p, `qbo: ${action} payment`, () =>
          p.qbo.control.voidOrDelete({ action, entity: 'Payment', id: victim.id }),
        )
      )
        victim.job.acts.push(`${action}d QuickBooks payment ${victim.id}`);
      return 'done';
    }
    case 'sm8 payment delete': {
      const victim = st.sm8Payments[rng.int(st.sm8Payments.length)];
      if (!victim) return 'wait';
      if (act(p, 'sm8: delete payment', () => p.sm8.control.update('jobpayment', victim.uuid, { active: 0 })))
        victim.job.acts.push(`deleted ServiceM8 payment ${victim.uuid} (PAY-4 puts a sent one back)`);
      return 'done';
    }
    case 'sm8 job client change': {
      const other = rng.pick(refs.clients);
      const after = qboInvoiceOf(p, job.uuid) ? ' after export' : '';
      if (
        act(p, 'sm8: change job client', () => p.sm8.control.update('job', job.uuid, { company_uuid: other }))
      )
        job.acts.push(`client changed to ${other}${after}`);
      return 'done';
    }
    case 'sm8 client rename': {
      const company = p.sm8.store.get('company', job.client);
      if (!company) return 'wait';
      act(p, 'sm8: rename client', () =>
        p.sm8.control.update('company', job.client, {
          name: `${String(company.name).slice(0, 80)} renamed ${rng.int(99)}`,
        }),
      );
      return 'done';
    }
    case 'sm8 un-approve':
      approve(p, job, 0);
      st.unapproved.push(job);
      return 'done';
    case 'sm8 re-approve': {
      const back = st.unapproved.shift();
      if (!back) return 'wait';
      approve(p, back, 1);
      return 'done';
    }
    case 'sm8 job delete':
      if (act(p, 'sm8: delete job', () => p.sm8.control.update('job', job.uuid, { active: 0 })))
        job.acts.push('job deleted in ServiceM8');
      return 'done';
    case 'sm8 line after approval': {
      const m = rng.pick(refs.materials);
      const line = {
        uuid: rng.uuid(),
        job_uuid: job.uuid,
        material_uuid: m.uuid,
        name: m.name,
        quantity: '1',
        price: String(10 + rng.int(90)),
        tax_rate_uuid: refs.gst,
        sort_order: '9',
        active: 1,
      };
      if (act(p, 'sm8: add line after approval', () => p.sm8.control.insert('jobmaterial', line)))
        job.acts.push('line added after approval');
      return 'done';
    }
    case 'qbo invoice void': {
      const unpaid = exported(p, approvedJobs, st).filter(
        (e) => Number(e.invoice.Balance) === Number(e.invoice.TotalAmt) && Number(e.invoice.TotalAmt) > 0,
      );
      const target = rng.pick(unpaid);
      if (!target) return 'wait';
      const id = String(target.invoice.Id);
      if (
        act(p, 'qbo: void invoice', () =>
          p.qbo.control.voidOrDelete({ action: 'void', entity: 'Invoice', id }),
        )
      )
        target.job.acts.push(`QuickBooks invoice ${id} voided`);
      return 'done';
    }
    case 'qbo customer merge': {
      // The customer of an exported invoice merged into another active customer.
      const target = rng.pick(exported(p, approvedJobs, st));
      if (!target) return 'wait';
      const from = String((target.invoice.CustomerRef as { value?: string } | undefined)?.value ?? '');
      const into = rng.pick(
        p.qbo.control.listRecords('Customer').filter((c) => c.Active !== false && String(c.Id) !== from),
      );
      if (!from || !into) return 'wait';
      if (
        act(p, 'qbo: merge customers', () =>
          p.qbo.control.merge({ entity: 'Customer', fromId: from, toId: String(into.Id) }),
        )
      )
        target.job.acts.push(`QuickBooks customer ${from} merged into ${String(into.Id)}`);
      return 'done';
    }
    case 'qbo customer inactivate': {
      const customer = rng.pick(p.qbo.control.listRecords('Customer').filter((c) => c.Active !== false));
      if (!customer) return 'wait';
      act(p, 'qbo: inactivate customer', () =>
        p.qbo.control.upsertRecord('Customer', { Id: customer.Id, Active: false }),
      );
      return 'done';
    }
    case 'sm8 client delete': {
      const client = rng.pick(refs.clients);
      act(p, 'sm8: delete client', () => p.sm8.control.update('company', client, { active: 0 }));
      return 'done';
    }
    case 'sm8 tax rate edit': {
      const rate = rng.pick(p.sm8.control.records('taxrate').filter((t) => Number(t.active) === 1));
      if (rate)
        act(p, 'sm8: edit linked tax rate', () =>
          p.sm8.control.update('taxrate', String(rate.uuid), { amount: '12.5' }),
        );
      return 'done';
    }
    case 'qbo tax code':
      act(p, 'qbo: new tax code', () =>
        p.qbo.control.upsertTaxCode({ Name: `GST soak ${rng.int(1000)}`, RateValue: 15 }),
      );
      return 'done';
  }
}
