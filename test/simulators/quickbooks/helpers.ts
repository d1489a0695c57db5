import axios, { type AxiosInstance } from 'axios';
import {
  AU_TAX_CODE_IDS,
  type QuickBooksSimulatorOptions,
  type RunningQuickBooksSimulator,
  startQuickBooksSimulator,
} from '../../../simulators/quickbooks/index';

export { AU_TAX_CODE_IDS };

/** Limits high enough that only the throttle tests ever see a 429. */
export const NO_THROTTLE = {
  perMinute: 1_000_000,
  perSecond: 1_000_000,
  concurrent: 1_000,
  batchPerMinute: 1_000_000,
};

export interface TestSim {
  sim: RunningQuickBooksSimulator;
  /** Accounting API client for the default realm, with a valid bearer token; never throws on status. */
  api: AxiosInstance;
  accessToken: string;
  refreshToken: string;
}

export async function startTestSim(options: QuickBooksSimulatorOptions = {}): Promise<TestSim> {
  const sim = await startQuickBooksSimulator({ throttle: NO_THROTTLE, ...options });
  const tokens = sim.control.issueTokens();
  return {
    sim,
    api: apiClient(sim, tokens.access_token),
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token,
  };
}

export function apiClient(
  sim: RunningQuickBooksSimulator,
  accessToken: string,
  realmId = sim.realmId,
): AxiosInstance {
  return axios.create({
    baseURL: `${sim.url}/v3/company/${realmId}`,
    headers: { Authorization: `Bearer ${accessToken}`, Accept: 'application/json' },
    params: { minorversion: 75 },
    validateStatus: () => true,
  });
}

/** A plain HTTP client for the control API and OAuth endpoints. */
export function rawClient(sim: RunningQuickBooksSimulator): AxiosInstance {
  return axios.create({ baseURL: sim.url, validateStatus: () => true, maxRedirects: 0 });
}

export function salesLine(
  itemId: string,
  qty: number,
  unitPrice: number,
  taxCodeId: string,
  amount?: number,
): Record<string, unknown> {
  return {
    DetailType: 'SalesItemLineDetail',
    Amount: amount ?? Math.round(qty * unitPrice * 100) / 100,
    SalesItemLineDetail: {
      ItemRef: { value: itemId },
      Qty: qty,
      UnitPrice: unitPrice,
      TaxCodeRef: { value: taxCodeId },
    },
  };
}

export function faultCode(body: unknown): string | undefined {
  const fault = (body as { Fault?: { Error?: Array<{ code?: string }> } }).Fault;
  return fault?.Error?.[0]?.code;
}

export function faultDetail(body: unknown): string | undefined {
  const fault = (body as { Fault?: { Error?: Array<{ Detail?: string }> } }).Fault;
  return fault?.Error?.[0]?.Detail;
}

/** Creates a customer and an item (AU GST) through the API; returns their Ids. */
export async function basics(
  api: AxiosInstance,
  suffix = '',
): Promise<{ customerId: string; itemId: string }> {
  const customer = await api.post('/customer', { DisplayName: `Test Customer${suffix}` });
  const item = await api.post('/item', {
    Name: `Test Labour${suffix}`,
    Type: 'Service',
    UnitPrice: 100,
    IncomeAccountRef: { value: '2' },
  });
  if (customer.status !== 200 || item.status !== 200)
    throw new Error(`setup failed: ${JSON.stringify([customer.data, item.data])}`);
  return { customerId: String(customer.data.Customer.Id), itemId: String(item.data.Item.Id) };
}
