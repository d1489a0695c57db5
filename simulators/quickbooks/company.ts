import { formatMetaTime } from './clock';
import { Company } from './store';
import { type Country, type EntityName, type Json } from './types';

/** What a freshly created QBO company of each country carries before anyone types anything in. */

export interface CompanyProfile {
  realmId: string;
  country: Country;
  companyName: string;
}

function meta(nowMs: number): Json {
  return { CreateTime: formatMetaTime(nowMs), LastUpdatedTime: formatMetaTime(nowMs) };
}

function companyInfo(profile: CompanyProfile, nowMs: number): Json {
  const au = profile.country === 'AU';
  const address: Json = au
    ? {
        Id: '1',
        Line1: '12 Wharf Street',
        City: 'Sydney',
        CountrySubDivisionCode: 'NSW',
        PostalCode: '2000',
        Country: 'AUS',
      }
    : {
        Id: '1',
        Line1: '123 Sierra Way',
        City: 'San Pablo',
        CountrySubDivisionCode: 'CA',
        PostalCode: '87999',
        Country: 'USA',
      };
  return {
    CompanyName: profile.companyName,
    LegalName: profile.companyName,
    CompanyAddr: address,
    CustomerCommunicationAddr: address,
    LegalAddr: address,
    PrimaryPhone: { FreeFormNumber: au ? '(02) 9555 0123' : '(650) 555-1212' },
    CompanyStartDate: '2020-07-01',
    FiscalYearStartMonth: au ? 'July' : 'January',
    Country: profile.country,
    Email: { Address: au ? 'accounts@harboursideelectrical.com.au' : 'noreply@quickbooks.com' },
    WebAddr: {},
    SupportedLanguages: 'en',
    DefaultTimeZone: au ? 'Australia/Sydney' : 'America/Los_Angeles',
    NameValue: [
      { Name: 'NeoEnabled', Value: 'true' },
      { Name: 'IndustryType', Value: au ? 'Electrical contractors' : 'Landscaping Services' },
      { Name: 'CompanyType', Value: 'Company' },
      { Name: 'OfferingSku', Value: 'QuickBooks Online Plus' },
      { Name: 'SubscriptionStatus', Value: 'PAID' },
      { Name: 'PayrollFeature', Value: 'false' },
    ],
    Id: '1',
    SyncToken: '0',
    MetaData: meta(nowMs),
    domain: 'QBO',
    sparse: false,
  };
}

function preferences(profile: CompanyProfile, nowMs: number): Json {
  const au = profile.country === 'AU';
  return {
    AccountingInfoPrefs: {
      TrackDepartments: false,
      ClassTrackingPerTxn: false,
      CustomerTerminology: 'Customers',
    },
    ProductAndServicesPrefs: {
      ForSales: true,
      ForPurchase: true,
      QuantityWithPriceAndRate: true,
      QuantityOnHand: true,
    },
    SalesFormsPrefs: {
      // AU sandbox companies default to custom transaction numbers: an omitted DocNumber stays blank.
      CustomTxnNumbers: au,
      AllowDeposit: false,
      AllowDiscount: true,
      AllowEstimates: true,
      AllowServiceDate: false,
      AllowShipping: false,
      ETransactionEnabledStatus: 'NotApplicable',
      IPNSupportEnabled: false,
      UsingPriceLevels: false,
      UsingProgressInvoicing: false,
    },
    EmailMessagesPrefs: {
      InvoiceMessage: {
        Subject: 'Invoice [Invoice No.] from [Company Name]',
        Message: 'Please find your invoice attached.',
      },
    },
    VendorAndPurchasesPrefs: { TrackingByCustomer: true, BillableExpenseTracking: true },
    TaxPrefs: au
      ? { UsingSalesTax: true, PartnerTaxEnabled: false, TaxGroupCodeRef: { value: '4' } }
      : { UsingSalesTax: true, PartnerTaxEnabled: true },
    CurrencyPrefs: { MultiCurrencyEnabled: false, HomeCurrency: { value: au ? 'AUD' : 'USD' } },
    ReportPrefs: { ReportBasis: 'Accrual', CalcAgingReportFromTxnDate: false },
    Id: '1',
    SyncToken: '0',
    MetaData: meta(nowMs),
    domain: 'QBO',
    sparse: false,
  };
}

type Seed = Array<[string, Json]>;

const AU_TAX_RATES: Seed = [
  ['1', { Name: 'GST (sales)', Description: 'GST (sales)', RateValue: 10, AgencyRef: { value: '1' } }],
  [
    '2',
    { Name: 'GST (purchases)', Description: 'GST (purchases)', RateValue: 10, AgencyRef: { value: '1' } },
  ],
  [
    '3',
    { Name: 'GST free (sales)', Description: 'GST free (sales)', RateValue: 0, AgencyRef: { value: '1' } },
  ],
  [
    '4',
    {
      Name: 'GST free (purchases)',
      Description: 'GST free (purchases)',
      RateValue: 0,
      AgencyRef: { value: '1' },
    },
  ],
];

function rateList(...rateIds: string[]): Json {
  return {
    TaxRateDetail: rateIds.map((id, index) => ({
      TaxRateRef: { value: id },
      TaxTypeApplicable: 'TaxOnAmount',
      TaxOrder: index,
    })),
  };
}

/** AU tax code ids are numeric strings, per company (docs/quickbooks-api.md §4.5); these are fixed here so tests can name them. */
export const AU_TAX_CODE_IDS = { gst: '4', gstFree: '5', gstOnNonCapital: '6', outOfScope: '7' } as const;

const AU_TAX_CODES: Seed = [
  [
    AU_TAX_CODE_IDS.gst,
    {
      Name: 'GST',
      Description: 'GST',
      Taxable: true,
      TaxGroup: false,
      SalesTaxRateList: rateList('1'),
      PurchaseTaxRateList: rateList('2'),
    },
  ],
  [
    AU_TAX_CODE_IDS.gstFree,
    {
      Name: 'GST Free',
      Description: 'GST free',
      Taxable: true,
      TaxGroup: false,
      SalesTaxRateList: rateList('3'),
      PurchaseTaxRateList: rateList('4'),
    },
  ],
  [
    AU_TAX_CODE_IDS.gstOnNonCapital,
    {
      Name: 'GST on non-capital',
      Description: 'GST on non-capital purchases',
      Taxable: true,
      TaxGroup: false,
      SalesTaxRateList: rateList(),
      PurchaseTaxRateList: rateList('2'),
    },
  ],
  [
    AU_TAX_CODE_IDS.outOfScope,
    {
      Name: 'Out Of Scope',
      Description: 'Out of scope of GST',
      Taxable: false,
      TaxGroup: false,
      SalesTaxRateList: rateList(),
      PurchaseTaxRateList: rateList(),
    },
  ],
];

const US_TAX_RATES: Seed = [
  ['1', { Name: 'California', Description: 'California state tax', RateValue: 8, AgencyRef: { value: '1' } }],
];

/** US transactions use the pseudo codes TAX/NON on lines; "2" is a real code usable as TxnTaxCodeRef. */
const US_TAX_CODES: Seed = [
  ['TAX', { Name: 'TAX', Description: 'TAX', Taxable: true, TaxGroup: false }],
  ['NON', { Name: 'NON', Description: 'NON', Taxable: false, TaxGroup: false }],
  [
    '2',
    {
      Name: 'California',
      Description: 'California',
      Taxable: true,
      TaxGroup: true,
      SalesTaxRateList: rateList('1'),
    },
  ],
];

function account(name: string, type: string, subType: string): Json {
  const classification: Record<string, string> = {
    Income: 'Revenue',
    'Other Income': 'Revenue',
    Expense: 'Expense',
    'Cost of Goods Sold': 'Expense',
    Bank: 'Asset',
    'Other Current Asset': 'Asset',
    'Accounts Receivable': 'Asset',
    'Other Current Liability': 'Liability',
    Equity: 'Equity',
  };
  return {
    Name: name,
    FullyQualifiedName: name,
    SubAccount: false,
    AccountType: type,
    AccountSubType: subType,
    Classification: classification[type] ?? 'Asset',
    CurrentBalance: 0,
    CurrentBalanceWithSubAccounts: 0,
  };
}

/** Account ids the simulator's own logic depends on. */
export const ACCOUNT_IDS = {
  sales: '1',
  services: '2',
  costOfSales: '3',
  materials: '4',
  undepositedFunds: '6',
  receivable: '7',
  bank: '8',
  inventoryAsset: '10',
  discountsGiven: '12',
} as const;

function accounts(country: Country): Seed {
  return [
    [
      ACCOUNT_IDS.sales,
      account(country === 'AU' ? 'Sales' : 'Sales of Product Income', 'Income', 'SalesOfProductIncome'),
    ],
    [ACCOUNT_IDS.services, account('Services', 'Income', 'ServiceFeeIncome')],
    [ACCOUNT_IDS.costOfSales, account('Cost of sales', 'Cost of Goods Sold', 'SuppliesMaterialsCogs')],
    [ACCOUNT_IDS.materials, account('Materials and Supplies', 'Expense', 'SuppliesMaterials')],
    ['5', account('Subcontractors', 'Cost of Goods Sold', 'OtherCostsOfServiceCos')],
    [ACCOUNT_IDS.undepositedFunds, account('Undeposited Funds', 'Other Current Asset', 'UndepositedFunds')],
    [
      ACCOUNT_IDS.receivable,
      account('Accounts Receivable (A/R)', 'Accounts Receivable', 'AccountsReceivable'),
    ],
    [
      ACCOUNT_IDS.bank,
      account(country === 'AU' ? 'Business Cheque Account' : 'Checking', 'Bank', 'Checking'),
    ],
    [
      '9',
      account(
        country === 'AU' ? 'GST Payable' : 'Sales Tax Payable',
        'Other Current Liability',
        'GlobalTaxPayable',
      ),
    ],
    [ACCOUNT_IDS.inventoryAsset, account('Inventory Asset', 'Other Current Asset', 'Inventory')],
    ['11', account('Retained Earnings', 'Equity', 'RetainedEarnings')],
    [ACCOUNT_IDS.discountsGiven, account('Discounts given', 'Income', 'DiscountsRefundsGiven')],
  ];
}

function paymentMethods(country: Country): Seed {
  const names: Array<[string, string]> =
    country === 'AU'
      ? [
          ['Cash', 'NON_CREDIT_CARD'],
          ['Cheque', 'NON_CREDIT_CARD'],
          ['Credit Card', 'CREDIT_CARD'],
        ]
      : [
          ['Cash', 'NON_CREDIT_CARD'],
          ['Check', 'NON_CREDIT_CARD'],
          ['Visa', 'CREDIT_CARD'],
        ];
  return names.map(([name, type], index) => [String(index + 1), { Name: name, Type: type }]);
}

/** Writes a record directly (no validation, no events): used only for a company's built-in data. */
export function insertRaw(
  company: Company,
  entity: EntityName,
  id: string,
  fields: Json,
  nowMs: number,
): void {
  company.table(entity).set(id, {
    data: {
      ...fields,
      Active: fields.Active ?? true,
      Id: id,
      SyncToken: '0',
      MetaData: meta(nowMs),
      domain: 'QBO',
      sparse: false,
    },
    createdMs: nowMs,
    updatedMs: nowMs,
  });
  company.noteId(entity, id);
}

export function createCompany(profile: CompanyProfile, nowMs: number): Company {
  const company = new Company(
    profile.realmId,
    profile.country,
    companyInfo(profile, nowMs),
    preferences(profile, nowMs),
  );
  const au = profile.country === 'AU';
  const sets: Array<[EntityName, Seed]> = [
    ['TaxRate', au ? AU_TAX_RATES : US_TAX_RATES],
    ['TaxCode', au ? AU_TAX_CODES : US_TAX_CODES],
    ['Account', accounts(profile.country)],
    ['PaymentMethod', paymentMethods(profile.country)],
  ];
  for (const [entity, rows] of sets) {
    for (const [id, fields] of rows) insertRaw(company, entity, id, structuredClone(fields), nowMs);
  }
  company.counters.set('TaxCode', 20);
  return company;
}
