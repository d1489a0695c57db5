import { type FastifyInstance, type FastifyReply } from 'fastify';
import { type CallRecord } from './calls';
import { createCompany } from './company';
import {
  type DeactivateOperation,
  type RefreshTokenRotation,
  type RequestIdMode,
  type ThrottleOptions,
  type WebhookFormat,
} from './config';
import { type Simulator } from './context';
import { entityByName, ENTITY_NAMES } from './entities/index';
import { type SalesFormEntity } from './entities/sales-form';
import { QboFault, faults } from './errors';
import { type ActiveFaultRule, type FaultRule } from './faults';
import { type OAuthSnapshot } from './oauth';
import { DEMO_EXCHANGE_RATES, seedDemoWorld } from './seed';
import { formatMetaTime } from './clock';
import { CURRENCY_NAMES } from './entities/currency';
import { type Company, type CompanySnapshot } from './store';
import { type Country, type EntityName, type Json, asArray, asString, isJson } from './types';
import { type WebhookChaos, type WebhookDelivery, type WebhookEvent } from './webhooks';

export interface SimStats {
  perEndpoint: Record<string, number>;
  throttled: number;
  meteredReads: Record<string, number>;
  tokenRefreshes: Record<string, number>;
  invalidGrants: number;
  invalidGrantsByRealm: Record<string, number>;
  webhookDeliveries: number;
  webhookPending: number;
}

export interface SimSnapshot {
  version: 1;
  companies: CompanySnapshot[];
  oauth: OAuthSnapshot;
}

export interface RuntimeSwitches {
  requestIdMode?: RequestIdMode;
  refreshTokenRotation?: RefreshTokenRotation;
  refreshTokenGraceSeconds?: number;
  accessTokenTtlSeconds?: number;
  throttle?: ThrottleOptions;
  deactivateOperation?: DeactivateOperation;
  /** TaxInclusive Amount read as the gross (the old reading); see README, Tax maths. */
  taxInclusiveAmountIsGross?: boolean;
  currencyRefRequired?: boolean;
  queryMaxInValues?: number;
  phoneMaxLength?: number;
  emptyEmailClears?: boolean;
  paymentOperationVoid?: boolean;
  voidNoteMarked?: boolean;
  allowNegativeLines?: boolean;
}

export interface TaxCodeChange {
  /** Omit to create a new code. */
  Id?: string;
  Name?: string;
  Description?: string;
  /** Creates a new sales TaxRate with this percentage and points the code at it. */
  RateValue?: number;
  Active?: boolean;
}

/**
 * The control surface: everything a test (or the lead's dev stack) does to the simulated world that is not an
 * Intuit API call. The HTTP routes under /__sim and the typed handle both call these methods.
 */
export class SimControl {
  constructor(private readonly sim: Simulator) {}

  private company(realmId?: string): Company {
    const id = realmId ?? this.sim.options.realmId;
    const company = this.sim.store.company(id);
    if (!company) throw new Error(`unknown realm ${id}`);
    return company;
  }

  private entity(name: string): EntityName {
    const entity = entityByName(name);
    if (!entity) throw new Error(`unknown entity ${name}; one of ${ENTITY_NAMES.join(', ')}`);
    return entity;
  }

  /** Back to a fresh simulator: one empty AU company, no tokens, no faults, no webhook history. */
  reset(opts: { seedDemo?: boolean } = {}): void {
    this.sim.store.clear();
    this.sim.oauth.reset();
    this.sim.faults.clear();
    this.sim.throttle.reset();
    this.sim.webhooks.reset();
    this.sim.calls.reset();
    this.createRealm({ realmId: this.sim.options.realmId });
    if (opts.seedDemo) this.seed({ world: 'demo' });
  }

  createRealm(opts: { realmId?: string; country?: Country; companyName?: string } = {}): string {
    // 16 digits like a real realm id, random over 10^12 so that worlds sharing one database (tests) do not
    // collide (1,000 choices did, as tests grew).
    const realmId = opts.realmId ?? `9341${String(Math.floor(Math.random() * 1e12)).padStart(12, '0')}`;
    const country = opts.country ?? 'AU';
    const companyName =
      opts.companyName ?? (country === 'AU' ? 'Sandbox Company_AU_1' : 'Sandbox Company_US_1');
    this.sim.store.add(createCompany({ realmId, country, companyName }, this.sim.clock.nowMs()));
    return realmId;
  }

  /** The demo world; `multiCurrency` turns multicurrency on first, so foreign-currency customers are added. */
  seed(opts: { world: 'demo'; realmId?: string; multiCurrency?: boolean }): void {
    if (opts.world !== 'demo') throw new Error(`unknown world ${String(opts.world)}`);
    const company = this.company(opts.realmId);
    if (opts.multiCurrency === true) this.enableMultiCurrency({ realmId: company.realmId });
    seedDemoWorld(this.sim, company);
  }

  /**
   * The bookkeeper turns multicurrency on (QBO: in the UI only, and never off again). `exchangeRates` (home
   * units per foreign unit) default to DEMO_EXCHANGE_RATES. Returns the company's Preferences.
   */
  enableMultiCurrency(opts: { realmId?: string; exchangeRates?: Record<string, number> } = {}): Json {
    const company = this.company(opts.realmId);
    const prefs = company.preferences;
    const currencyPrefs = { ...(isJson(prefs.CurrencyPrefs) ? prefs.CurrencyPrefs : {}) };
    if (currencyPrefs.MultiCurrencyEnabled !== true) {
      currencyPrefs.MultiCurrencyEnabled = true;
      prefs.CurrencyPrefs = currencyPrefs;
      prefs.SyncToken = String(Number(prefs.SyncToken ?? 0) + 1);
      prefs.MetaData = {
        ...(isJson(prefs.MetaData) ? prefs.MetaData : {}),
        LastUpdatedTime: formatMetaTime(this.sim.clock.nowMs()),
      };
    }
    for (const [code, rate] of Object.entries(opts.exchangeRates ?? DEMO_EXCHANGE_RATES)) {
      this.setExchangeRate(code, rate, company.realmId);
    }
    return prefs;
  }

  /** The company's current rate for a currency: what a foreign transaction without ExchangeRate gets. */
  setExchangeRate(currency: string, rate: number, realmId?: string): void {
    const code = currency.toUpperCase();
    if (CURRENCY_NAMES[code] === undefined) throw new Error(`unknown currency ${currency}`);
    if (!Number.isFinite(rate) || rate <= 0)
      throw new Error(`exchange rate must be a positive number, got ${rate}`);
    this.company(realmId).exchangeRates.set(code, String(rate));
  }

  listRecords(entity: string, realmId?: string): Json[] {
    const name = this.entity(entity);
    const company = this.company(realmId);
    return this.sim.service.present(company, name, company.all(name));
  }

  getRecord(entity: string, id: string, realmId?: string): Json | undefined {
    const name = this.entity(entity);
    const company = this.company(realmId);
    const record = company.get(name, id);
    return record ? this.sim.service.present(company, name, [record])[0] : undefined;
  }

  /**
   * A change made by a person in the QBO UI: validated like an API write and raising webhooks, but no token and
   * no SyncToken needed; with an Id it is a sparse update (or a create with that Id when none exists).
   */
  upsertRecord(entity: string, fields: Json, realmId?: string): Json {
    const name = this.entity(entity);
    const company = this.company(realmId);
    const id = asString(fields.Id);
    if (id !== undefined && company.get(name, id))
      return this.sim.service.update(company, name, fields, { asUser: true });
    return this.sim.service.create(company, name, fields, { asUser: true });
  }

  advanceClock(ms: number): string {
    this.sim.clock.advance(ms);
    return this.sim.clock.now().toISOString();
  }

  setClock(at: string | Date): string {
    const date = typeof at === 'string' ? new Date(at) : at;
    if (Number.isNaN(date.getTime())) throw new Error(`invalid date ${String(at)}`);
    this.sim.clock.set(date);
    return this.sim.clock.now().toISOString();
  }

  now(): string {
    return this.sim.clock.now().toISOString();
  }

  addFault(rule: FaultRule): ActiveFaultRule {
    return this.sim.faults.add(rule);
  }

  listFaults(): ActiveFaultRule[] {
    return this.sim.faults.list();
  }

  clearFaults(): void {
    this.sim.faults.clear();
  }

  /** The next `count` Accounting API requests (optionally to one realm) answer 429. */
  forceThrottle(count: number, realmId?: string): void {
    this.sim.throttle.force(count, realmId);
  }

  pauseWebhooks(): void {
    this.sim.webhooks.pause();
  }

  resumeWebhooks(): void {
    this.sim.webhooks.resume();
  }

  webhookChaos(chaos: Partial<WebhookChaos>): WebhookChaos {
    return this.sim.webhooks.setChaos(chaos);
  }

  webhookDeliveries(): WebhookDelivery[] {
    return [...this.sim.webhooks.deliveries];
  }

  webhookEvents(): WebhookEvent[] {
    return [...this.sim.webhooks.events];
  }

  flushWebhooks(): Promise<WebhookDelivery[]> {
    return this.sim.webhooks.flush();
  }

  configureWebhooks(config: {
    url?: string | null;
    format?: WebhookFormat;
    verifier?: string;
    batchWindowMs?: number;
    retryScale?: number;
  }): void {
    const target = this.sim.webhooks.config;
    if (config.url !== undefined) target.url = config.url ?? undefined;
    if (config.format !== undefined) target.format = config.format;
    if (config.verifier !== undefined) target.verifier = config.verifier;
    if (config.batchWindowMs !== undefined) target.batchWindowMs = config.batchWindowMs;
    if (config.retryScale !== undefined) target.retryScale = config.retryScale;
  }

  markInvoicePrinted(invoiceId: string, realmId?: string): Json {
    return this.sim.service.markPrinted(this.company(realmId), invoiceId);
  }

  /**
   * The bookkeeper voids (Invoice, CreditMemo, RefundReceipt, Payment) or deletes a transaction in the UI:
   * the same engine calls as the Accounting API's void and delete (same refusals, same webhooks), without a
   * token or SyncToken.
   */
  voidOrDelete(opts: { action: 'void' | 'delete'; entity: string; id: string; realmId?: string }): Json {
    const company = this.company(opts.realmId);
    const current = this.sim.service.read(company, this.entity(opts.entity), opts.id);
    const input = { Id: opts.id, SyncToken: current.SyncToken };
    if (opts.action === 'delete')
      return this.sim.service.deleteTransaction(company, opts.entity as EntityName, input);
    if (opts.entity === 'Payment') return this.sim.service.voidPayment(company, input);
    if (!['Invoice', 'CreditMemo', 'RefundReceipt'].includes(opts.entity))
      throw new Error('void supports Invoice, CreditMemo, RefundReceipt and Payment');
    return this.sim.service.voidSalesForm(company, opts.entity as SalesFormEntity, input);
  }

  merge(opts: { entity: 'Customer' | 'Item'; fromId: string; toId: string; realmId?: string }): Json {
    if (opts.entity !== 'Customer' && opts.entity !== 'Item')
      throw new Error('merge supports Customer and Item');
    return this.sim.service.merge(this.company(opts.realmId), opts.entity, opts.fromId, opts.toId);
  }

  /** Adds, changes or inactivates a tax code as a bookkeeper would (TaxCode has no webhooks and no CDC). */
  upsertTaxCode(change: TaxCodeChange, realmId?: string): Json {
    const company = this.company(realmId);
    const fields: Json = {};
    if (change.Name !== undefined) fields.Name = change.Name;
    if (change.Description !== undefined) fields.Description = change.Description;
    if (change.Active !== undefined) fields.Active = change.Active;
    if (change.RateValue !== undefined) {
      const rateName = `${change.Name ?? 'Rate'} (sales)`;
      const rate = this.sim.service.create(
        company,
        'TaxRate',
        { Name: rateName, Description: rateName, RateValue: change.RateValue },
        { asUser: true },
      );
      fields.SalesTaxRateList = {
        TaxRateDetail: [
          { TaxRateRef: { value: rate.Id, name: rateName }, TaxTypeApplicable: 'TaxOnAmount', TaxOrder: 0 },
        ],
      };
    }
    if (change.Id !== undefined && company.get('TaxCode', change.Id)) {
      return this.sim.service.update(
        company,
        'TaxCode',
        { ...fields, Id: change.Id, sparse: true },
        { asUser: true },
      );
    }
    if (change.Name === undefined) throw new Error('a new tax code needs a Name');
    return this.sim.service.create(
      company,
      'TaxCode',
      { Taxable: true, TaxGroup: false, PurchaseTaxRateList: { TaxRateDetail: [] }, ...fields },
      { asUser: true },
    );
  }

  /** The user disconnects the app in QBO: every token of the realm stops working (invalid_grant, 401). */
  revokeRealmTokens(realmId?: string): number {
    return this.sim.oauth.revokeRealm(realmId ?? this.sim.options.realmId);
  }

  /** Tokens without the consent flow, for tests about something else. */
  issueTokens(realmId?: string): { access_token: string; refresh_token: string; realmId: string } {
    return this.sim.oauth.issueDirect(this.company(realmId).realmId);
  }

  configure(switches: RuntimeSwitches): void {
    const options = this.sim.options;
    if (switches.requestIdMode !== undefined) options.requestIdMode = switches.requestIdMode;
    if (switches.refreshTokenRotation !== undefined)
      options.refreshTokenRotation = switches.refreshTokenRotation;
    if (switches.refreshTokenGraceSeconds !== undefined)
      options.refreshTokenGraceSeconds = switches.refreshTokenGraceSeconds;
    if (switches.accessTokenTtlSeconds !== undefined)
      options.accessTokenTtlSeconds = switches.accessTokenTtlSeconds;
    if (switches.deactivateOperation !== undefined)
      options.deactivateOperation = switches.deactivateOperation;
    if (switches.throttle !== undefined) options.throttle = { ...options.throttle, ...switches.throttle };
    if (switches.taxInclusiveAmountIsGross !== undefined)
      options.taxInclusiveAmountIsGross = switches.taxInclusiveAmountIsGross;
    if (switches.phoneMaxLength !== undefined) options.phoneMaxLength = switches.phoneMaxLength;
    if (switches.currencyRefRequired !== undefined)
      options.currencyRefRequired = switches.currencyRefRequired;
    if (switches.queryMaxInValues !== undefined) options.queryMaxInValues = switches.queryMaxInValues;
    if (switches.emptyEmailClears !== undefined) options.emptyEmailClears = switches.emptyEmailClears;
    if (switches.paymentOperationVoid !== undefined)
      options.paymentOperationVoid = switches.paymentOperationVoid;
    if (switches.voidNoteMarked !== undefined) options.voidNoteMarked = switches.voidNoteMarked;
    if (switches.allowNegativeLines !== undefined) options.allowNegativeLines = switches.allowNegativeLines;
  }

  calls(): CallRecord[] {
    return [...this.sim.calls.calls];
  }

  stats(): SimStats {
    return {
      perEndpoint: Object.fromEntries(this.sim.calls.perEndpoint),
      throttled: this.sim.calls.throttled,
      meteredReads: Object.fromEntries(this.sim.calls.meteredReads),
      tokenRefreshes: Object.fromEntries(this.sim.oauth.refreshesByRealm),
      invalidGrants: this.sim.oauth.invalidGrants,
      invalidGrantsByRealm: Object.fromEntries(this.sim.oauth.invalidGrantsByRealm),
      webhookDeliveries: this.sim.webhooks.deliveries.length,
      webhookPending: this.sim.webhooks.pending,
    };
  }

  snapshot(): SimSnapshot {
    return { version: 1, companies: this.sim.store.snapshot(), oauth: this.sim.oauth.snapshot() };
  }

  loadSnapshot(snapshot: SimSnapshot): void {
    if (snapshot.version !== 1 || !Array.isArray(snapshot.companies))
      throw new Error('not a simulator snapshot (version 1)');
    this.sim.store.load(snapshot.companies);
    this.sim.oauth.load(snapshot.oauth);
  }
}

function body(value: unknown): Json {
  return isJson(value) ? value : {};
}

function query(value: unknown): Record<string, string | undefined> {
  const result: Record<string, string | undefined> = {};
  if (isJson(value)) for (const [key, v] of Object.entries(value)) result[key] = asString(v);
  return result;
}

async function answer(reply: FastifyReply, action: () => unknown): Promise<FastifyReply> {
  try {
    const result = await action();
    return reply.code(200).send(result ?? { ok: true });
  } catch (error) {
    if (error instanceof QboFault) return reply.code(error.status).send(error.toJSON());
    return reply.code(400).send({ error: error instanceof Error ? error.message : String(error) });
  }
}

/** HTTP face of SimControl: `/__sim/...`, no authentication (it is not part of Intuit's API). */
export function registerControlRoutes(app: FastifyInstance, control: SimControl): void {
  app.post('/__sim/reset', (request, reply) =>
    answer(reply, () => control.reset({ seedDemo: body(request.body).seedDemo === true })),
  );
  app.post('/__sim/seed', (request, reply) =>
    answer(reply, () => {
      const b = body(request.body);
      control.seed({
        world: b.world as 'demo',
        realmId: asString(b.realmId),
        multiCurrency: b.multiCurrency === true,
      });
    }),
  );
  app.post('/__sim/multicurrency', (request, reply) =>
    answer(reply, () => {
      const b = body(request.body);
      return control.enableMultiCurrency({
        realmId: asString(b.realmId),
        exchangeRates: isJson(b.exchangeRates) ? (b.exchangeRates as Record<string, number>) : undefined,
      });
    }),
  );
  app.post('/__sim/exchangerates', (request, reply) =>
    answer(reply, () => {
      const b = body(request.body);
      control.setExchangeRate(String(b.currency), Number(b.rate), asString(b.realmId));
    }),
  );
  app.post('/__sim/realms', (request, reply) =>
    answer(reply, () => {
      const b = body(request.body);
      return {
        realmId: control.createRealm({
          realmId: asString(b.realmId),
          country: b.country as Country | undefined,
          companyName: asString(b.companyName),
        }),
      };
    }),
  );
  app.get('/__sim/records/:entity', (request, reply) =>
    answer(reply, () => {
      const { entity } = request.params as { entity: string };
      return control.listRecords(entity, query(request.query).realmId);
    }),
  );
  app.get('/__sim/records/:entity/:id', (request, reply) =>
    answer(reply, () => {
      const { entity, id } = request.params as { entity: string; id: string };
      const record = control.getRecord(entity, id, query(request.query).realmId);
      if (!record) throw faults.objectNotFound();
      return record;
    }),
  );
  app.post('/__sim/records/:entity', (request, reply) =>
    answer(reply, () => {
      const { entity } = request.params as { entity: string };
      const realmId = query(request.query).realmId;
      if (Array.isArray(request.body))
        return asArray(request.body).map((item) => control.upsertRecord(entity, body(item), realmId));
      return control.upsertRecord(entity, body(request.body), realmId);
    }),
  );
  app.get('/__sim/clock', (_request, reply) => answer(reply, () => ({ now: control.now() })));
  app.post('/__sim/clock', (request, reply) =>
    answer(reply, () => {
      const b = body(request.body);
      if (typeof b.advanceMs === 'number') return { now: control.advanceClock(b.advanceMs) };
      if (typeof b.set === 'string') return { now: control.setClock(b.set) };
      throw new Error('send {"advanceMs": n} or {"set": "<ISO date>"}');
    }),
  );
  app.get('/__sim/faults', (_request, reply) => answer(reply, () => control.listFaults()));
  app.post('/__sim/faults', (request, reply) =>
    answer(reply, () => control.addFault(body(request.body) as unknown as FaultRule)),
  );
  app.delete('/__sim/faults', (_request, reply) => answer(reply, () => control.clearFaults()));
  app.post('/__sim/throttle', (request, reply) =>
    answer(reply, () => {
      const b = body(request.body);
      control.forceThrottle(typeof b.count === 'number' ? b.count : 1, asString(b.realmId));
    }),
  );
  app.post('/__sim/webhooks/pause', (_request, reply) => answer(reply, () => control.pauseWebhooks()));
  app.post('/__sim/webhooks/resume', (_request, reply) => answer(reply, () => control.resumeWebhooks()));
  app.post('/__sim/webhooks/chaos', (request, reply) =>
    answer(reply, () => control.webhookChaos(body(request.body) as Partial<WebhookChaos>)),
  );
  app.post('/__sim/webhooks/flush', (_request, reply) => answer(reply, () => control.flushWebhooks()));
  app.post('/__sim/webhooks/config', (request, reply) =>
    answer(reply, () => control.configureWebhooks(body(request.body))),
  );
  app.get('/__sim/webhooks/deliveries', (_request, reply) =>
    answer(reply, () => control.webhookDeliveries()),
  );
  app.get('/__sim/webhooks/events', (_request, reply) => answer(reply, () => control.webhookEvents()));
  app.post('/__sim/invoices/:id/printed', (request, reply) =>
    answer(reply, () =>
      control.markInvoicePrinted((request.params as { id: string }).id, query(request.query).realmId),
    ),
  );
  app.post('/__sim/transactions/:action', (request, reply) =>
    answer(reply, () => {
      const b = body(request.body);
      const action = (request.params as { action: string }).action;
      if (action !== 'void' && action !== 'delete') throw new Error('action must be void or delete');
      return control.voidOrDelete({
        action,
        entity: String(b.entity),
        id: String(b.id),
        realmId: asString(b.realmId),
      });
    }),
  );
  app.post('/__sim/merge', (request, reply) =>
    answer(reply, () => {
      const b = body(request.body);
      return control.merge({
        entity: b.entity as 'Customer' | 'Item',
        fromId: String(b.fromId),
        toId: String(b.toId),
        realmId: asString(b.realmId),
      });
    }),
  );
  app.post('/__sim/taxcodes', (request, reply) =>
    answer(reply, () =>
      control.upsertTaxCode(body(request.body) as TaxCodeChange, query(request.query).realmId),
    ),
  );
  app.post('/__sim/realms/:realmId/revoke-tokens', (request, reply) =>
    answer(reply, () => ({
      revoked: control.revokeRealmTokens((request.params as { realmId: string }).realmId),
    })),
  );
  app.post('/__sim/tokens', (request, reply) =>
    answer(reply, () => control.issueTokens(asString(body(request.body).realmId))),
  );
  app.post('/__sim/config', (request, reply) =>
    answer(reply, () => control.configure(body(request.body) as RuntimeSwitches)),
  );
  app.get('/__sim/calls', (_request, reply) => answer(reply, () => control.calls()));
  app.get('/__sim/stats', (_request, reply) => answer(reply, () => control.stats()));
  app.get('/__sim/snapshot', (_request, reply) => answer(reply, () => control.snapshot()));
  app.post('/__sim/snapshot', (request, reply) =>
    answer(reply, () => control.loadSnapshot(request.body as SimSnapshot)),
  );
}
