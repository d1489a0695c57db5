/** Options, their defaults, and how they are read from environment variables. */

export type WebhookFormat = 'cloudevents' | 'legacy';
export type RefreshTokenRotation = 'every-refresh' | 'daily';
export type RequestIdMode = 'replay' | 'fault600';
/**
 * Which webhook operation a name-list "delete" (Active=false) emits: UNCONFIRMED in docs/quickbooks-api.md
 * §4.3.
 */
export type DeactivateOperation = 'Delete' | 'Update';

export interface ThrottleOptions {
  perMinute?: number;
  perSecond?: number;
  concurrent?: number;
  batchPerMinute?: number;
  /** Answer 429 with the historical XML body instead of JSON. */
  xmlBody?: boolean;
}

export interface QuickBooksSimulatorOptions {
  /** 0 = random port. The standalone entry point defaults to 4020 (env QBO_SIM_PORT). */
  port?: number;
  host?: string;
  clientId?: string;
  clientSecret?: string;
  realmId?: string;
  webhookVerifier?: string;
  /** Where webhooks are POSTed; none = webhooks are recorded as pending but never sent. */
  webhookUrl?: string;
  webhookFormat?: WebhookFormat;
  accessTokenTtlSeconds?: number;
  refreshTokenRotation?: RefreshTokenRotation;
  /** How long a superseded refresh token keeps working (UNCONFIRMED in the real API). */
  refreshTokenGraceSeconds?: number;
  requestIdMode?: RequestIdMode;
  throttle?: ThrottleOptions;
  /** Base clock; the control API can still shift it. */
  now?: () => Date;
  seedDemo?: boolean;
  /** Events raised within this window go out in one POST (the real service batches too). */
  webhookBatchWindowMs?: number;
  /** Multiplies the documented retry schedule (0 s, 10 s, 20 s, 30 s, 5 m, …): 0.001 turns minutes into ms. */
  webhookRetryScale?: number;
  /** A delivery not answered within this time counts as failed (Intuit: 3 s). */
  webhookTimeoutMs?: number;
  /** Maximum events in one POST. */
  webhookMaxBatch?: number;
  deactivateOperation?: DeactivateOperation;
  /**
   * GlobalTaxCalculation TaxInclusive: false (default) = a sales line's Amount is the NET amount and
   * SalesItemLineDetail.TaxInclusiveAmt the gross, as public evidence says the real API does; true = the
   * simulator's old reading, Amount is the gross (TaxInclusiveAmt ignored). See README, Tax maths.
   */
  taxInclusiveAmountIsGross?: boolean;
  /** Longest TelephoneNumber.FreeFormNumber accepted (Intuit XSD: 21); longer → 2050. 0 = no limit. */
  phoneMaxLength?: number;
  /** `{"Address": ""}` clears an email address (UNCONFIRMED; false = refused with 2210). Default true. */
  emptyEmailClears?: boolean;
  /**
   * Turn multicurrency on for the default company at start (with `seedDemo`, foreign-currency customers are
   * added too); `exchangeRates` are home units per foreign unit. Default off: one currency, AUD.
   */
  multiCurrency?: boolean | { exchangeRates?: Record<string, number> };
  /** In a multicurrency company a transaction without CurrencyRef is refused (2020); default false: the customer's currency (UNCONFIRMED). */
  currencyRefRequired?: boolean;
  /** Most values a query's IN (…) may hold (4001 beyond); 0 = no limit, the default (QBO publishes none). */
  queryMaxInValues?: number;
  /** Sales lines with a negative Amount are accepted (default true; the total may still not go below 0). */
  allowNegativeLines?: boolean;
  /** `POST /payment?operation=void` voids the payment (UNCONFIRMED; default false: Fault 500 like other unsupported operations). */
  paymentOperationVoid?: boolean;
  /**
   * A void writes "Voided" into the memo (PrivateNote), as Intuit's invoice page says (default true). false:
   * the memo is left as it was, for tests that prove a sync knows a void without that word (its wording in
   * non-English companies and its separator are UNCONFIRMED).
   */
  voidNoteMarked?: boolean;
  /**
   * Save the whole world (companies, tokens, clock, id counters) to this JSON file after changes and on stop,
   * and load it at start when it exists (README, State file). Unset: nothing is saved.
   */
  stateFile?: string;
  /** Debounce of state-file saves. Default 250 ms. */
  stateSaveDelayMs?: number;
  /** Fastify request logging. */
  logger?: boolean;
}

export interface ResolvedOptions {
  port: number;
  host: string;
  clientId: string;
  clientSecret: string;
  realmId: string;
  webhookVerifier: string;
  webhookUrl: string | undefined;
  webhookFormat: WebhookFormat;
  accessTokenTtlSeconds: number;
  refreshTokenRotation: RefreshTokenRotation;
  refreshTokenGraceSeconds: number;
  requestIdMode: RequestIdMode;
  throttle: Required<ThrottleOptions>;
  seedDemo: boolean;
  webhookBatchWindowMs: number;
  webhookRetryScale: number;
  webhookTimeoutMs: number;
  webhookMaxBatch: number;
  deactivateOperation: DeactivateOperation;
  taxInclusiveAmountIsGross: boolean;
  phoneMaxLength: number;
  emptyEmailClears: boolean;
  paymentOperationVoid: boolean;
  voidNoteMarked: boolean;
  allowNegativeLines: boolean;
  currencyRefRequired: boolean;
  queryMaxInValues: number;
  logger: boolean;
}

export const DEFAULTS: ResolvedOptions = {
  port: 0,
  host: '127.0.0.1',
  clientId: 'qbo-sim-client-id',
  clientSecret: 'qbo-sim-client-secret',
  realmId: '9341453050560000',
  webhookVerifier: 'qbo-sim-webhook-verifier',
  webhookUrl: undefined,
  webhookFormat: 'cloudevents',
  accessTokenTtlSeconds: 3600,
  refreshTokenRotation: 'daily',
  refreshTokenGraceSeconds: 0,
  requestIdMode: 'replay',
  throttle: { perMinute: 500, perSecond: 10, concurrent: 10, batchPerMinute: 40, xmlBody: false },
  seedDemo: false,
  webhookBatchWindowMs: 50,
  webhookRetryScale: 1,
  webhookTimeoutMs: 3000,
  webhookMaxBatch: 100,
  deactivateOperation: 'Delete',
  taxInclusiveAmountIsGross: false,
  phoneMaxLength: 21,
  emptyEmailClears: true,
  paymentOperationVoid: false,
  voidNoteMarked: true,
  allowNegativeLines: true,
  currencyRefRequired: false,
  queryMaxInValues: 0,
  logger: false,
};

export const STANDALONE_PORT = 4020;

export function resolveOptions(options: QuickBooksSimulatorOptions = {}): ResolvedOptions {
  const pick = <K extends keyof ResolvedOptions>(key: K): ResolvedOptions[K] =>
    ((options as Partial<ResolvedOptions>)[key] ?? DEFAULTS[key]) as ResolvedOptions[K];
  return {
    port: pick('port'),
    host: pick('host'),
    clientId: pick('clientId'),
    clientSecret: pick('clientSecret'),
    realmId: pick('realmId'),
    webhookVerifier: pick('webhookVerifier'),
    webhookUrl: options.webhookUrl,
    webhookFormat: pick('webhookFormat'),
    accessTokenTtlSeconds: pick('accessTokenTtlSeconds'),
    refreshTokenRotation: pick('refreshTokenRotation'),
    refreshTokenGraceSeconds: pick('refreshTokenGraceSeconds'),
    requestIdMode: pick('requestIdMode'),
    throttle: { ...DEFAULTS.throttle, ...stripUndefined(options.throttle ?? {}) },
    seedDemo: pick('seedDemo'),
    webhookBatchWindowMs: pick('webhookBatchWindowMs'),
    webhookRetryScale: pick('webhookRetryScale'),
    webhookTimeoutMs: pick('webhookTimeoutMs'),
    webhookMaxBatch: pick('webhookMaxBatch'),
    deactivateOperation: pick('deactivateOperation'),
    taxInclusiveAmountIsGross: pick('taxInclusiveAmountIsGross'),
    phoneMaxLength: pick('phoneMaxLength'),
    emptyEmailClears: pick('emptyEmailClears'),
    paymentOperationVoid: pick('paymentOperationVoid'),
    voidNoteMarked: pick('voidNoteMarked'),
    allowNegativeLines: pick('allowNegativeLines'),
    currencyRefRequired: pick('currencyRefRequired'),
    queryMaxInValues: pick('queryMaxInValues'),
    logger: pick('logger'),
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

type Env = Record<string, string | undefined>;

function readInt(env: Env, name: string, min: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min) {
    throw new Error(`${name} must be an integer >= ${min}, got "${raw}"`);
  }
  return Number(raw);
}

function readNumber(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`${name} must be a non-negative number, got "${raw}"`);
  return value;
}

function readEnum<T extends string>(env: Env, name: string, allowed: readonly T[]): T | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new Error(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function readBool(env: Env, name: string): boolean | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (['1', 'true', 'yes'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no'].includes(raw.toLowerCase())) return false;
  throw new Error(`${name} must be true or false, got "${raw}"`);
}

function readString(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

function readUrl(env: Env, name: string): string | undefined {
  const raw = readString(env, name);
  if (raw === undefined) return undefined;
  try {
    new URL(raw);
  } catch {
    throw new Error(`${name} must be an absolute URL, got "${raw}"`);
  }
  return raw;
}

/** Options for the standalone simulator; throws an Error naming the variable for any bad value. */
export function quickBooksSimulatorOptionsFromEnv(env: Env = process.env): QuickBooksSimulatorOptions {
  const options: QuickBooksSimulatorOptions = {
    port: readInt(env, 'QBO_SIM_PORT', 0) ?? STANDALONE_PORT,
    host: readString(env, 'QBO_SIM_HOST'),
    clientId: readString(env, 'QBO_SIM_CLIENT_ID'),
    clientSecret: readString(env, 'QBO_SIM_CLIENT_SECRET'),
    realmId: readString(env, 'QBO_SIM_REALM_ID'),
    webhookVerifier: readString(env, 'QBO_SIM_WEBHOOK_VERIFIER'),
    webhookUrl: readUrl(env, 'QBO_SIM_WEBHOOK_URL'),
    webhookFormat: readEnum(env, 'QBO_SIM_WEBHOOK_FORMAT', ['cloudevents', 'legacy'] as const),
    accessTokenTtlSeconds: readInt(env, 'QBO_SIM_ACCESS_TOKEN_TTL', 1),
    refreshTokenRotation: readEnum(env, 'QBO_SIM_REFRESH_ROTATION', ['every-refresh', 'daily'] as const),
    refreshTokenGraceSeconds: readInt(env, 'QBO_SIM_REFRESH_GRACE', 0),
    requestIdMode: readEnum(env, 'QBO_SIM_REQUESTID_MODE', ['replay', 'fault600'] as const),
    throttle: {
      perMinute: readInt(env, 'QBO_SIM_THROTTLE_PER_MINUTE', 1),
      perSecond: readInt(env, 'QBO_SIM_THROTTLE_PER_SECOND', 1),
      concurrent: readInt(env, 'QBO_SIM_THROTTLE_CONCURRENT', 1),
      batchPerMinute: readInt(env, 'QBO_SIM_THROTTLE_BATCH_PER_MINUTE', 1),
      xmlBody: readBool(env, 'QBO_SIM_THROTTLE_XML'),
    },
    seedDemo: readBool(env, 'QBO_SIM_SEED_DEMO'),
    webhookBatchWindowMs: readInt(env, 'QBO_SIM_WEBHOOK_BATCH_MS', 0),
    webhookRetryScale: readNumber(env, 'QBO_SIM_WEBHOOK_RETRY_SCALE'),
    webhookTimeoutMs: readInt(env, 'QBO_SIM_WEBHOOK_TIMEOUT_MS', 1),
    deactivateOperation: readEnum(env, 'QBO_SIM_DEACTIVATE_EVENT', ['Delete', 'Update'] as const),
    taxInclusiveAmountIsGross: readBool(env, 'QBO_SIM_TAX_INCLUSIVE_AMOUNT_IS_GROSS'),
    phoneMaxLength: readInt(env, 'QBO_SIM_PHONE_MAX_LENGTH', 0),
    emptyEmailClears: readBool(env, 'QBO_SIM_EMPTY_EMAIL_CLEARS'),
    paymentOperationVoid: readBool(env, 'QBO_SIM_PAYMENT_OPERATION_VOID'),
    voidNoteMarked: readBool(env, 'QBO_SIM_VOID_NOTE_MARKED'),
    allowNegativeLines: readBool(env, 'QBO_SIM_ALLOW_NEGATIVE_LINES'),
    currencyRefRequired: readBool(env, 'QBO_SIM_CURRENCY_REF_REQUIRED'),
    queryMaxInValues: readInt(env, 'QBO_SIM_QUERY_MAX_IN_VALUES', 0),
    multiCurrency: readBool(env, 'QBO_SIM_MULTI_CURRENCY'),
    stateFile: readString(env, 'QBO_SIM_STATE_FILE'),
    logger: readBool(env, 'QBO_SIM_LOG'),
  };
  return stripUndefined(options) as QuickBooksSimulatorOptions;
}
