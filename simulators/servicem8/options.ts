/**
 * Simulator options, their defaults, and reading them from environment variables.
 */
import { assertTimeZone } from './clock';

export type ListWithoutCursor = 'all' | 'firstPage';

export interface ServiceM8SimulatorOptions {
  /** 0 = random free port (tests). Standalone default 4010 (SM8_SIM_PORT). */
  port?: number;
  /** Default 127.0.0.1 (SM8_SIM_HOST). */
  host?: string;
  /** Full-access API key for `X-Api-Key`. Default 'smk-sim-0000' (SM8_SIM_API_KEY). */
  apiKey?: string;
  /** Optional second key that may only read ("Read Only" keys exist in ServiceM8). */
  readOnlyApiKey?: string;
  /** OAuth app id. Default 'sm8-sim-client' (SM8_SIM_CLIENT_ID). */
  oauthClientId?: string;
  /** OAuth app secret. Default 'sm8-sim-secret' (SM8_SIM_CLIENT_SECRET). */
  oauthClientSecret?: string;
  /** Access token lifetime. Default 3600 (SM8_SIM_ACCESS_TOKEN_TTL). */
  accessTokenTtlSeconds?: number;
  /** UNCONFIRMED whether ServiceM8 rotates refresh tokens. Default false: the same one is returned. */
  rotateRefreshToken?: boolean;
  /** Default 180 (SM8_SIM_RATE_PER_MINUTE). */
  rateLimitPerMinute?: number;
  /** Default 20000 (SM8_SIM_RATE_PER_DAY). */
  rateLimitPerDay?: number;
  /** UNCONFIRMED whether 429s carry Retry-After. Default false (SM8_SIM_RETRY_AFTER). */
  sendRetryAfter?: boolean;
  /** Default true: challenge the callback before activating a subscription (SM8_SIM_WEBHOOK_CHALLENGE). */
  webhookChallenge?: boolean;
  /** Default 12 h (SM8_SIM_WEBHOOK_DEACTIVATE_AFTER_MS). */
  webhookFailureDeactivateAfterMs?: number;
  /** First retry delay; doubles per attempt. Default 10 s. */
  webhookRetryInitialMs?: number;
  /** Longest retry delay. Default 1 h. */
  webhookRetryMaxMs?: number;
  /** Timeout of one callback request (challenge or notification). Default 10 s. */
  webhookTimeoutMs?: number;
  /** Records per page with `cursor`. Default 5000 (SM8_SIM_PAGE_SIZE). */
  pageSize?: number;
  /** UNCONFIRMED what a list without `cursor` returns. Default 'all' (SM8_SIM_LIST_WITHOUT_CURSOR). */
  listWithoutCursor?: ListWithoutCursor;
  /** Give every write a strictly later edit_date. Default false (SM8_SIM_UNIQUE_EDIT_DATES). */
  uniqueEditDates?: boolean;
  /**
   * UNCONFIRMED whether the API refuses jobmaterials with a negative quantity, price or displayed amount
   * (discounts, credits). Default false: accepted, as the spec sets no minimum (SM8_SIM_REJECT_NEGATIVE_LINES).
   */
  rejectNegativeLines?: boolean;
  /** Account time zone (vendor.timezone_name, edit_date zone). Default 'Australia/Sydney' (SM8_SIM_TIMEZONE). */
  timeZone?: string;
  /**
   * CONFLICT: the current spec types company.is_individual as integer 0/1; the published `servicem8` SDK
   * (generated from an older spec) expects a string and rejects integer responses. Default false (integer,
   * per the current spec); true serves "0"/"1" (SM8_SIM_COMPANY_IS_INDIVIDUAL_STRING).
   */
  companyIsIndividualAsString?: boolean;
  /** Base of webhook `resource_url`s. Default the listening URL (SM8_SIM_PUBLIC_URL). */
  publicUrl?: string;
  /** Injectable clock (default the real clock); moved further with `/__sim/clock`. */
  now?: () => Date;
  /** Randomness for fault and webhook switches (default Math.random); inject for determinism. */
  random?: () => number;
  /** Seed the demo world at start (SM8_SIM_SEED_DEMO). */
  seedDemo?: boolean;
  /**
   * Save the whole world (records, subscriptions, tokens, clock, job numbers) to this JSON file after changes
   * and on stop, and load it at start when it exists (SM8_SIM_STATE_FILE; README, State file).
   */
  stateFile?: string;
  /** Debounce of state-file saves. Default 250 ms. */
  stateSaveDelayMs?: number;
}

/** The options that can be changed while running (`/__sim/settings`). */
export interface SimSettings {
  apiKey: string;
  readOnlyApiKey: string | undefined;
  oauthClientId: string;
  oauthClientSecret: string;
  accessTokenTtlSeconds: number;
  rotateRefreshToken: boolean;
  rateLimitPerMinute: number;
  rateLimitPerDay: number;
  sendRetryAfter: boolean;
  webhookChallenge: boolean;
  webhookFailureDeactivateAfterMs: number;
  webhookRetryInitialMs: number;
  webhookRetryMaxMs: number;
  webhookTimeoutMs: number;
  pageSize: number;
  listWithoutCursor: ListWithoutCursor;
  uniqueEditDates: boolean;
  rejectNegativeLines: boolean;
  timeZone: string;
  companyIsIndividualAsString: boolean;
}

export const DEFAULT_PORT = 4010;
export const DEFAULT_API_KEY = 'smk-sim-0000';
export const DEFAULT_CLIENT_ID = 'sm8-sim-client';
export const DEFAULT_CLIENT_SECRET = 'sm8-sim-secret';
const TWELVE_HOURS_MS = 12 * 60 * 60 * 1000;

export function resolveSettings(options: ServiceM8SimulatorOptions): SimSettings {
  const settings: SimSettings = {
    apiKey: options.apiKey ?? DEFAULT_API_KEY,
    readOnlyApiKey: options.readOnlyApiKey,
    oauthClientId: options.oauthClientId ?? DEFAULT_CLIENT_ID,
    oauthClientSecret: options.oauthClientSecret ?? DEFAULT_CLIENT_SECRET,
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 3600,
    rotateRefreshToken: options.rotateRefreshToken ?? false,
    rateLimitPerMinute: options.rateLimitPerMinute ?? 180,
    rateLimitPerDay: options.rateLimitPerDay ?? 20_000,
    sendRetryAfter: options.sendRetryAfter ?? false,
    webhookChallenge: options.webhookChallenge ?? true,
    webhookFailureDeactivateAfterMs: options.webhookFailureDeactivateAfterMs ?? TWELVE_HOURS_MS,
    webhookRetryInitialMs: options.webhookRetryInitialMs ?? 10_000,
    webhookRetryMaxMs: options.webhookRetryMaxMs ?? 60 * 60 * 1000,
    webhookTimeoutMs: options.webhookTimeoutMs ?? 10_000,
    pageSize: options.pageSize ?? 5000,
    listWithoutCursor: options.listWithoutCursor ?? 'all',
    uniqueEditDates: options.uniqueEditDates ?? false,
    rejectNegativeLines: options.rejectNegativeLines ?? false,
    timeZone: options.timeZone ?? 'Australia/Sydney',
    companyIsIndividualAsString: options.companyIsIndividualAsString ?? false,
  };
  validateSettings(settings);
  return settings;
}

/** Throws a RangeError naming the first bad setting. */
export function validateSettings(settings: SimSettings): void {
  const positive: Array<keyof SimSettings> = [
    'accessTokenTtlSeconds',
    'rateLimitPerMinute',
    'rateLimitPerDay',
    'webhookFailureDeactivateAfterMs',
    'webhookRetryInitialMs',
    'webhookRetryMaxMs',
    'webhookTimeoutMs',
    'pageSize',
  ];
  for (const key of positive) {
    const value = settings[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new RangeError(`${key} must be a positive number, got ${String(value)}`);
    }
  }
  if (settings.apiKey === '') throw new RangeError('apiKey must not be empty');
  if (settings.listWithoutCursor !== 'all' && settings.listWithoutCursor !== 'firstPage') {
    throw new RangeError(
      `listWithoutCursor must be 'all' or 'firstPage', got ${String(settings.listWithoutCursor)}`,
    );
  }
  try {
    assertTimeZone(settings.timeZone);
  } catch {
    throw new RangeError(`timeZone '${settings.timeZone}' is not an IANA time zone name`);
  }
}

type Env = Record<string, string | undefined>;

function envInteger(env: Env, name: string, min: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${name} must be an integer >= ${min}, got '${raw}'`);
  }
  return value;
}

function envBoolean(env: Env, name: string): boolean | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const lower = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(lower)) return true;
  if (['0', 'false', 'no', 'off'].includes(lower)) return false;
  throw new Error(`${name} must be true or false, got '${raw}'`);
}

function envString(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined) return undefined;
  if (raw.trim() === '') throw new Error(`${name} must not be empty`);
  return raw;
}

/** Reads SM8_SIM_* variables; throws an Error naming the variable for a bad value. */
export function serviceM8SimulatorOptionsFromEnv(env: Env = process.env): ServiceM8SimulatorOptions {
  const options: ServiceM8SimulatorOptions = { port: envInteger(env, 'SM8_SIM_PORT', 0) ?? DEFAULT_PORT };
  const set = <K extends keyof ServiceM8SimulatorOptions>(
    key: K,
    value: ServiceM8SimulatorOptions[K] | undefined,
  ) => {
    if (value !== undefined) options[key] = value;
  };
  if (options.port !== undefined && options.port > 65535) {
    throw new Error(`SM8_SIM_PORT must be a port number (0-65535), got '${String(env.SM8_SIM_PORT)}'`);
  }
  set('host', envString(env, 'SM8_SIM_HOST'));
  set('apiKey', envString(env, 'SM8_SIM_API_KEY'));
  set('readOnlyApiKey', envString(env, 'SM8_SIM_READ_ONLY_API_KEY'));
  set('oauthClientId', envString(env, 'SM8_SIM_CLIENT_ID'));
  set('oauthClientSecret', envString(env, 'SM8_SIM_CLIENT_SECRET'));
  set('accessTokenTtlSeconds', envInteger(env, 'SM8_SIM_ACCESS_TOKEN_TTL', 1));
  set('rotateRefreshToken', envBoolean(env, 'SM8_SIM_ROTATE_REFRESH_TOKEN'));
  set('rateLimitPerMinute', envInteger(env, 'SM8_SIM_RATE_PER_MINUTE', 1));
  set('rateLimitPerDay', envInteger(env, 'SM8_SIM_RATE_PER_DAY', 1));
  set('sendRetryAfter', envBoolean(env, 'SM8_SIM_RETRY_AFTER'));
  set('webhookChallenge', envBoolean(env, 'SM8_SIM_WEBHOOK_CHALLENGE'));
  set('webhookFailureDeactivateAfterMs', envInteger(env, 'SM8_SIM_WEBHOOK_DEACTIVATE_AFTER_MS', 1));
  set('pageSize', envInteger(env, 'SM8_SIM_PAGE_SIZE', 1));
  const listMode = envString(env, 'SM8_SIM_LIST_WITHOUT_CURSOR');
  if (listMode !== undefined && listMode !== 'all' && listMode !== 'firstPage') {
    throw new Error(`SM8_SIM_LIST_WITHOUT_CURSOR must be 'all' or 'firstPage', got '${listMode}'`);
  }
  set('listWithoutCursor', listMode);
  set('uniqueEditDates', envBoolean(env, 'SM8_SIM_UNIQUE_EDIT_DATES'));
  set('rejectNegativeLines', envBoolean(env, 'SM8_SIM_REJECT_NEGATIVE_LINES'));
  const timeZone = envString(env, 'SM8_SIM_TIMEZONE');
  if (timeZone !== undefined) {
    try {
      assertTimeZone(timeZone);
    } catch {
      throw new Error(`SM8_SIM_TIMEZONE must be an IANA time zone name, got '${timeZone}'`);
    }
  }
  set('timeZone', timeZone);
  set('companyIsIndividualAsString', envBoolean(env, 'SM8_SIM_COMPANY_IS_INDIVIDUAL_STRING'));
  set('publicUrl', envString(env, 'SM8_SIM_PUBLIC_URL'));
  set('seedDemo', envBoolean(env, 'SM8_SIM_SEED_DEMO'));
  set('stateFile', envString(env, 'SM8_SIM_STATE_FILE'));
  return options;
}
