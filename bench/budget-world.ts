/**
 * The people of bench/budget.ts, acting only through the simulators' control APIs (the apps' screens): a
 * QuickBooks company grown to the benchmark's size before the product connects, the simulators' limits
 * raised by `--scale`, jobs made and approved in ServiceM8, payments and client edits on either side.
 */
import crypto from 'node:crypto';
import { type AxiosInstance } from 'axios';
import { sleep, until, type Rec } from './harness';

const isActive = (r: Rec) => r.Active !== false;

/**
 * Grows the QuickBooks company to `customers` active customers and `items` active items (the demo world's
 * records count). The records existed before the connection, so their webhooks never reach the product:
 * the deliveries they raise are dropped. Returns what the company holds afterwards.
 */
export async function growQuickBooks(
  qbo: AxiosInstance,
  customers: number,
  items: number,
): Promise<{ customers: number; items: number; added: number }> {
  const list = async (e: string) => (await qbo.get<Rec[]>(`/records/${e}`)).data.filter(isActive);
  const [haveCustomers, haveItems] = await Promise.all([list('Customer'), list('Item')]);
  const template = haveItems.find(
    (i) => i.Type === 'NonInventory' && i.IncomeAccountRef && i.SalesTaxCodeRef,
  );
  const tag = crypto.randomBytes(2).toString('hex');
  const newCustomers = Array.from({ length: Math.max(0, customers - haveCustomers.length) }, (_, i) => ({
    DisplayName: `Bench Customer ${tag}-${String(i + 1).padStart(4, '0')}`,
    CompanyName: `Bench Customer ${tag}-${String(i + 1).padStart(4, '0')}`,
    PrimaryEmailAddr: { Address: `accounts+${tag}-${i + 1}@bench.example` },
  }));
  const newItems = Array.from({ length: Math.max(0, items - haveItems.length) }, (_, i) => ({
    Name: `Bench Part ${tag}-${String(i + 1).padStart(4, '0')}`,
    Type: 'NonInventory',
    Description: `Bench part ${i + 1}`,
    UnitPrice: 10 + (i % 90),
    IncomeAccountRef: template?.IncomeAccountRef,
    SalesTaxCodeRef: template?.SalesTaxCodeRef,
  }));
  const added = newCustomers.length + newItems.length;
  if (added > 0) {
    await qbo.post('/webhooks/chaos', { dropNext: 1_000_000 });
    for (let i = 0; i < newCustomers.length; i += 250)
      await qbo.post('/records/Customer', newCustomers.slice(i, i + 250));
    for (let i = 0; i < newItems.length; i += 250)
      await qbo.post('/records/Item', newItems.slice(i, i + 250));
    await until(
      'the dropped QuickBooks webhooks',
      performance.now(),
      60_000,
      async () => (await qbo.get<{ webhookPending: number }>('/stats')).data.webhookPending === 0,
      100,
    );
    await qbo.post('/webhooks/chaos', { dropNext: 0 });
  }
  return {
    customers: haveCustomers.length + newCustomers.length,
    items: haveItems.length + newItems.length,
    added,
  };
}

/** Raises both simulators' limits by `scale` (ServiceM8 180/min, 20,000/day; QuickBooks 500/min, 10/s, 10 at once). */
export async function scaleSimulators(sm8: AxiosInstance, qbo: AxiosInstance, scale: number): Promise<void> {
  if (scale === 1) return;
  await sm8.post('/settings', { rateLimitPerMinute: 180 * scale, rateLimitPerDay: 20_000 * scale });
  await qbo.post('/config', {
    throttle: {
      perMinute: 500 * scale,
      perSecond: 10 * scale,
      concurrent: 10 * scale,
      batchPerMinute: 40 * scale,
    },
  });
}

export interface Pair {
  company: string;
  customerId: string;
  name: string;
}

export interface World {
  gst: Rec;
  /** Onboarded clients: a ServiceM8 company and the QuickBooks customer of the same name. */
  pairs: Pair[];
  /** Onboarded materials with a GST item of the same name in QuickBooks. */
  materials: Rec[];
}

/** `loose`: before onboarding has linked anything, any active company and material will do. */
export async function readWorld(sm8: AxiosInstance, qbo: AxiosInstance, loose = false): Promise<World> {
  const sm8List = async (o: string) => (await sm8.get<Rec[]>(`/records/${o}`)).data;
  const qboList = async (e: string) => (await qbo.get<Rec[]>(`/records/${e}`)).data;
  const [taxrates, companies, materials, customers, items] = await Promise.all([
    sm8List('taxrate'),
    sm8List('company'),
    sm8List('material'),
    qboList('Customer'),
    qboList('Item'),
  ]);
  const gst = taxrates.find((t) => t.name === 'GST' && Number(t.active) === 1);
  if (!gst) throw new Error('the demo world has no active GST tax rate in ServiceM8');
  const byName = new Map(
    customers
      .filter((c) => isActive(c) && !c.Job)
      .filter((c) => ((c.CurrencyRef as Rec | undefined)?.value ?? 'AUD') === 'AUD')
      .map((c) => [String(c.DisplayName), c]),
  );
  const pairs: Pair[] = [];
  for (const c of companies) {
    const customer = Number(c.active) === 1 ? byName.get(String(c.name)) : undefined;
    if (customer)
      pairs.push({ company: String(c.uuid), customerId: String(customer.Id), name: String(c.name) });
  }
  const itemNames = new Set(
    items.filter((i) => isActive(i) && i.Type !== 'Category').map((i) => String(i.Name)),
  );
  // Priced materials only: a job of a free one (the demo world's "Site Visit & Quote" at 0.00) is zero-value
  // and rightly never exported (INV-2), so it would never arrive.
  const priced = (m: Rec) => Number(m.active) === 1 && Number(m.price ?? 0) > 0;
  const linked = materials.filter((m) => priced(m) && itemNames.has(String(m.name)));
  if (loose) {
    const active = companies.filter((c) => Number(c.active) === 1);
    if (pairs.length === 0)
      pairs.push(...active.map((c) => ({ company: String(c.uuid), customerId: '', name: String(c.name) })));
    if (linked.length === 0) linked.push(...materials.filter(priced));
  }
  if (pairs.length === 0 || linked.length === 0)
    throw new Error('no onboarded client or material to work with');
  return { gst, pairs, materials: linked };
}

/** A completed job with one line of an onboarded material, not approved yet. Returns its uuid. */
export async function createJob(sm8: AxiosInstance, world: World, n: number): Promise<string> {
  const pair = world.pairs[n % world.pairs.length] as Pair;
  const material = world.materials[n % world.materials.length] as Rec;
  const job = crypto.randomUUID();
  await sm8.post('/records/job', {
    uuid: job,
    status: 'Completed',
    company_uuid: pair.company,
    completion_date: '2026-11-27 15:30:00',
    payment_processed: 0,
    active: 1,
  });
  await sm8.post('/records/jobmaterial', {
    uuid: crypto.randomUUID(),
    job_uuid: job,
    material_uuid: material.uuid,
    name: material.name,
    quantity: '2',
    price: String(material.price ?? '85.00'),
    tax_rate_uuid: world.gst.uuid,
    sort_order: '1',
    active: 1,
  });
  return job;
}

export async function approve(sm8: AxiosInstance, job: string): Promise<number> {
  const at = Date.now();
  await sm8.post(`/records/job/${job}`, { payment_processed: 1 });
  return at;
}

/** QuickBooks invoices by the job uuid in their memo (INV-1 writes it). */
export async function invoicesByJob(qbo: AxiosInstance): Promise<Map<string, Rec>> {
  const out = new Map<string, Rec>();
  for (const inv of (await qbo.get<Rec[]>('/records/Invoice')).data) {
    const m = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/.exec(
      String(inv.PrivateNote ?? ''),
    );
    if (m) out.set(m[0], inv);
  }
  return out;
}

/**
 * One poller of QuickBooks' invoices for the whole run (the simulator runs inside the product's process, so
 * the benchmark reads it sparingly): the wall time (epoch ms) each job's invoice was first seen.
 */
export function trackInvoices(qbo: AxiosInstance, everyMs = 500) {
  const seen = new Map<string, number>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const at = Date.now();
      const invoices = await invoicesByJob(qbo).catch(() => new Map<string, Rec>());
      for (const job of invoices.keys()) if (!seen.has(job)) seen.set(job, at);
      await sleep(everyMs);
    }
  })();
  return {
    seen,
    /** Waits until every job's invoice was seen (at most capMs); the arrivals seen by then. */
    async wait(jobs: string[], capMs: number): Promise<Map<string, number>> {
      const start = performance.now();
      while (jobs.some((j) => !seen.has(j)) && performance.now() - start < capMs) await sleep(everyMs);
      return new Map(jobs.filter((j) => seen.has(j)).map((j) => [j, seen.get(j) as number]));
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** Part of an invoice's total (at least a cent), so the payments made on it stay within its balance. */
export function partOf(invoice: Rec, share: number): number {
  return Math.max(0.01, Math.floor(Number(invoice.TotalAmt) * share * 100) / 100);
}

/** PAY-1: the tradesperson records a payment in ServiceM8; resolves when QuickBooks has it. */
export async function paySm8(
  sm8: AxiosInstance,
  qbo: AxiosInstance,
  job: string,
  capMs: number,
  amount: number,
) {
  const payment = crypto.randomUUID();
  const t0 = performance.now();
  await sm8.post('/records/jobpayment', {
    uuid: payment,
    job_uuid: job,
    amount: amount.toFixed(2),
    method: 'Cash',
    timestamp: '2026-11-28 09:00:00',
    active: 1,
  });
  const r = await until('the QuickBooks payment', t0, capMs, async () =>
    (await qbo.get<Rec[]>('/records/Payment')).data.find((p) =>
      String(p.PrivateNote ?? '').includes(payment),
    ),
  );
  return { id: payment, ms: r.ms };
}

/** PAY-2: the bookkeeper receives a payment in QuickBooks; resolves when ServiceM8 has it. */
export async function payQbo(
  sm8: AxiosInstance,
  qbo: AxiosInstance,
  invoice: Rec,
  job: string,
  capMs: number,
  amount: number,
) {
  const t0 = performance.now();
  const received = (
    await qbo.post<Rec>('/records/Payment', {
      CustomerRef: invoice.CustomerRef,
      TotalAmt: amount,
      TxnDate: '2026-11-29',
      Line: [{ Amount: amount, LinkedTxn: [{ TxnId: String(invoice.Id), TxnType: 'Invoice' }] }],
    })
  ).data;
  const id = String(received.Id);
  const r = await until('the ServiceM8 payment', t0, capMs, async () =>
    (await sm8.get<Rec[]>('/records/jobpayment')).data.some(
      (p) => p.job_uuid === job && String(p.note ?? '').includes(`qbo:payment:${id}`),
    ),
  );
  return { id, ms: r.ms };
}

/** CM-2, QuickBooks → ServiceM8: the bookkeeper renames the customer. */
export async function renameInQbo(sm8: AxiosInstance, qbo: AxiosInstance, pair: Pair, capMs: number) {
  const name = `${pair.name.slice(0, 60)} ${crypto.randomBytes(2).toString('hex')} Pty`;
  const t0 = performance.now();
  await qbo.post('/records/Customer', { Id: pair.customerId, DisplayName: name });
  const r = await until('the ServiceM8 company name', t0, capMs, async () =>
    (await sm8.get<Rec[]>('/records/company')).data.some((c) => c.uuid === pair.company && c.name === name),
  );
  pair.name = name;
  return r.ms;
}

/** CM-2, ServiceM8 → QuickBooks: the office renames the company. */
export async function renameInSm8(sm8: AxiosInstance, qbo: AxiosInstance, pair: Pair, capMs: number) {
  const name = `${pair.name.slice(0, 60)} ${crypto.randomBytes(2).toString('hex')} Ltd`;
  const t0 = performance.now();
  await sm8.post(`/records/company/${pair.company}`, { name });
  const r = await until('the QuickBooks customer name', t0, capMs, async () => {
    const c = (await qbo.get<Rec>(`/records/Customer/${pair.customerId}`)).data;
    return c.DisplayName === name;
  });
  pair.name = name;
  return r.ms;
}
