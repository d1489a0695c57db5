/**
 * ServiceM8 REST API client: one function per endpoint the sync uses, each behind the connection's rate
 * governor, with classified failures (apis/errors.ts). Staff are never synced (STAFF-1): `staff` is not a
 * ServiceM8Object here, and the client refuses it at run time too.
 */
import axios, { isAxiosError, type Method } from 'axios';
import { countedCall } from '../../infra/metrics';
import { classifyApiError, isRateLimited, RATE_LIMIT_RETRIES, retryAfterMs } from '../errors';
import { apiAnswered, sendAgain } from '../transient-retry';
import type { Governor } from '../governor/governor';
import type { Sm8AuthProvider } from './auth';

export type ServiceM8Object =
  | 'job'
  | 'jobmaterial'
  | 'jobpayment'
  | 'company'
  | 'companycontact'
  | 'material'
  | 'taxrate'
  | 'note'
  | 'vendor';

export interface Sm8Condition {
  field: string;
  op: 'eq' | 'ne' | 'gt' | 'lt';
  value: string | number;
}

/**
 * `$filter` as ServiceM8 wants it. The whole query string is percent-encoded by hand: an unencoded
 * `$filter` (which axios' own serializer would send) is silently ignored by ServiceM8, returning every record.
 */
export function encodeFilter(conditions: Sm8Condition[]): string {
  if (conditions.length > 10) throw new Error('ServiceM8 accepts at most 10 filter conditions');
  const expr = conditions
    .map(
      (c) =>
        `${c.field} ${c.op} ${typeof c.value === 'number' ? c.value : `'${c.value.replace(/'/g, "\\'")}'`}`,
    )
    .join(' and ');
  return `${encodeURIComponent('$filter')}=${encodeURIComponent(expr)}`;
}

/** A row of ServiceM8's webhook subscription list (only the fields the sync reads). */
export interface Sm8WebhookSubscription {
  object?: string;
  callback_url?: string;
  unique_id?: string;
  active?: boolean;
}

export interface ServiceM8ClientDeps {
  apiBaseUrl: string;
  auth: Sm8AuthProvider;
  governor: Governor;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** The retry delay of an activity whose call drew 429 several times in a row (documented wait: 60 s). */
  rateLimitWaitMs?: number;
}

export class ServiceM8Client {
  constructor(
    private readonly deps: ServiceM8ClientDeps,
    readonly connectionId: string,
  ) {}

  private async call<T>(
    method: Method,
    path: string,
    opts: { query?: string; data?: unknown; form?: boolean } = {},
  ) {
    if (/\/staff(\/|\.json)/i.test(path))
      throw new Error('STAFF-1: staff are never synced; refusing a staff endpoint');
    let refused: string | null | undefined; // undefined: no 401 yet; else the bearer token that was refused
    let throttled = 0; // 429s answered to this call so far
    let passing = 0; // failures in passing sent again so far (transient-retry.ts)
    for (let attempt = 0; ; attempt += 1) {
      let sent: Record<string, string> | undefined;
      const requestedAt = performance.now();
      try {
        const res = await this.deps.governor.run(
          this.connectionId,
          'sm8',
          async ({ waitedFor }) => {
            // Credentials are read after the permit, right before sending (a wait never ages a token).
            const headers =
              refused === undefined
                ? await this.deps.auth.headers(this.connectionId)
                : await this.deps.auth.refresh(this.connectionId, refused);
            sent = headers;
            return countedCall('servicem8', path, requestedAt, waitedFor, () =>
              axios.request<T>({
                baseURL: this.deps.apiBaseUrl,
                url: opts.query ? `${path}?${opts.query}` : path,
                method,
                data: opts.data,
                headers: {
                  ...headers,
                  Accept: 'application/json',
                  ...(opts.data !== undefined
                    ? { 'Content-Type': opts.form ? 'application/x-www-form-urlencoded' : 'application/json' }
                    : {}),
                },
                timeout: this.deps.timeoutMs ?? 60_000,
                signal: this.deps.signal,
              }),
            );
          },
          { signal: this.deps.signal },
        );
        apiAnswered('sm8');
        return res;
      } catch (err) {
        if (isAxiosError(err) && err.response?.status === 401 && sent && attempt - throttled - passing < 2) {
          refused = sent.Authorization?.replace(/^Bearer /, '') ?? null;
          continue;
        }
        if (isRateLimited(err)) {
          // The governor holds off for the Retry-After, or slows down when our pace explains the 429; then
          // the call is sent again through it, which waits as long as that takes: a 429 costs a wait, not an
          // activity failure (issue 12).
          await this.deps.governor.refused(this.connectionId, 'sm8', retryAfterMs(err));
          throttled += 1;
          if (throttled <= RATE_LIMIT_RETRIES) continue;
        }
        if (await sendAgain('sm8', err, passing, this.deps.signal)) {
          passing += 1;
          continue;
        }
        throw classifyApiError('sm8', err, { rateLimitWaitMs: this.deps.rateLimitWaitMs });
      }
    }
  }

  /** Every record matching the filter, following x-next-cursor pages. Lists include inactive records. */
  async list<T>(object: ServiceM8Object, conditions: Sm8Condition[] = []): Promise<T[]> {
    const out: T[] = [];
    let cursor = '-1';
    for (;;) {
      const parts = [`cursor=${encodeURIComponent(cursor)}`];
      if (conditions.length) parts.push(encodeFilter(conditions));
      const res = await this.call<T[]>('GET', `/api_1.0/${object}.json`, { query: parts.join('&') });
      if (!Array.isArray(res.data)) throw new Error(`ServiceM8 ${object} list did not return an array`);
      out.push(...res.data);
      const next = res.headers['x-next-cursor'] as string | undefined;
      if (!next) return out;
      cursor = next;
    }
  }

  async read<T>(object: ServiceM8Object, uuid: string): Promise<T> {
    const res = await this.call<T>('GET', `/api_1.0/${object}/${encodeURIComponent(uuid)}.json`);
    return res.data;
  }

  /** Create with a client-supplied uuid (generated in the workflow): a retried create hits the same record. */
  async create(object: Exclude<ServiceM8Object, 'vendor'>, uuid: string, body: object): Promise<string> {
    const res = await this.call<unknown>('POST', `/api_1.0/${object}.json`, { data: { ...body, uuid } });
    return (res.headers['x-record-uuid'] as string | undefined) ?? uuid;
  }

  async update(object: Exclude<ServiceM8Object, 'vendor'>, uuid: string, fields: object): Promise<void> {
    await this.call('POST', `/api_1.0/${object}/${encodeURIComponent(uuid)}.json`, { data: fields });
  }

  /** Soft delete (active = 0). */
  async remove(object: Exclude<ServiceM8Object, 'vendor'>, uuid: string): Promise<void> {
    await this.call('DELETE', `/api_1.0/${object}/${encodeURIComponent(uuid)}.json`);
  }

  async subscribeWebhook(
    object: ServiceM8Object,
    fields: string[],
    callbackUrl: string,
    uniqueId: string,
  ): Promise<void> {
    const form = new URLSearchParams({
      object,
      fields: fields.join(','),
      callback_url: callbackUrl,
      unique_id: uniqueId,
    });
    await this.call('POST', '/webhook_subscriptions', { data: form.toString(), form: true });
  }

  /** Every webhook subscription of the account, active or not (ServiceM8 answers an array or `{data}`). */
  async listWebhookSubscriptions(): Promise<Sm8WebhookSubscription[]> {
    const res = await this.call<unknown>('GET', '/webhook_subscriptions', { query: 'status=all' });
    const data = res.data as { data?: unknown } | unknown[] | null;
    const rows = Array.isArray(data) ? data : Array.isArray(data?.data) ? data.data : [];
    return rows as Sm8WebhookSubscription[];
  }

  /** Removes the subscription of one object to one callback URL (the parameters of its creation). */
  async unsubscribeWebhook(object: string, callbackUrl: string, uniqueId: string): Promise<void> {
    const query = new URLSearchParams({ object, callback_url: callbackUrl, unique_id: uniqueId });
    await this.call('DELETE', '/webhook_subscriptions', { query: query.toString() });
  }
}
