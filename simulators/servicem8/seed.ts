/**
 * The account record every simulator has, and the demo world: a Sydney trades business with tax rates,
 * ~40 clients with billing contacts, ~60 materials and jobs in every state the sync cares about.
 * Deterministic: the same UUIDs and amounts on every seed, so demos and snapshots are reproducible.
 */
import { createHash } from 'node:crypto';
import { type RecordService } from './records';
import { type ObjectName } from './schemas';

/** Client names that also exist in the QuickBooks demo world (for name-matching scenarios, CM-7). */
export const DEMO_SHARED_CUSTOMER_NAMES: readonly string[] = [
  'Harbour View Cafe',
  'Smith Plumbing Supplies',
  'Bondi Beach Apartments',
  'Northside Dental Clinic',
  'Parramatta Property Group',
  'Greenway Childcare Centre',
  'Coastal Realty',
  'Manly Surf Club',
  'Blue Mountains Motel',
  'Riverside Medical Centre',
];

const OTHER_CLIENT_NAMES = [
  'Chatswood Bakery',
  'Ryde Veterinary Hospital',
  'Sarah Nguyen',
  'Marrickville Brewing Co',
  'Cronulla Fish Market',
  'Hornsby Hardware',
  'David & Mei Chen',
  'Penrith Panel Beaters',
  'Strathfield Physiotherapy',
  'Glebe Point Books',
  'Newtown Yoga Studio',
  'Liverpool Auto Electrics',
  'Emma Thompson',
  'Surry Hills Design Studio',
  'Dee Why RSL Club',
  'Kellyville Early Learning',
  'Balmain Boatshed',
  'Castle Hill Dental',
  'Pyrmont Wharf Cafe',
  'Michael O\u2019Brien',
  'Epping Strata Management',
  'Mosman Physio & Pilates',
  'Botany Bay Logistics',
  'Rose Bay Medical Practice',
  'Leichhardt Italian Deli',
  'Randwick Student Housing',
  'Wollongong Steel Fabrication',
  'Camden Country Club',
  'Sutherland Shire Council Depot',
  'Ashfield Laundromat',
];

/** Indexes into the full client list (shared names first) that are inactive in the demo world. */
const INACTIVE_CLIENTS = new Set([13, 24, 31, 38]);

const FIRST_NAMES = [
  'James',
  'Olivia',
  'Liam',
  'Charlotte',
  'Noah',
  'Amelia',
  'Jack',
  'Isla',
  'Lucas',
  'Mia',
];
const LAST_NAMES = [
  'Smith',
  'Jones',
  'Williams',
  'Brown',
  'Wilson',
  'Taylor',
  'Martin',
  'Anderson',
  'Lee',
  'Walker',
];
const SUBURBS = [
  'Sydney',
  'Bondi',
  'Parramatta',
  'Manly',
  'Chatswood',
  'Newtown',
  'Penrith',
  'Cronulla',
  'Ryde',
];

type TaxKey = 'gst' | 'free';
interface MaterialSeed {
  name: string;
  itemNumber: string;
  price: string;
  cost: string;
  tax: TaxKey;
}

function materialSeeds(): MaterialSeed[] {
  const seeds: MaterialSeed[] = [
    { name: 'Labour - Standard Hour', itemNumber: 'LAB-STD', price: '95.00', cost: '45.00', tax: 'gst' },
    { name: 'Labour - After Hours', itemNumber: 'LAB-AH', price: '145.00', cost: '60.00', tax: 'gst' },
    { name: 'Labour - Apprentice Hour', itemNumber: 'LAB-APP', price: '55.00', cost: '25.00', tax: 'gst' },
    { name: 'Call Out Fee', itemNumber: 'CALLOUT', price: '85.00', cost: '0.00', tax: 'gst' },
    { name: 'Emergency Call Out Fee', itemNumber: 'CALLOUT-EM', price: '180.00', cost: '0.00', tax: 'gst' },
    {
      name: 'Council Inspection Fee',
      itemNumber: 'FEE-COUNCIL',
      price: '220.00',
      cost: '220.00',
      tax: 'free',
    },
    { name: 'Water Board Permit', itemNumber: '', price: '64.50', cost: '64.50', tax: 'free' },
    { name: 'Travel (per km)', itemNumber: 'TRAVEL-KM', price: '1.15', cost: '0.60', tax: 'gst' },
  ];
  const sized: Array<[string, string, number[], number]> = [
    ['Copper Pipe', 'CU', [15, 20, 25], 12.4],
    ['PVC Pipe', 'PVC', [40, 50, 100], 8.75],
    ['PEX Pipe', 'PEX', [16, 20], 4.3],
    ['Brass Elbow', 'BEL', [15, 20, 25], 6.9],
    ['Ball Valve', 'BV', [15, 20, 25], 18.5],
    ['Gate Valve', 'GV', [20, 25], 27.0],
    ['Flexible Hose', 'FH', [300, 450], 14.2],
  ];
  for (const [name, code, sizes, base] of sized) {
    sizes.forEach((size, i) => {
      const price = (base * (1 + i * 0.35)).toFixed(2);
      const cost = (base * (1 + i * 0.35) * 0.55).toFixed(2);
      seeds.push({ name: `${name} ${size}mm`, itemNumber: `${code}-${size}`, price, cost, tax: 'gst' });
    });
  }
  const plain: Array<[string, string]> = [
    ['Hot Water System 250L Electric', '1450.00'],
    ['Hot Water System 26L Gas Continuous', '1890.00'],
    ['Tempering Valve', '165.00'],
    ['Toilet Suite - Close Coupled', '420.00'],
    ['Cistern Inlet Valve', '38.50'],
    ['Cistern Outlet Valve', '44.00'],
    ['Mixer Tap - Kitchen', '189.00'],
    ['Mixer Tap - Basin', '149.00'],
    ['Shower Rose', '79.95'],
    ['Drain Cleaning (Jetter)', '320.00'],
    ['CCTV Drain Inspection', '275.00'],
    ['Silicone Sealant', '12.95'],
    ['Thread Tape', '2.50'],
    ['Double GPO', '18.40'],
    ['Single GPO', '14.20'],
    ['LED Downlight 10W', '32.00'],
    ['Smoke Alarm 240V', '89.00'],
    ['RCD Safety Switch', '145.00'],
    ['Circuit Breaker 20A', '28.60'],
    ['TPS Cable 2.5mm (per m)', '3.40'],
    ['Switchboard Upgrade', '1650.00'],
    ['Ceiling Fan Install Kit', '240.00'],
    ['Exhaust Fan', '119.00'],
    ['Outdoor Sensor Light', '96.50'],
    ['Safety Inspection Report', '150.00'],
    ['Gas Compliance Certificate', '95.00'],
    ['Backflow Prevention Test', '135.00'],
    ['Roof Flashing Repair', '260.00'],
    ['Gutter Guard (per m)', '22.75'],
    ['Sump Pump', '545.00'],
    ['Water Filter Cartridge', '48.00'],
    ['Pressure Limiting Valve', '112.00'],
    ['Disposal Fee', '45.00'],
    ['Sundries', '15.00'],
  ];
  plain.forEach(([name, price], i) => {
    // Every third catalogue item has no item number, as in real accounts that never set SKUs.
    const itemNumber = i % 3 === 2 ? '' : `SKU-${String(1001 + i)}`;
    const cost = (Number(price) * 0.6).toFixed(2);
    seeds.push({ name, itemNumber, price, cost, tax: 'gst' });
  });
  return seeds;
}

/** Stable UUIDs derived from a label, so the demo world is identical on every seed. */
export function demoUuid(label: string): string {
  const hex = createHash('sha1').update(`servicem8-sim:${label}`).digest('hex');
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Small deterministic PRNG (mulberry32) for varied but reproducible demo data. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const VENDOR_UUID = demoUuid('vendor');

/** The account record (read-only through the API); present in every world, empty or demo. */
export function createVendor(records: RecordService, timeZone: string): void {
  records.create(
    'vendor',
    {
      uuid: VENDOR_UUID,
      name: 'Harbourside Plumbing & Electrical Pty Ltd',
      business_number: '51 824 753 556',
      abn_number: '51 824 753 556',
      email: 'office@harbourside-trades.example',
      email_accounts: 'accounts@harbourside-trades.example',
      billing_address: '12 Wharf Road, Balmain NSW 2041',
      default_region: 'AU',
      currency: 'AUD',
      timezone_name: timeZone,
      invoice_terms: '14 days',
      job_default_status: 'Quote',
      website: 'https://harbourside-trades.example',
      opening_time_monday: '420',
      closing_time_monday: '1020',
      opening_time_tuesday: '420',
      closing_time_tuesday: '1020',
      opening_time_wednesday: '420',
      closing_time_wednesday: '1020',
      opening_time_thursday: '420',
      closing_time_thursday: '1020',
      opening_time_friday: '420',
      closing_time_friday: '960',
      opening_time_saturday: '0',
      closing_time_saturday: '0',
      opening_time_sunday: '0',
      closing_time_sunday: '0',
    },
    { trusted: true },
  );
}

export interface SeedSummary {
  counts: Record<ObjectName, number>;
}

type JobKind =
  'quote' | 'workOrder' | 'completed' | 'approved' | 'approvedPaid' | 'approvedPartPaid' | 'unsuccessful';

/** Seeds the demo world into an (otherwise empty) store. Bypasses auth and limits; fires no webhooks. */
export function seedDemoWorld(records: RecordService): void {
  const insert = (object: ObjectName, label: string, fields: Record<string, unknown>) =>
    records.create(object, { uuid: demoUuid(label), ...fields }, { trusted: true });
  const random = prng(8_2024);

  insert('taxrate', 'taxrate:gst', { name: 'GST', amount: '10', is_default_tax_rate: 1 });
  insert('taxrate', 'taxrate:free', { name: 'GST Free', amount: '0', is_default_tax_rate: 0 });
  insert('taxrate', 'taxrate:bas-excluded', { name: 'BAS Excluded', amount: '0', is_default_tax_rate: 0 });
  const taxUuid: Record<TaxKey, string> = { gst: demoUuid('taxrate:gst'), free: demoUuid('taxrate:free') };

  const staff = [
    ['Tom', 'Harris', 'Owner / Master Plumber'],
    ['Priya', 'Sharma', 'Office Manager'],
    ['Ben', 'Walsh', 'Licensed Electrician'],
    ['Kai', 'Robinson', 'Apprentice Plumber'],
  ] as const;
  staff.forEach(([first, last, title], i) => {
    insert('staff', `staff:${i}`, {
      first,
      last,
      email: `${first.toLowerCase()}@harbourside-trades.example`,
      mobile: `04${String(12345670 + i * 1111).padStart(8, '0')}`,
      job_title: title,
      color: ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728'][i] ?? '#000000',
    });
  });
  const staffUuid = (i: number) => demoUuid(`staff:${i % staff.length}`);

  const clientNames = [...DEMO_SHARED_CUSTOMER_NAMES, ...OTHER_CLIENT_NAMES];
  clientNames.forEach((name, i) => {
    const suburb = SUBURBS[i % SUBURBS.length] ?? 'Sydney';
    const street = `${10 + i * 3} ${['George', 'Pitt', 'King', 'Oxford', 'Military'][i % 5] ?? 'George'} Street`;
    const address = `${street}, ${suburb} NSW 2000`;
    insert('company', `company:${i}`, {
      name,
      address,
      address_street: street,
      address_city: suburb,
      address_state: 'NSW',
      address_postcode: '2000',
      address_country: 'Australia',
      billing_address: address,
      abn_number:
        i % 4 === 0
          ? `${String(10 + i)} ${String(100 + i * 7)} ${String(200 + i * 3)} ${String(300 + i)}`
          : '',
      payment_terms: i % 3 === 0 ? '30 days' : '14 days',
      tax_rate_uuid: taxUuid.gst,
      active: INACTIVE_CLIENTS.has(i) ? 0 : 1,
    });
    const first = FIRST_NAMES[i % FIRST_NAMES.length] ?? 'Alex';
    const last = LAST_NAMES[(i * 3) % LAST_NAMES.length] ?? 'Smith';
    const domain = name.toLowerCase().replace(/[^a-z0-9]+/g, '') || 'client';
    insert('companycontact', `companycontact:${i}:billing`, {
      company_uuid: demoUuid(`company:${i}`),
      first,
      last,
      email: `accounts@${domain}.example`,
      phone: `02 9${String(1000000 + i * 7919).slice(-7)}`,
      mobile: `04${String(20000000 + i * 104729).slice(-8)}`,
      type: 'BILLING',
      is_primary_contact: '1',
    });
    if (i % 4 === 1) {
      insert('companycontact', `companycontact:${i}:job`, {
        company_uuid: demoUuid(`company:${i}`),
        first: FIRST_NAMES[(i + 5) % FIRST_NAMES.length] ?? 'Sam',
        last,
        email: `site@${domain}.example`,
        mobile: `04${String(30000000 + i * 15485).slice(-8)}`,
        type: 'JOB',
        is_primary_contact: '0',
      });
    }
  });
  const activeClients = clientNames.map((_, i) => i).filter((i) => !INACTIVE_CLIENTS.has(i));

  const materials = materialSeeds();
  materials.forEach((m, i) => {
    insert('material', `material:${i}`, {
      name: m.name,
      item_number: m.itemNumber,
      price: m.price,
      cost: m.cost,
      price_includes_taxes: 0,
      tax_rate_uuid: taxUuid[m.tax],
      item_description: m.name,
      item_is_inventoried: i % 5 === 0 ? 1 : 0,
      quantity_in_stock: i % 5 === 0 ? 20 + i : 0,
      active: i === materials.length - 1 ? 0 : 1,
    });
  });

  const plan: JobKind[] = [
    ...Array<JobKind>(5).fill('quote'),
    ...Array<JobKind>(7).fill('workOrder'),
    ...Array<JobKind>(5).fill('completed'),
    ...Array<JobKind>(3).fill('approved'),
    ...Array<JobKind>(4).fill('approvedPaid'),
    ...Array<JobKind>(2).fill('approvedPartPaid'),
    'unsuccessful',
  ];
  plan.forEach((kind, j) => {
    const client = activeClients[(j * 7) % activeClients.length] ?? 0;
    const status =
      kind === 'quote'
        ? 'Quote'
        : kind === 'workOrder'
          ? 'Work Order'
          : kind === 'unsuccessful'
            ? 'Unsuccessful'
            : 'Completed';
    const approved = kind === 'approved' || kind === 'approvedPaid' || kind === 'approvedPartPaid';
    const jobLabel = `job:${j}`;
    insert('job', jobLabel, {
      status,
      company_uuid: demoUuid(`company:${client}`),
      job_address: `${5 + j} Harbour Street, ${SUBURBS[j % SUBURBS.length] ?? 'Sydney'} NSW 2000`,
      job_description: `${['Blocked drain', 'Leaking tap', 'Hot water not working', 'Install downlights', 'Switchboard fault', 'Annual backflow test'][j % 6] ?? 'Service'} - please call on arrival`,
      work_done_description: status === 'Completed' ? 'Attended site, completed work as quoted.' : '',
      purchase_order_number: j % 4 === 0 ? `PO-${String(4500 + j)}` : '',
      payment_processed: approved ? 1 : 0,
      invoice_sent: approved && j % 2 === 0 ? 1 : 0,
    });
    const lineCount = 1 + Math.floor(random() * 4);
    for (let l = 0; l < lineCount; l += 1) {
      const materialIndex = Math.floor(random() * (materials.length - 1));
      const material = materials[materialIndex];
      if (!material) continue;
      const quantity =
        l === 0 ? (1 + Math.floor(random() * 3)).toString() : (0.5 + Math.floor(random() * 6) / 2).toFixed(1);
      // About a third of the lines are entered tax-inclusive, as many trades price inc-GST.
      const inclusive = random() < 0.33;
      const rate = material.tax === 'gst' ? 1.1 : 1;
      insert('jobmaterial', `${jobLabel}:line:${l}`, {
        job_uuid: demoUuid(jobLabel),
        material_uuid: demoUuid(`material:${materialIndex}`),
        name: material.name,
        quantity,
        displayed_amount_is_tax_inclusive: inclusive ? '1' : '0',
        ...(inclusive
          ? { displayed_amount: (Number(material.price) * rate).toFixed(2) }
          : { price: material.price }),
        cost: material.cost,
        tax_rate_uuid: taxUuid[material.tax],
        sort_order: String(l + 1),
      });
    }
    if (kind === 'workOrder' && j % 3 === 0) {
      // A deposit taken before the work (is_deposit is read-only through the API; the seed may set it).
      insert('jobpayment', `${jobLabel}:deposit`, {
        job_uuid: demoUuid(jobLabel),
        amount: '100.00',
        method: 'Credit Card',
        note: 'Deposit via ServiceM8 Pay',
        is_deposit: 1,
        actioned_by_uuid: staffUuid(1),
      });
    }
    if (kind === 'approvedPaid' || kind === 'approvedPartPaid') {
      const total = records.read('job', demoUuid(jobLabel)).total_invoice_amount;
      const totalCents = Math.round(Number(total) * 100);
      const paidCents = kind === 'approvedPaid' ? totalCents : Math.floor(totalCents / 2);
      insert('jobpayment', `${jobLabel}:payment`, {
        job_uuid: demoUuid(jobLabel),
        amount: (paidCents / 100).toFixed(2),
        method: ['EFTPOS', 'Bank Transfer', 'Cash', 'Credit Card'][j % 4],
        note: `Receipt ${String(7000 + j)}`,
        actioned_by_uuid: staffUuid(j),
      });
    }
    if (j % 5 === 0) {
      insert('note', `${jobLabel}:note`, {
        related_object: 'job',
        related_object_uuid: demoUuid(jobLabel),
        note: 'Customer asked for a text message 30 minutes before arrival.',
      });
    }
  });

  // A zero-value completed and approved job (INV-2) and a job without a client.
  insert('job', 'job:zero-value', {
    status: 'Completed',
    company_uuid: demoUuid(`company:${activeClients[0] ?? 0}`),
    job_address: '1 Warranty Lane, Sydney NSW 2000',
    job_description: 'Warranty call back - no charge',
    payment_processed: 1,
  });
  insert('jobmaterial', 'job:zero-value:line:0', {
    job_uuid: demoUuid('job:zero-value'),
    name: 'Warranty call back',
    quantity: '1',
    price: '0',
    tax_rate_uuid: taxUuid.gst,
  });
  insert('job', 'job:no-client', {
    status: 'Work Order',
    company_uuid: '',
    job_address: '99 Unknown Road, Sydney NSW 2000',
    job_description: 'Walk-in enquiry, client not yet recorded',
  });
  insert('jobmaterial', 'job:no-client:line:0', {
    job_uuid: demoUuid('job:no-client'),
    material_uuid: demoUuid('material:0'),
    name: 'Labour - Standard Hour',
    quantity: '2',
    price: '95.00',
    tax_rate_uuid: taxUuid.gst,
  });
}
