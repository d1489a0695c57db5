/**
 * The soak's messy business (bench/soak.ts), seeded: the same `--seed` makes the same records and the same
 * acts in the same order. People act only through the simulators' control APIs (the apps' screens):
 * names that differ only in case or spacing, long names, quotes, ampersands, ':' and non-Latin letters,
 * invalid emails, discounts, credits, deposits and overpayments, client changes after export,
 * un-approve/re-approve, deletions and inactivations on both sides, merges, voids and tax changes.
 */
import { ACCOUNT_IDS, AU_TAX_CODE_IDS, type RunningQuickBooksSimulator } from '../simulators/quickbooks';
import type { RunningServiceM8Simulator } from '../simulators/servicem8';
import type { Rec } from './harness';

export interface Size {
  name: 'short' | 'long';
  qboCustomers: number;
  qboItems: number;
  sm8Clients: number;
  sm8Materials: number;
  jobs: number;
  payments: number;
}

export const SIZES: Record<'short' | 'long', Size> = {
  short: {
    name: 'short',
    qboCustomers: 8,
    qboItems: 6,
    sm8Clients: 10,
    sm8Materials: 8,
    jobs: 30,
    payments: 40,
  },
  long: {
    name: 'long',
    qboCustomers: 100,
    qboItems: 100,
    sm8Clients: 100,
    sm8Materials: 100,
    jobs: 500,
    payments: 1000,
  },
};

/** mulberry32: a small seeded generator (same seed, same business). */
export function seeded(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T,
    chance: (p: number) => next() < p,
    /** A uuid drawn from the generator (ServiceM8 accepts client uuids). */
    uuid: () => {
      const hex = Array.from({ length: 32 }, () => Math.floor(next() * 16).toString(16)).join('');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
    },
  };
}
export type Rng = ReturnType<typeof seeded>;

const STEMS = [
  'Acme Plumbing',
  "O'Brien & Sons",
  'Smith "Quality" Builders',
  'Fix: All Electrical',
  'Müller Haustechnik',
  'Ñandú Servicios',
  '東京配管サービス',
  'Ærøskøbing Tiles',
  'Zoë & Chloë Café',
  'Harbour View Strata',
  'Δέλτα Plumbing',
  'Blue Gum Landscaping',
];

/** A messy name: stems with case/spacing twins, long ones (> 100 chars cut by the side's limit), suffixes. */
function messyName(rng: Rng, n: number, limit: number): string {
  const stem = STEMS[n % STEMS.length] as string;
  const variant = Math.floor(n / STEMS.length);
  const r = rng.int(6);
  let name =
    variant === 0
      ? stem
      : r === 0
        ? stem.toUpperCase()
        : r === 1
          ? stem.replace(' ', '  ')
          : r === 2
            ? ` ${stem.toLowerCase()} `
            : `${stem} ${variant} ${r === 3 ? 'Pty Ltd' : r === 4 ? '& Co.' : '(NSW)'}`;
  if (rng.chance(0.08))
    name = `${name} ${'Commercial and Residential Maintenance Services Division '.repeat(3)}`.trim();
  return name.slice(0, limit).trim();
}

export type JobKind =
  'plain' | 'discount' | 'credit' | 'zero' | 'inc' | 'deposit' | 'overpaid' | 'freeText' | 'unmapped';

export interface JobInfo {
  uuid: string;
  kind: JobKind;
  client: string;
  acts: string[];
}

/** What the business made and did: the checks read it to name records and to tell expected outcomes. */
export interface Business {
  jobs: Map<string, JobInfo>;
  /** QuickBooks customers and items the bookkeeper made (anything else in QuickBooks is the product's). */
  qboCustomers: Set<string>;
  qboItems: Set<string>;
  /** ServiceM8 companies and materials the office made. */
  sm8Clients: Set<string>;
  sm8Materials: Set<string>;
  acts: Record<string, number>;
  refused: string[];
}

export interface People {
  sm8: RunningServiceM8Simulator;
  qbo: RunningQuickBooksSimulator;
  rng: Rng;
  size: Size;
  biz: Business;
}

export function newBusiness(): Business {
  return {
    jobs: new Map(),
    qboCustomers: new Set(),
    qboItems: new Set(),
    sm8Clients: new Set(),
    sm8Materials: new Set(),
    acts: {},
    refused: [],
  };
}

/** One act through a screen; a refusal by the app (as a person would see it) is counted, not thrown. */
export function act(p: People, name: string, fn: () => unknown): boolean {
  try {
    fn();
    p.biz.acts[name] = (p.biz.acts[name] ?? 0) + 1;
    return true;
  } catch (err) {
    p.biz.refused.push(`${name}: ${(err as Error).message.slice(0, 160)}`);
    return false;
  }
}

/** The bookkeeper's QuickBooks company before the product connects (onboarding imports it, CM-1). */
export function seedQuickBooks(p: People): void {
  for (let i = 0; i < p.size.qboCustomers; i++) {
    const email = p.rng.chance(0.2) ? undefined : { Address: `accounts${i}@qbo-soak.example` };
    act(p, 'qbo: add customer', () => {
      const c = p.qbo.control.upsertRecord('Customer', {
        DisplayName: messyName(p.rng, i + 3, 500).replace(/:/g, ' -'),
        ...(email ? { PrimaryEmailAddr: email } : {}),
      });
      p.biz.qboCustomers.add(String(c.Id));
    });
  }
  for (let i = 0; i < p.size.qboItems; i++) {
    act(p, 'qbo: add item', () => {
      const item = p.qbo.control.upsertRecord('Item', {
        Name: `${p.rng.pick(['Labour', 'Copper pipe', 'Fitting "T"', 'Käbel & Stecker', '配管部品'])} ${i}`,
        Type: p.rng.chance(0.5) ? 'Service' : 'NonInventory',
        UnitPrice: 10 + p.rng.int(200),
        IncomeAccountRef: { value: ACCOUNT_IDS.services },
        SalesTaxCodeRef: { value: p.rng.chance(0.8) ? AU_TAX_CODE_IDS.gst : AU_TAX_CODE_IDS.gstFree },
      });
      p.biz.qboItems.add(String(item.Id));
    });
  }
}

export interface Sm8Refs {
  gst: string;
  gstFree: string;
  clients: string[];
  materials: Rec[];
}

/** The office's ServiceM8 clients and materials, made after onboarding (they go to QuickBooks with an invoice). */
export function seedServiceM8(p: People): Sm8Refs {
  const rates = p.sm8.control.records('taxrate').filter((t) => Number(t.active) === 1);
  const gst = rates.find((t) => Number(t.amount) === 10);
  const gstFree = rates.find((t) => Number(t.amount) === 0);
  if (!gst || !gstFree)
    throw new Error('onboarding brought no GST / GST free tax rate into ServiceM8 (TAX-1)');
  const clients = p.sm8.control
    .records('company')
    .filter((c) => Number(c.active) === 1)
    .map((c) => String(c.uuid));
  for (let i = 0; i < p.size.sm8Clients; i++) {
    const uuid = p.rng.uuid();
    const invalidEmail = p.rng.chance(0.2);
    act(p, 'sm8: add client', () => {
      p.sm8.control.insert('company', { uuid, name: messyName(p.rng, i, 100), active: 1 });
      p.sm8.control.insert('companycontact', {
        uuid: p.rng.uuid(),
        company_uuid: uuid,
        first: 'Sam',
        last: 'Payer',
        email: invalidEmail
          ? p.rng.pick(['accounts@@example', 'no-at-sign.example', 'a b@c'])
          : `pay${i}@sm8-soak.example`,
        type: 'BILLING',
        is_primary_contact: '1',
        active: 1,
      });
      clients.push(uuid);
      p.biz.sm8Clients.add(uuid);
    });
  }
  const materials = p.sm8.control.records('material').filter((m) => Number(m.active) === 1) as Rec[];
  for (let i = 0; i < p.size.sm8Materials; i++) {
    const uuid = p.rng.uuid();
    act(p, 'sm8: add material', () => {
      const m = p.sm8.control.insert('material', {
        uuid,
        name: `${p.rng.pick(['Valve', 'labour  hour', 'LABOUR HOUR', 'Fuse "slow"', 'Tap & Mixer', 'Ménage: service'])} ${i}`.slice(
          0,
          70,
        ),
        price: String(5 + p.rng.int(300)),
        cost: '0',
        tax_rate_uuid: p.rng.chance(0.85) ? gst.uuid : gstFree.uuid,
        active: 1,
      });
      materials.push(m as Rec);
      p.biz.sm8Materials.add(uuid);
    });
  }
  return { gst: String(gst.uuid), gstFree: String(gstFree.uuid), clients, materials };
}

const KINDS: JobKind[] = [
  'plain',
  'plain',
  'plain',
  'discount',
  'discount',
  'credit',
  'zero',
  'inc',
  'inc',
  'deposit',
  'overpaid',
  'freeText',
  'unmapped',
];

/** A completed job with lines of its kind; approved unless `approve` is false. */
export function makeJob(p: People, refs: Sm8Refs, unmappedRate: string | undefined, n: number): JobInfo {
  const rng = p.rng;
  const kind =
    KINDS[n % KINDS.length] === 'unmapped' && !unmappedRate
      ? 'plain'
      : (KINDS[rng.int(KINDS.length)] as JobKind);
  const uuid = rng.uuid();
  const client = rng.pick(refs.clients);
  const info: JobInfo = { uuid, kind, client, acts: [] };
  act(p, 'sm8: add job', () =>
    p.sm8.control.insert('job', {
      uuid,
      status: 'Completed',
      company_uuid: client,
      completion_date: '2026-11-20 15:30:00',
      job_address: '1 Soak Street',
      payment_processed: 0,
      active: 1,
    }),
  );
  const line = (price: number, qty = 1, opts: { inc?: boolean; free?: boolean; tax?: string } = {}) => {
    const m = opts.free ? undefined : rng.pick(refs.materials);
    act(p, 'sm8: add line', () =>
      p.sm8.control.insert('jobmaterial', {
        uuid: rng.uuid(),
        job_uuid: uuid,
        material_uuid: m ? m.uuid : '',
        name: m ? m.name : 'Call-out: après-hours "urgent" & parts',
        quantity: String(qty),
        ...(opts.inc ? { displayed_amount: price.toFixed(2) } : { price: price.toFixed(2) }),
        displayed_amount_is_tax_inclusive: opts.inc ? '1' : '0',
        tax_rate_uuid: opts.tax ?? (rng.chance(0.8) ? refs.gst : refs.gstFree),
        sort_order: String(rng.int(10)),
        active: 1,
      }),
    );
  };
  const price = () => 20 + rng.int(900) + rng.int(100) / 100;
  if (kind === 'zero') line(0, 1);
  else if (kind === 'credit') line(-price(), 1);
  else if (kind === 'unmapped') line(price(), 1, { tax: unmappedRate });
  else {
    for (let i = 0, k = 1 + rng.int(3); i < k; i++) line(price(), 1 + rng.int(3), { inc: kind === 'inc' });
    if (kind === 'discount') line(-(5 + rng.int(20)), 1);
    if (kind === 'freeText') line(price(), 1, { free: true });
  }
  if (kind === 'deposit') pay(p, info, 50, { deposit: true });
  p.biz.jobs.set(uuid, info);
  return info;
}

export function approve(p: People, job: JobInfo, value: 0 | 1 = 1): void {
  if (
    act(p, value ? 'sm8: approve' : 'sm8: un-approve', () =>
      p.sm8.control.update('job', job.uuid, { payment_processed: value }),
    )
  )
    job.acts.push(value ? 'approved' : 'un-approved');
}

export function jobTotal(p: People, job: JobInfo): number {
  return Number(p.sm8.store.get('job', job.uuid)?.total_invoice_amount ?? 0);
}

/** A ServiceM8 payment (PAY-1): a part, the rest, a deposit before approval, or more than the total. */
export function pay(p: People, job: JobInfo, amount: number, opts: { deposit?: boolean } = {}): string {
  const uuid = p.rng.uuid();
  if (
    act(p, opts.deposit ? 'sm8: deposit' : 'sm8: payment', () =>
      p.sm8.control.insert('jobpayment', {
        uuid,
        job_uuid: job.uuid,
        amount: amount.toFixed(2),
        method: p.rng.pick(['Cash', 'EFTPOS', 'Cheque', 'Direct Deposit']),
        timestamp: '2026-11-28 09:00:00',
        ...(opts.deposit ? { is_deposit: 1 } : {}),
        active: 1,
      }),
    )
  )
    job.acts.push(`paid ${amount.toFixed(2)} in ServiceM8`);
  return uuid;
}

/** The QuickBooks invoice of a job, found by the marker the product writes (INV-4). */
export function qboInvoiceOf(p: People, job: string): Rec | undefined {
  return p.qbo.control
    .listRecords('Invoice')
    .find((i) => String(i.PrivateNote ?? '').includes(`[sm8:job:${job}]`)) as Rec | undefined;
}
