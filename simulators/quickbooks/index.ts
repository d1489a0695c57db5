import { type AddressInfo } from 'node:net';
import { CallLog } from './calls';
import { SimClock } from './clock';
import { createCompany } from './company';
import { type QuickBooksSimulatorOptions, resolveOptions } from './config';
import { type Simulator } from './context';
import { SimControl } from './control';
import { FaultInjector } from './faults';
import { OAuthServer } from './oauth';
import { buildServer } from './server';
import { AccountingService } from './service';
import { Store } from './store';
import { Throttle } from './throttle';
import { type EntityName, type Json } from './types';
import { WebhookDispatcher } from './webhooks';
import { QBO_CONTROL_READS, captureQboState, loadQboState, qboStateSpec } from './persistence';
import { StatePersistence, afterEveryCall, readStateFile } from '../state-file';

export { quickBooksSimulatorOptionsFromEnv, DEFAULTS as QBO_SIM_DEFAULTS } from './config';
export type {
  QuickBooksSimulatorOptions,
  ThrottleOptions,
  WebhookFormat,
  RefreshTokenRotation,
  RequestIdMode,
} from './config';
export { SimControl } from './control';
export { StateFileError } from '../state-file';
export type { QboState } from './persistence';
export type { SimStats, SimSnapshot, RuntimeSwitches, TaxCodeChange } from './control';
export type { FaultRule, ActiveFaultRule } from './faults';
export type { WebhookChaos, WebhookDelivery, WebhookEvent } from './webhooks';
export { signWebhookBody, RETRY_SCHEDULE_MS, WEBHOOK_MATRIX } from './webhooks';
export type { CallRecord } from './calls';
export type { EntityName, Json, ChangeEvent, Operation } from './types';
export { AU_TAX_CODE_IDS, ACCOUNT_IDS } from './company';
export {
  DEMO_COMPANY_NAME,
  DEMO_SHARED_CUSTOMER_NAMES,
  DEMO_VENDOR_NAME,
  DEMO_EMPLOYEE_NAME,
  DEMO_COLLIDING_NAMES,
  DEMO_INACTIVE_CUSTOMER_NAMES,
  DEMO_SUB_CUSTOMERS,
  DEMO_FOREIGN_CUSTOMERS,
  DEMO_EXCHANGE_RATES,
} from './seed';
export { CURRENCY_NAMES } from './entities/currency';

/** Read-only access to the simulated companies, bypassing HTTP and auth. */
export interface QuickBooksStoreReader {
  realms(): string[];
  get(entity: EntityName, id: string, realmId?: string): Json | undefined;
  list(entity: EntityName, realmId?: string): Json[];
  companyInfo(realmId?: string): Json | undefined;
  preferences(realmId?: string): Json | undefined;
}

export interface RunningQuickBooksSimulator {
  /** e.g. http://127.0.0.1:4020 */
  url: string;
  port: number;
  /** The default company. */
  realmId: string;
  /** Endpoints to hand to intuit-oauth's setAuthorizeURLs. */
  oauthEndpoints: {
    authorizeEndpoint: string;
    tokenEndpoint: string;
    revokeEndpoint: string;
    userInfoEndpoint: string;
  };
  /** Base for node-quickbooks' QuickBooks.V3_ENDPOINT_BASE_URL (ends with /v3/company/). */
  accountingBaseUrl: string;
  control: SimControl;
  store: QuickBooksStoreReader;
  /**
   * With `stateFile`: resolves once no save is pending (the file then holds every change so far), with the
   * number of saves since start (0 without a state file).
   */
  stateSaved(): Promise<number>;
  stop(): Promise<void>;
}

export async function startQuickBooksSimulator(
  opts: QuickBooksSimulatorOptions = {},
): Promise<RunningQuickBooksSimulator> {
  const options = resolveOptions(opts);
  const clock = new SimClock(opts.now);
  const store = new Store();
  store.add(
    createCompany(
      { realmId: options.realmId, country: 'AU', companyName: 'Sandbox Company_AU_1' },
      clock.nowMs(),
    ),
  );
  const webhooks = new WebhookDispatcher(clock, {
    url: options.webhookUrl,
    format: options.webhookFormat,
    verifier: options.webhookVerifier,
    clientId: options.clientId,
    batchWindowMs: options.webhookBatchWindowMs,
    retryScale: options.webhookRetryScale,
    timeoutMs: options.webhookTimeoutMs,
    maxBatch: options.webhookMaxBatch,
  });
  const sim: Simulator = {
    options,
    clock,
    store,
    service: new AccountingService(clock, options, (event) => webhooks.enqueue(event)),
    oauth: new OAuthServer(
      clock,
      () => sim.options,
      (realmId) => store.company(realmId) !== undefined,
    ),
    throttle: new Throttle(clock, () => sim.options.throttle),
    webhooks,
    faults: new FaultInjector(),
    calls: new CallLog(),
  };
  const control = new SimControl(sim);
  const spec = opts.stateFile === undefined ? undefined : qboStateSpec(opts.stateFile);
  const saved = spec === undefined ? undefined : readStateFile(spec);
  if (spec && saved) {
    // A saved world wins over seedDemo and multiCurrency: they shaped it when it was first created.
    loadQboState(sim, control, spec, saved);
  } else {
    if (opts.multiCurrency) {
      const rates = typeof opts.multiCurrency === 'object' ? opts.multiCurrency.exchangeRates : undefined;
      control.enableMultiCurrency(rates === undefined ? {} : { exchangeRates: rates });
    }
    if (options.seedDemo) control.seed({ world: 'demo' });
  }
  let persistence: StatePersistence | undefined;
  if (spec) {
    const state = new StatePersistence({
      spec,
      delayMs: opts.stateSaveDelayMs ?? 250,
      capture: () => captureQboState(sim),
      now: () => clock.now(),
      report: (error) => process.stderr.write(`${error.message}\n`),
    });
    if (!saved) state.saveNow();
    afterEveryCall(control, QBO_CONTROL_READS, () => state.markDirty());
    clock.onChange(() => state.markDirty());
    persistence = state;
  }

  const app = await buildServer(sim, control, persistence && (() => persistence?.markDirty()));
  await app.listen({ port: options.port, host: options.host });
  const port = (app.server.address() as AddressInfo).port;
  const url = `http://${options.host}:${port}`;
  const reader: QuickBooksStoreReader = {
    realms: () => [...store.companies.keys()],
    get: (entity, id, realmId) => control.getRecord(entity, id, realmId),
    list: (entity, realmId) => control.listRecords(entity, realmId),
    companyInfo: (realmId) => store.company(realmId ?? options.realmId)?.companyInfo,
    preferences: (realmId) => store.company(realmId ?? options.realmId)?.preferences,
  };
  let stopped = false;
  return {
    url,
    port,
    realmId: options.realmId,
    oauthEndpoints: {
      authorizeEndpoint: `${url}/connect/oauth2`,
      tokenEndpoint: `${url}/oauth2/v1/tokens/bearer`,
      revokeEndpoint: `${url}/v2/oauth2/tokens/revoke`,
      userInfoEndpoint: `${url}/v1/openid_connect/userinfo`,
    },
    accountingBaseUrl: `${url}/v3/company/`,
    control,
    store: reader,
    stateSaved: () => persistence?.idle() ?? Promise.resolve(0),
    async stop() {
      if (stopped) return;
      stopped = true;
      await webhooks.stop();
      await app.close();
      persistence?.stop();
    },
  };
}
