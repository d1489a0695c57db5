/**
 * HTTP failures of both APIs sorted once into Temporal failures (design principle 6, docs/design.md):
 *  transient (5xx, timeouts, network)  -> sent again twice by the client (transient-retry.ts), then
 *                                         retryable with Temporal's backoff
 *  429                                 -> retryable after the API's documented wait (nextRetryDelay)
 *  QBO 5010 stale SyncToken            -> retryable: the activity re-reads and tries again
 *  validation (QBO 6240, 6140, 610, 2020, 6070, 2500…, SM8 400) -> non-retryable, with the API's own
 *                                         code and message so INV-3 can show it to a bookkeeper
 *  lost authorisation                  -> non-retryable ConnectionNeedsReauth: the workflow waits (CON-3)
 * 401 is not classified here: the clients refresh the token and retry once first.
 */
import { ApplicationFailure } from '@temporalio/common';
import { isAxiosError, type AxiosError } from 'axios';
import { applicationFailureOf, FailureType } from '../domain/failures';
import { ConnectionNotActive, RateGovernorTimeout } from './governor/rate-governor';

export type ApiName = 'qbo' | 'sm8';

export { FailureType };

export interface ApiErrorDetails {
  api: ApiName;
  status: number | null;
  /** The API's own code: QBO Fault code ("6240") or SM8 errorCode. */
  code: string | null;
  message: string;
  detail: string | null;
  element: string | null;
  method: string | null;
  path: string | null;
}

/** The API's own details of a validation failure (ApiValidation), or undefined for any other error. */
export function validationDetails(err: unknown): ApiErrorDetails | undefined {
  const failure = applicationFailureOf(err);
  if (failure?.type !== FailureType.validation) return undefined;
  return failure.details?.[0] as ApiErrorDetails | undefined;
}

/** The message of a validation failure (the API's refusal in its own words), or null for any other error. */
export function validationMessage(err: unknown): string | null {
  const failure = applicationFailureOf(err);
  return failure?.type === FailureType.validation ? failure.message : null;
}

/**
 * The record is not there: a 404 (ApiNotFound), or QuickBooks' 610 "Object Not Found", which QuickBooks
 * answers (as a validation fault) when a read or write names a deleted or made-inactive object. Both mean
 * the same to every caller: the record is gone, so there is nothing to read, send to or remove.
 */
export function isNotFound(err: unknown): boolean {
  if (applicationFailureOf(err)?.type === FailureType.notFound) return true;
  return validationDetails(err)?.code === '610';
}

/**
 * QBO asks callers to wait 60 s after a 429 (limits page); SM8 counts per minute. Used only as the retry
 * delay of an activity whose call was refused with 429 several times in a row: the governor slows the
 * connection down (or holds it for the Retry-After) and the client sends again first (the two clients in apis/).
 */
export const RATE_LIMIT_WAIT_MS: Record<ApiName, number> = { qbo: 60_000, sm8: 60_000 };

/** How often a client sends a call again after a 429, through the governor, before its activity fails. */
export const RATE_LIMIT_RETRIES = 3;

/**
 * The wait a 429 asks for in its `Retry-After` header (delay-seconds or an HTTP date), in ms; null when
 * there is none or it is unreadable. Neither API documents one (docs/servicem8-api.md §2,
 * docs/quickbooks-api.md §3); when one comes, it is honoured exactly.
 */
export function retryAfterMs(err: unknown, now: number = Date.now()): number | null {
  if (!isAxiosError(err) || !err.response) return null;
  const headers = err.response.headers as Record<string, unknown> | undefined;
  const raw = headers?.['retry-after'] ?? headers?.['Retry-After'];
  if (typeof raw !== 'string' && typeof raw !== 'number') return null;
  const text = String(raw).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * A failure that says nothing about the request: a 5xx, a 408, or no answer at all (classifyApiError's
 * transient cases; the clients send such a call again first, apis/transient-retry.ts).
 */
export function isTransientApiError(err: unknown): boolean {
  if (!isAxiosError(err)) return false;
  const status = err.response?.status;
  return status === undefined || status >= 500 || status === 408;
}

/** A 429 (or QuickBooks' 3001 throttle fault). */
export function isRateLimited(err: unknown): boolean {
  if (!isAxiosError(err) || !err.response) return false;
  return err.response.status === 429;
}

interface QboFaultError {
  Message?: string;
  Detail?: string;
  code?: string;
  element?: string;
  message?: string;
  detail?: string;
}

function qboFault(data: unknown): QboFaultError | undefined {
  if (typeof data === 'string') {
    // Throttle faults have come back as XML even with Accept: application/json.
    const code = /code="(\d+)"/.exec(data)?.[1];
    const message = /<Message>([^<]*)<\/Message>/.exec(data)?.[1];
    const detail = /<Detail>([^<]*)<\/Detail>/.exec(data)?.[1];
    return code ? { code, Message: message, Detail: detail } : undefined;
  }
  if (!data || typeof data !== 'object') return undefined;
  const body = data as {
    Fault?: { Error?: QboFaultError[] };
    fault?: { error?: QboFaultError[] };
  };
  return body.Fault?.Error?.[0] ?? body.fault?.error?.[0];
}

export function describeApiError(api: ApiName, err: AxiosError): ApiErrorDetails {
  const status = err.response?.status ?? null;
  const data: unknown = err.response?.data;
  let code: string | null = null;
  let message = err.message;
  let detail: string | null = null;
  let element: string | null = null;
  if (api === 'qbo') {
    const fault = qboFault(data);
    if (fault) {
      code = fault.code ?? null;
      message = fault.Message ?? fault.message ?? message;
      detail = fault.Detail ?? fault.detail ?? null;
      element = fault.element ?? null;
    }
  } else if (data && typeof data === 'object') {
    const body = data as { errorCode?: string | number; message?: string };
    code = body.errorCode !== undefined ? String(body.errorCode) : null;
    message = body.message ?? message;
  } else if (typeof data === 'string' && data.trim()) {
    message = data.trim().slice(0, 500);
  }
  return {
    api,
    status,
    code,
    message,
    detail,
    element,
    method: err.config?.method?.toUpperCase() ?? null,
    path: err.config?.url ?? null,
  };
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Turns any failure of an API call into the ApplicationFailure the retry policy understands. */
export function classifyApiError(
  api: ApiName,
  err: unknown,
  opts: { rateLimitWaitMs?: number } = {},
): ApplicationFailure {
  const rateLimitWaitMs = opts.rateLimitWaitMs ?? RATE_LIMIT_WAIT_MS[api];
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof ConnectionNotActive) {
    // Refused before a permit was taken (issue 12, parking): the same failure the credentials check gives.
    return err.status === 'paused'
      ? connectionPaused(err.connectionId)
      : connectionNeedsReauth(err.connectionId, `the connection is ${err.status}`);
  }
  if (err instanceof RateGovernorTimeout) {
    // Our own budget is spent for a while (e.g. ServiceM8's daily limit): come back when it frees.
    return ApplicationFailure.create({
      type: FailureType.rateLimited,
      message: err.message,
      nextRetryDelay: Math.max(100, Math.ceil(err.retryAfterMs ?? rateLimitWaitMs)),
    });
  }
  if (!isAxiosError(err)) {
    return ApplicationFailure.create({
      type: FailureType.transient,
      message: `${api.toUpperCase()} call failed: ${err instanceof Error ? err.message : String(err)}`,
    });
  }
  const d = describeApiError(api, err);
  const where = `${d.method ?? ''} ${d.path ?? ''}`.trim();
  const text = `${api.toUpperCase()} ${where}: ${d.status ?? err.code ?? 'network'} ${d.code ? `[${d.code}] ` : ''}${d.message}${d.detail ? ` (${d.detail})` : ''}`;

  if (d.status === null || (err.code && NETWORK_CODES.has(err.code))) {
    return ApplicationFailure.create({ type: FailureType.transient, message: text, details: [d] });
  }
  if (d.status === 429 || d.code === '3001') {
    return ApplicationFailure.create({
      type: FailureType.rateLimited,
      message: text,
      details: [d],
      nextRetryDelay: retryAfterMs(err) ?? rateLimitWaitMs,
    });
  }
  if (d.status >= 500 || d.status === 408) {
    return ApplicationFailure.create({ type: FailureType.transient, message: text, details: [d] });
  }
  if (api === 'qbo' && d.code === '5010') {
    return ApplicationFailure.create({ type: FailureType.staleObject, message: text, details: [d] });
  }
  if (d.status === 401) {
    // Still unauthorised after a fresh token: the grant itself is gone.
    return ApplicationFailure.create({
      type: FailureType.needsReauth,
      message: text,
      details: [d],
      nonRetryable: true,
    });
  }
  if (d.status === 403) {
    return ApplicationFailure.create({
      type: FailureType.forbidden,
      message: text,
      details: [d],
      nonRetryable: true,
    });
  }
  if (d.status === 404) {
    return ApplicationFailure.create({
      type: FailureType.notFound,
      message: text,
      details: [d],
      nonRetryable: true,
    });
  }
  return ApplicationFailure.create({
    type: FailureType.validation,
    message: text,
    details: [d],
    nonRetryable: true,
  });
}

export function connectionNeedsReauth(connectionId: string, why: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.needsReauth,
    message: `Connection "${connectionId}" needs re-authorisation: ${why}`,
    details: [{ connectionId }],
    nonRetryable: true,
  });
}

export function connectionPaused(connectionId: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.paused,
    message: `Connection "${connectionId}" is paused`,
    details: [{ connectionId }],
    nonRetryable: true,
  });
}
