import { formatTxnDate } from './clock';
import { ACCOUNT_IDS, AU_TAX_CODE_IDS } from './company';
import { type Simulator } from './context';
import { fromCents, rateToScaled, taxInGross } from './money';
import { type Company } from './store';
import { type Json } from './types';
import { multiCurrencyEnabled } from './entities/currency';

/**
 * The demo world: an Australian electrical contractor with the kind of data a real QBO file has after a few
 * years: sub-customers, inactive records, purchased and non-purchased items, and names that will collide.
 */

export const DEMO_COMPANY_NAME = 'Harbourside Electrical Pty Ltd';

/** Customers the ServiceM8 simulator's demo world also has (to exercise CM-7 name matching). */
export const DEMO_SHARED_CUSTOMER_NAMES = [
  'Harbour View Cafe',
  'Smith Plumbing Supplies',
  'Bondi Beach Bakery',
  'Coogee Dental Clinic',
  'Manly Wharf Bar',
  'Parramatta Medical Centre',
  'Ridgeway Property Management',
  'Northside Childcare',
  'Greenleaf Organic Grocers',
  'Balmain Veterinary Hospital',
] as const;

/** A vendor and an employee whose names a sync may try to create as customers (6240). */
export const DEMO_VENDOR_NAME = 'Coastal Electrical Wholesalers';
export const DEMO_EMPLOYEE_NAME = 'Jordan Reeves';
export const DEMO_COLLIDING_NAMES = [DEMO_VENDOR_NAME, DEMO_EMPLOYEE_NAME] as const;

export const DEMO_INACTIVE_CUSTOMER_NAMES = [
  'Ava Thompson',
  'Hurstville Motors',
  'Old Harbour Tavern',
] as const;

/** Multicurrency demo (seed option `multiCurrency`): customers abroad, each in its own currency. */
export const DEMO_FOREIGN_CUSTOMERS: ReadonlyArray<readonly [string, string]> = [
  ['Auckland Harbour Marine Ltd', 'NZD'],
  ['Pacific Rim Resorts Inc', 'USD'],
  ['Thames Riverside Hotels Ltd', 'GBP'],
];

/** Home (AUD) units per foreign unit used by the multicurrency demo. */
export const DEMO_EXCHANGE_RATES: Readonly<Record<string, number>> = { NZD: 0.915, USD: 1.52, GBP: 1.94 };

/** Sub-customers: [name, parent, BillWithParent]. */
export const DEMO_SUB_CUSTOMERS: ReadonlyArray<readonly [string, string, boolean]> = [
  ['Ridgeway - 12 Ocean St', 'Ridgeway Property Management', true],
  ['Ridgeway - 7 Cliff Rd', 'Ridgeway Property Management', true],
  ['Kirribilli - Unit 4', 'Kirribilli Apartments Owners Corp', false],
  ['Circular Quay Hotel - Rooftop Bar Fitout', 'Circular Quay Hotel', false],
];

const BUSINESSES = [
  ...DEMO_SHARED_CUSTOMER_NAMES,
  'Surry Hills Strata Plan 41234',
  'Circular Quay Hotel',
  'Pyrmont Fitness Studio',
  'Glebe Public School P&C',
  'Newtown Bookshop',
  'Marrickville Metal Works',
  'Leichhardt Pasta House',
  'Drummoyne Sailing Club',
  'Chatswood Optometrists',
  'Lane Cove Physiotherapy',
  'Mosman Real Estate',
  'Kirribilli Apartments Owners Corp',
  'Rose Bay Marina',
  'Double Bay Boutique',
  'Paddington Gallery',
  'Randwick Racecourse Cafe',
  'Maroubra Surf Life Saving Club',
  'Cronulla Fish Market',
  'Hurstville Motors',
  'Old Harbour Tavern',
];

const PEOPLE: Array<[string, string]> = [
  ['Olivia', 'Chen'],
  ['Liam', 'Patel'],
  ['Ava', 'Thompson'],
  ['Noah', 'Williams'],
  ['Isla', 'Nguyen'],
  ['Jack', 'Robinson'],
  ['Mia', 'Kowalski'],
  ['Oliver', 'Brown'],
  ['Charlotte', 'Davies'],
  ['Ethan', 'Murphy'],
  ['Amelia', 'Wilson'],
  ['Lucas', 'Martin'],
  ['Grace', "O'Brien"],
  ['Henry', 'Taylor'],
  ['Zoe', 'Anderson'],
];

const SUBURBS: Array<[string, string]> = [
  ['Sydney', '2000'],
  ['Bondi', '2026'],
  ['Manly', '2095'],
  ['Parramatta', '2150'],
  ['Balmain', '2041'],
  ['Newtown', '2042'],
  ['Chatswood', '2067'],
  ['Coogee', '2034'],
];

/** Service items: [name, price, purchase cost or null, tax code]. */
const SERVICES: Array<[string, number, number | null, string]> = [
  ['Labour - Electrician (per hour)', 95, null, AU_TAX_CODE_IDS.gst],
  ['Labour - Apprentice (per hour)', 65, null, AU_TAX_CODE_IDS.gst],
  ['Call-out Fee', 88, null, AU_TAX_CODE_IDS.gst],
  ['After Hours Call-out', 165, null, AU_TAX_CODE_IDS.gst],
  ['Switchboard Upgrade', 1450, 900, AU_TAX_CODE_IDS.gst],
  ['Safety Inspection', 180, null, AU_TAX_CODE_IDS.gst],
  ['Test and Tag (per item)', 4.5, null, AU_TAX_CODE_IDS.gst],
  ['Smoke Alarm Compliance Check', 89, null, AU_TAX_CODE_IDS.gst],
  ['Data Cabling (per point)', 135, 70, AU_TAX_CODE_IDS.gst],
  ['Fault Finding', 110, null, AU_TAX_CODE_IDS.gst],
  ['Emergency Repair', 220, null, AU_TAX_CODE_IDS.gst],
  ['Ceiling Fan Installation', 149, null, AU_TAX_CODE_IDS.gst],
  ['Downlight Installation (each)', 45, null, AU_TAX_CODE_IDS.gst],
  ['EV Charger Installation', 890, 450, AU_TAX_CODE_IDS.gst],
  ['Solar Inverter Inspection', 210, 120, AU_TAX_CODE_IDS.gst],
  ['Site Visit & Quote', 0, null, AU_TAX_CODE_IDS.gst],
  ['Travel Charge', 1.2, null, AU_TAX_CODE_IDS.gst],
  ['Disposal Fee', 35, 20, AU_TAX_CODE_IDS.gst],
  ['Medical Alarm Installation', 240, null, AU_TAX_CODE_IDS.gstFree],
  ['Council Permit Lodgement', 75, 75, AU_TAX_CODE_IDS.outOfScope],
  ['Asbestos Inspection (subcontract)', 380, 300, AU_TAX_CODE_IDS.gst],
  ['Legacy Maintenance Plan', 99, null, AU_TAX_CODE_IDS.gst],
];

/** Material families: [base name, sizes, price, cost]; each size becomes an item. */
const MATERIALS: Array<[string, string[], number, number]> = [
  ['LED Downlight', ['7W', '10W', '13W'], 28.5, 11.2],
  ['Power Point', ['Single', 'Double', 'Double with USB'], 24.9, 9.85],
  ['Light Switch', ['1 Gang', '2 Gang', '3 Gang', '4 Gang'], 18.75, 6.4],
  ['TPS Cable (per m)', ['1.5mm', '2.5mm', '4mm', '6mm'], 3.2, 1.15],
  ['Circuit Breaker', ['10A', '16A', '20A', '32A'], 32, 14.5],
  ['RCD Safety Switch', ['2 Pole', '4 Pole'], 89, 42],
  ['Smoke Alarm 240V', ['Photoelectric', 'Interconnected'], 79, 33],
  ['Conduit (per m)', ['20mm', '25mm', '32mm'], 4.6, 1.9],
  ['Ceiling Fan 52"', ['White', 'Black', 'Timber'], 299, 160],
  ['Junction Box', ['Small', 'Large'], 9.8, 3.1],
  ['Weatherproof GPO', ['Single', 'Double'], 54, 24],
  ['Exhaust Fan', ['150mm', '250mm'], 129, 61],
  ['Outdoor Sensor Light', ['Single', 'Twin'], 119, 52],
  ['Cable Ties (pack 100)', ['150mm', '300mm'], 12.5, 4],
  ['Heat Shrink Kit', ['Standard'], 19.95, 7.5],
  ['Data Outlet Cat6', ['Single', 'Double'], 27, 9],
  ['Surge Protector', ['Plug-in', 'Switchboard'], 145, 70],
  ['Meter Box', ['Single Phase', 'Three Phase'], 420, 250],
  ['Batten Holder', ['Standard'], 8.5, 2.6],
  ['Earth Stake', ['1.2m'], 38, 15],
  ['Labels and Sundries', ['Standard'], 15, 0],
  ['LED Batten', ['600mm', '1200mm', '1500mm'], 64, 27],
  ['Isolator Switch', ['20A', '35A', '63A'], 46, 19],
  ['Wall Plate Blank', ['Standard'], 6.5, 1.8],
  ['Fire-rated Downlight Cover', ['Standard'], 22, 8.8],
  ['Cable Clips (pack 50)', ['Standard'], 11, 3.5],
];

function address(index: number, line: string): Json {
  const [city, postcode] = SUBURBS[index % SUBURBS.length] ?? ['Sydney', '2000'];
  return {
    Line1: line,
    City: city,
    CountrySubDivisionCode: 'NSW',
    PostalCode: postcode,
    Country: 'Australia',
  };
}

function slug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '.')
    .replace(/^\.|\.$/g, '');
}

function seedPeopleAndCustomers(sim: Simulator, company: Company): Map<string, string> {
  const ids = new Map<string, string>();
  const create = (fields: Json): void => {
    const record = sim.service.create(company, 'Customer', fields);
    ids.set(String(record.DisplayName), String(record.Id));
  };
  BUSINESSES.forEach((name, index) => {
    create({
      DisplayName: name,
      CompanyName: name,
      PrimaryEmailAddr: { Address: `accounts@${slug(name).replace(/\./g, '')}.com.au` },
      PrimaryPhone: {
        FreeFormNumber: `(02) 9${String(100 + index).padStart(3, '0')} ${String(2000 + index * 37).slice(0, 4)}`,
      },
      BillAddr: address(
        index,
        `${10 + index} ${['George', 'Pitt', 'Oxford', 'Crown', 'King'][index % 5] ?? 'George'} Street`,
      ),
      DefaultTaxCodeRef: { value: AU_TAX_CODE_IDS.gst },
    });
  });
  PEOPLE.forEach(([given, family], index) => {
    create({
      GivenName: given,
      FamilyName: family,
      DisplayName: `${given} ${family}`,
      PrimaryEmailAddr: { Address: `${slug(`${given}.${family}`)}@example.com.au` },
      PrimaryPhone: { FreeFormNumber: `04${String(10_000_000 + index * 7_654_321).slice(0, 8)}` },
      BillAddr: address(
        index + 3,
        `${index + 2} ${['Beach', 'Park', 'Hill', 'Bay'][index % 4] ?? 'Beach'} Road`,
      ),
    });
  });
  for (const [name, parent, billWithParent] of DEMO_SUB_CUSTOMERS) {
    create({
      DisplayName: name,
      Job: true,
      ParentRef: { value: ids.get(parent) },
      BillWithParent: billWithParent,
    });
  }
  for (const name of DEMO_INACTIVE_CUSTOMER_NAMES) {
    const id = ids.get(name);
    const record = id === undefined ? undefined : company.get('Customer', id);
    if (record)
      sim.service.update(company, 'Customer', {
        Id: id,
        SyncToken: record.data.SyncToken,
        sparse: true,
        Active: false,
      });
  }
  sim.service.create(company, 'Vendor', { DisplayName: DEMO_VENDOR_NAME, CompanyName: DEMO_VENDOR_NAME });
  sim.service.create(company, 'Vendor', {
    DisplayName: 'Harbour City Hardware',
    CompanyName: 'Harbour City Hardware',
  });
  sim.service.create(company, 'Employee', {
    GivenName: 'Jordan',
    FamilyName: 'Reeves',
    DisplayName: DEMO_EMPLOYEE_NAME,
  });
  return ids;
}

function seedItems(sim: Simulator, company: Company): Map<string, string> {
  const ids = new Map<string, string>();
  let sku = 100;
  const create = (fields: Json): void => {
    const record = sim.service.create(company, 'Item', { ...fields, Sku: `HE-${sku++}` });
    ids.set(String(record.Name), String(record.Id));
  };
  for (const [name, price, cost, taxCode] of SERVICES) {
    const purchased =
      cost === null ? {} : { PurchaseCost: cost, PurchaseDesc: name, ExpenseAccountRef: { value: '5' } };
    create({
      Name: name,
      Type: 'Service',
      Description: name,
      UnitPrice: price,
      IncomeAccountRef: { value: ACCOUNT_IDS.services },
      SalesTaxCodeRef: { value: taxCode },
      ...purchased,
    });
  }
  MATERIALS.forEach(([base, sizes, price, cost], familyIndex) => {
    sizes.forEach((size, sizeIndex) => {
      const name = size === 'Standard' ? base : `${base} ${size}`;
      const unitPrice = Math.round((price + sizeIndex * price * 0.15) * 100) / 100;
      // Every third family is bought ad hoc and carries no purchase information.
      const purchased =
        familyIndex % 3 === 2 || cost === 0
          ? {}
          : {
              PurchaseCost: Math.round((cost + sizeIndex * cost * 0.15) * 100) / 100,
              PurchaseDesc: `${name} (supplier)`,
              ExpenseAccountRef: { value: ACCOUNT_IDS.costOfSales },
            };
      create({
        Name: name,
        Type: 'NonInventory',
        Description: name,
        UnitPrice: unitPrice,
        IncomeAccountRef: { value: ACCOUNT_IDS.sales },
        SalesTaxCodeRef: { value: AU_TAX_CODE_IDS.gst },
        ...purchased,
      });
    });
  });
  for (const name of [
    'Legacy Maintenance Plan',
    'Batten Holder',
    'Ceiling Fan 52" Timber',
    'Heat Shrink Kit',
  ]) {
    const id = ids.get(name);
    const record = id === undefined ? undefined : company.get('Item', id);
    if (record)
      sim.service.update(company, 'Item', {
        Id: id,
        SyncToken: record.data.SyncToken,
        sparse: true,
        Active: false,
      });
  }
  return ids;
}

function line(
  itemId: string | undefined,
  qty: number,
  unitPrice: number,
  taxCode: string,
  description?: string,
): Json {
  return {
    DetailType: 'SalesItemLineDetail',
    Amount: Math.round(qty * unitPrice * 100) / 100,
    Description: description,
    SalesItemLineDetail: {
      ItemRef: { value: itemId },
      Qty: qty,
      UnitPrice: unitPrice,
      TaxCodeRef: { value: taxCode },
    },
  };
}

/**
 * A GST 10 % line priced tax-inclusive (qty × gross unit price), written the way the running switch reads it,
 * so the demo invoice totals the same either way: by default Amount = net, TaxInclusiveAmt = gross, UnitPrice
 * = net ÷ qty; with `taxInclusiveAmountIsGross` the old gross Amount.
 */
function inclusiveLine(
  sim: Simulator,
  itemId: string | undefined,
  qty: number,
  grossUnitPrice: number,
  taxCode: string,
): Json {
  const gross = line(itemId, qty, grossUnitPrice, taxCode);
  if (sim.options.taxInclusiveAmountIsGross) return gross;
  const grossCents = Math.round(qty * grossUnitPrice * 100);
  const netCents = grossCents - taxInGross(grossCents, rateToScaled(10));
  const detail = gross.SalesItemLineDetail as Json;
  return {
    ...gross,
    Amount: fromCents(netCents),
    SalesItemLineDetail: {
      ...detail,
      UnitPrice: Number((netCents / 100 / qty).toFixed(7)),
      TaxInclusiveAmt: fromCents(grossCents),
    },
  };
}

function seedTransactions(
  sim: Simulator,
  company: Company,
  customers: Map<string, string>,
  items: Map<string, string>,
): void {
  const day = 24 * 3600 * 1000;
  const now = sim.clock.nowMs();
  const labour = items.get('Labour - Electrician (per hour)');
  const downlight = items.get('LED Downlight 10W');
  const permit = items.get('Council Permit Lodgement');
  const invoices: Array<[string, string, Json[], string]> = [
    [
      'QB-1001',
      'Circular Quay Hotel',
      [line(labour, 6, 95, AU_TAX_CODE_IDS.gst), line(downlight, 24, 28.5, AU_TAX_CODE_IDS.gst)],
      'TaxExcluded',
    ],
    ['QB-1002', 'Olivia Chen', [inclusiveLine(sim, labour, 2, 95, AU_TAX_CODE_IDS.gst)], 'TaxInclusive'],
    [
      'QB-1003',
      'Mosman Real Estate',
      [line(labour, 3.5, 95, AU_TAX_CODE_IDS.gst), line(permit, 1, 75, AU_TAX_CODE_IDS.outOfScope)],
      'TaxExcluded',
    ],
    ['QB-1004', 'Ridgeway - 12 Ocean St', [line(labour, 1, 95, AU_TAX_CODE_IDS.gst)], 'TaxExcluded'],
  ];
  const created = invoices.map(([docNumber, customer, lines, mode], index) =>
    sim.service.create(company, 'Invoice', {
      DocNumber: docNumber,
      TxnDate: formatTxnDate(now - (20 - index * 3) * day),
      CustomerRef: { value: customers.get(customer) },
      GlobalTaxCalculation: mode,
      Line: lines,
      PrivateNote: 'Entered in QuickBooks',
    }),
  );
  const [first, second] = created;
  if (first) {
    sim.service.create(company, 'Payment', {
      CustomerRef: first.CustomerRef,
      TotalAmt: first.TotalAmt,
      PaymentMethodRef: { value: '3' },
      TxnDate: formatTxnDate(now - 10 * day),
      Line: [{ Amount: first.TotalAmt, LinkedTxn: [{ TxnId: first.Id, TxnType: 'Invoice' }] }],
    });
  }
  if (second) {
    sim.service.create(company, 'Payment', {
      CustomerRef: second.CustomerRef,
      TotalAmt: 100,
      PaymentMethodRef: { value: '1' },
      TxnDate: formatTxnDate(now - 5 * day),
      Line: [{ Amount: 100, LinkedTxn: [{ TxnId: second.Id, TxnType: 'Invoice' }] }],
    });
  }
}

/** Foreign customers (export work, GST free) and one QBO-born invoice in NZD. */
function seedForeignCustomers(sim: Simulator, company: Company, items: Map<string, string>): void {
  const ids = DEMO_FOREIGN_CUSTOMERS.map(([name, currency], index) =>
    sim.service.create(company, 'Customer', {
      DisplayName: name,
      CompanyName: name,
      CurrencyRef: { value: currency },
      PrimaryEmailAddr: { Address: `accounts@${slug(name).replace(/\./g, '')}.example` },
      BillAddr: address(index + 7, `${index + 1} Harbour Road`),
      DefaultTaxCodeRef: { value: AU_TAX_CODE_IDS.gstFree },
    }),
  );
  const [nz] = ids;
  if (nz) {
    sim.service.create(company, 'Invoice', {
      DocNumber: 'QB-2001',
      CustomerRef: { value: nz.Id },
      CurrencyRef: { value: 'NZD' },
      Line: [line(items.get('Labour - Electrician (per hour)'), 8, 120, AU_TAX_CODE_IDS.gstFree)],
      PrivateNote: 'Entered in QuickBooks',
    });
  }
}

export function seedDemoWorld(sim: Simulator, company: Company): void {
  sim.webhooks.muteWhile(() => {
    company.companyInfo.CompanyName = DEMO_COMPANY_NAME;
    company.companyInfo.LegalName = DEMO_COMPANY_NAME;
    sim.service.create(company, 'PaymentMethod', { Name: 'EFTPOS', Type: 'NON_CREDIT_CARD' });
    sim.service.create(company, 'PaymentMethod', { Name: 'Direct Deposit', Type: 'NON_CREDIT_CARD' });
    sim.service.create(company, 'Account', {
      Name: 'Electrical Services Income',
      AccountType: 'Income',
      AccountSubType: 'ServiceFeeIncome',
    });
    sim.service.create(company, 'Account', {
      Name: 'Vehicle Expenses',
      AccountType: 'Expense',
      AccountSubType: 'Auto',
    });
    const customers = seedPeopleAndCustomers(sim, company);
    const items = seedItems(sim, company);
    seedTransactions(sim, company, customers, items);
    if (multiCurrencyEnabled(company)) seedForeignCustomers(sim, company, items);
  });
}
